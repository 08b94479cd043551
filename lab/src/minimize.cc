// Minimization (minimize.h, minimizer.h): Minimize() — the original failure
// found and confirmed, the candidates tried in order, the run that reproduces
// the result, and the result written.
#include "ordo/lab/minimize.h"

#include <fmt/core.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "minimizer.h"
#include "ordo/plugin/plugin.h"
#include "ordo/replay/replayer.h"
#include "ordo/util/atomic_output.h"

namespace ordo::lab {

namespace {

namespace fs = std::filesystem;
using Clock = MinimizeClock;

// The engine as --engine names it.
std::string EngineName(const MinimizeOptions& o) {
  if (o.engine_path.empty()) return std::string(engine::EngineModeName(o.mode));
  return plugin::EngineSpecString({o.engine_path, o.engine_config});
}

// The directory of the candidates' replay target, removed with
// this object (and on SIGINT/SIGTERM). Thousands of short replays: on tmpfs
// when there is one, so their engine set-up and fsyncs cost memory copies,
// not disk flushes.
class WorkDir {
 public:
  Status Create() {
    std::string tmpl = fs::is_directory("/dev/shm") ? "/dev/shm/ordo-minimize-XXXXXX"
                                                    : "/tmp/ordo-minimize-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr)
      return Status::IoError("minimize: cannot create a work directory");
    dir_ = tmpl;
    RegisterTemporaryDir(dir_);
    return Status::Ok();
  }
  ~WorkDir() {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
    UnregisterTemporaryDir(dir_);
  }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

// Targeted confirmation when the failure names its rule and block and a
// targeted run forcing that ordering reproduces it on the whole trace: then
// `failing` becomes that run, and verdicts are by confirmation.
Status Confirm(Minimizer& m, const MinimizeOptions& o, const std::vector<size_t>& all,
               replay::RunOutcome* failing) {
  if (!m.SetFocus(*failing, all)) return Status::Ok();
  for (uint32_t offset : m.FileIdOffsets()) {
    m.SetFileIdOffset(offset);
    replay::RunOutcome confirmed;
    auto c =
        m.FailsUnder(all, sched::Strategy::kTargeted, o.seed, o.targeted_runs, o.depth, &confirmed);
    if (!c.ok()) return c.status();
    if (c.value()) {
      *failing = confirmed;
      m.Progress(fmt::format("verdicts by targeted confirmation ({} targeted + {} pos runs each)",
                             o.targeted_runs, o.pos_runs));
      return Status::Ok();
    }
  }
  m.ClearFocus();
  return Status::Ok();
}

// The candidates in order: cut to the failure, near its block, then whole
// threads, then single operations. Returns the operations kept.
Result<std::vector<size_t>> Reduce(Minimizer& m, const LoadedTrace& l,
                                   const std::vector<size_t>& all,
                                   const replay::RunOutcome& failing) {
  auto cut = m.CutToFailure(all, failing);
  if (!cut.ok()) return cut.status();
  auto near = m.NearTheBlock(cut.value(), all, failing);
  if (!near.ok()) return near.status();
  std::map<uint64_t, std::vector<size_t>> by_thread;
  for (size_t i : near.value()) by_thread[ThreadKey(l.ops[i])].push_back(i);
  std::vector<std::vector<size_t>> units;
  for (auto& [k, v] : by_thread) units.push_back(v);
  auto threads = m.Ddmin(units, "threads");
  if (!threads.ok()) return threads.status();
  std::vector<std::vector<size_t>> ops;
  for (size_t i : Flatten(threads.value())) ops.push_back({i});
  auto kept = m.Ddmin(ops, "operations");
  if (!kept.ok()) return kept.status();
  return Flatten(kept.value());
}

// The run the reproduce command makes: under confirmation, the first seed
// whose targeted run (then POS run) reproduces `final_ops` alone; else the
// smallest depth, then the first seed, that reproduce it in one run. Left at
// the options' seed and depth when none does.
Status ChooseRun(Minimizer& m, const MinimizeOptions& o, const std::vector<size_t>& final_ops,
                 MinimizeResult* res) {
  res->depth = o.depth;
  res->seed = o.seed;
  res->strategy = m.strategy();
  if (m.confirming()) {
    for (sched::Strategy s : {sched::Strategy::kTargeted, sched::Strategy::kPos}) {
      replay::RunOutcome run;
      auto f = m.FailsUnder(final_ops, s, o.seed, o.runs_per_test, o.depth, &run);
      if (!f.ok()) return f.status();
      if (f.value()) {
        res->seed = run.seed;
        res->strategy = s;
        if (s == sched::Strategy::kTargeted) res->focus = m.FocusFor(final_ops);
        return Status::Ok();
      }
    }
  }
  for (int depth = 1; depth <= o.depth; ++depth) {
    replay::RunOutcome run;
    auto f = m.FailsUnder(final_ops, m.strategy(), o.seed, o.runs_per_test, depth, &run);
    if (!f.ok()) return f.status();
    if (f.value()) {
      res->depth = depth;
      res->seed = run.seed;
      return Status::Ok();
    }
    if (m.strategy() != sched::Strategy::kPct) break;
  }
  return Status::Ok();
}

}  // namespace

Result<MinimizeResult> Minimize(const std::string& trace_path, const std::string& out_path,
                                const MinimizeOptions& o) {
  ORDO_RETURN_IF_ERROR(CheckOutput(out_path, {trace_path}));
  auto loaded = LoadOperations(trace_path);
  if (!loaded.ok()) return loaded.status();
  const LoadedTrace& l = loaded.value();
  WorkDir work;
  ORDO_RETURN_IF_ERROR(work.Create());

  Minimizer m(l, o, work.path());
  const bool targeted = o.strategy == sched::Strategy::kTargeted;
  m.SetStrategy(targeted ? sched::Strategy::kPos : o.strategy);
  if (o.rule) m.SetKind(*o.rule);
  std::vector<size_t> all(l.ops.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  replay::RunOutcome failing;
  auto first = m.Fails(all, o.seed, o.runs_per_test, o.depth, &failing);
  if (!first.ok()) return first.status();
  if (!first.value()) {
    return Status::InvalidArgument(fmt::format(
        "{}: FPRE004 does not reproduce in seeds {}..{} ({} engine, {}); nothing to minimize",
        trace_path, o.seed, o.seed + o.runs_per_test - 1, EngineName(o),
        sched::StrategyName(m.strategy())));
  }
  if (o.confirm || targeted) ORDO_RETURN_IF_ERROR(Confirm(m, o, all, &failing));
  if (targeted && !m.confirming()) {
    return Status::InvalidArgument(
        fmt::format("{}: the failure ({}) is not confirmed by a targeted run on its block",
                    trace_path, failing.message));
  }
  auto t0 = Clock::now();
  auto reduced = Reduce(m, l, all, failing);
  if (!reduced.ok()) return reduced.status();
  const std::vector<size_t>& final_ops = reduced.value();

  MinimizeResult res;
  ORDO_RETURN_IF_ERROR(ChooseRun(m, o, final_ops, &res));
  std::set<uint64_t> thread_set;
  for (size_t i : final_ops) thread_set.insert(ThreadKey(l.ops[i]));
  res.original_ops = l.ops.size();
  res.minimized_ops = final_ops.size();
  res.threads = static_cast<uint32_t>(thread_set.size());
  res.runs = m.runs();
  res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  replay::RunSpec spec;  // one run, in a target of the user's choice (DIR)
  spec.trace = out_path;
  spec.target = "DIR";
  spec.engine = EngineName(o);
  spec.strategy = res.strategy;
  spec.seed = res.seed;
  spec.depth = res.depth;
  if (res.focus) spec.focus = {*res.focus};
  res.reproduce = spec.ToCommand();
  ORDO_RETURN_IF_ERROR(
      m.Write(final_ops, out_path,
              fmt::format("minimized from {} ({} of {} operations); reproduce: {}", trace_path,
                          res.minimized_ops, res.original_ops, res.reproduce)));
  return res;
}

}  // namespace ordo::lab
