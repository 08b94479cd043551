#include "ordo/lab/minimize.h"

#include <fmt/core.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "ordo/plugin/plugin.h"
#include "ordo/replay/replayer.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/writer.h"
#include "ordo/util/atomic_output.h"

namespace ordo::lab {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The trace held as a list: minimization needs random subsets of it. Traces
// worth minimizing are failing reproductions, not day-long captures.
constexpr size_t kMaxOps = 1 << 20;

struct Loaded {
  trace::TraceHeader header;
  std::vector<trace::Record> tables;  // file and thread records, always kept
  std::vector<trace::Record> ops;     // the operations replay executes
};

uint64_t ThreadKey(const trace::Record& r) { return (uint64_t{r.io.pid} << 32) | r.io.tid; }

Result<Loaded> Load(const std::string& path) {
  auto r = trace::TraceReader::Open(path);
  if (!r.ok()) return r.status();
  Loaded l;
  l.header = (*r)->header();
  trace::Record rec;
  // Only what replay executes: a capture's syscalls beneath the engine's API
  // requests are dropped with the rest of its unreplayable records.
  std::vector<trace::Record> syscalls;
  bool api_level = false;
  while ((*r)->Next(&rec)) {
    if (rec.kind == trace::RecordKind::kFile || rec.kind == trace::RecordKind::kThread) {
      l.tables.push_back(rec);
    } else if (rec.kind == trace::RecordKind::kIo) {
      if (replay::Replayable(rec.io.op, true)) {
        if (!api_level) syscalls.clear();
        api_level = true;
        l.ops.push_back(rec);
      } else if (!api_level && replay::Replayable(rec.io.op, false)) {
        syscalls.push_back(rec);
      }
      if (l.ops.size() + syscalls.size() > kMaxOps) {
        return Status::InvalidArgument(path + ": too many operations to minimize (over 1 M)");
      }
    }
  }
  if (!(*r)->status().ok()) return (*r)->status();
  if (!api_level) l.ops = std::move(syscalls);
  return l;
}

class Minimizer {
 public:
  Minimizer(const Loaded& l, const MinimizeOptions& o, std::string work)
      : l_(l), o_(o), work_(std::move(work)), start_(Clock::now()) {}

  bool OutOfBudget() const {
    return runs_ >= o_.max_runs ||
           std::chrono::duration<double>(Clock::now() - start_).count() >= o_.max_seconds;
  }

  Status Write(const std::vector<size_t>& keep, const std::string& path,
               const std::string& source) {
    trace::TraceHeader h = l_.header;
    h.kind = "minimized";
    h.source = source;
    auto w = trace::TraceWriter::Create(path, h);
    if (!w.ok()) return w.status();
    for (const auto& t : l_.tables) ORDO_RETURN_IF_ERROR((*w)->Add(t));
    for (size_t i : keep) ORDO_RETURN_IF_ERROR((*w)->Add(l_.ops[i]));
    return (*w)->Close();
  }

  // Does this subset reproduce the original failure (the same kind of
  // read-verify failure, see FailureKind)? Under targeted confirmation (see
  // EnableConfirmation): within targeted_runs targeted runs forcing the
  // failure's ordering on its block, then pos_runs POS runs, from `seed`;
  // otherwise within the seeds [seed, seed + runs) of the strategy. The
  // failing run is stored in `failing` when it does. The first call sets the
  // kind.
  Result<bool> Fails(const std::vector<size_t>& keep, uint64_t seed, int runs, int depth,
                     replay::RunOutcome* failing) {
    if (keep.empty()) return false;
    std::string path = work_ + "/candidate.ordo";
    ORDO_RETURN_IF_ERROR(Write(keep, path, "minimize candidate"));
    replay::ReplayOptions ro = Options(depth);
    if (focus_) {
      ro.strategy = sched::Strategy::kTargeted;
      ro.focus = {FocusFor(keep)};
      auto t = Try(path, ro, seed, o_.targeted_runs, failing);
      if (!t.ok() || t.value() || o_.pos_runs <= 0) return t;
      ro.strategy = sched::Strategy::kPos;
      ro.focus.clear();
      return Try(path, ro, seed, o_.pos_runs, failing);
    }
    ro.strategy = strategy_;
    return Try(path, ro, seed, runs, failing);
  }

  // Only runs of `strategy` from `seed` (one run each, as its reproduce
  // command would make it), for the final choice of seed.
  Result<bool> FailsUnder(const std::vector<size_t>& keep, sched::Strategy strategy, uint64_t seed,
                          int runs, int depth, replay::RunOutcome* failing) {
    std::string path = work_ + "/candidate.ordo";
    ORDO_RETURN_IF_ERROR(Write(keep, path, "minimize candidate"));
    replay::ReplayOptions ro = Options(depth);
    ro.strategy = strategy;
    if (strategy == sched::Strategy::kTargeted) ro.focus = {FocusFor(keep)};
    return Try(path, ro, seed, runs, failing);
  }

  replay::ReplayOptions Options(int depth) const {
    replay::ReplayOptions ro;
    ro.target = work_ + "/target";
    ro.engine_mode = o_.mode;
    ro.engine_path = o_.engine_path;
    ro.engine_config = o_.engine_config;
    ro.depth = depth;
    ro.until_fail = true;
    return ro;
  }

  Result<bool> Try(const std::string& path, replay::ReplayOptions ro, uint64_t seed, int runs,
                   replay::RunOutcome* failing) {
    for (uint64_t end = seed + static_cast<uint64_t>(runs); seed < end;) {
      ro.seed = seed;
      ro.runs = static_cast<int>(end - seed);
      auto r = replay::Replay(path, ro);
      if (!r.ok()) return r.status();
      runs_ += static_cast<uint64_t>(r->runs);
      if (!r->first_failure) return false;
      std::string kind = FailureKind(*r->first_failure);
      if (kind_.empty()) kind_ = kind;
      if (kind == kind_) {
        if (failing) *failing = *r->first_failure;
        return true;
      }
      seed = r->first_failure->seed + 1;  // another kind of failure: go on
    }
    return false;
  }

  // The strategy of verdicts without confirmation (and of the search for the
  // original failure): POS when targeted confirmation was asked for.
  void SetStrategy(sched::Strategy s) { strategy_ = s; }
  sched::Strategy strategy() const { return strategy_; }

  // From the original failure, as the engine reported it: its rule (the
  // verify_fail step's arg tells FPRE004-B's inconsistent flags from
  // FPRE004-A's stale data) and block (the object: file id in the high half,
  // block in the low half) in the request's file "fK" (K numbers the files by
  // first appearance, as replay does). False for other failures.
  bool SetFocus(const replay::RunOutcome& failing, const std::vector<size_t>& all) {
    size_t file_index = 0;
    if (!FailingFile(failing, all, &file_index)) return false;
    std::vector<uint32_t> files = FilesOf(all);
    const uint32_t file_id = engine::BlockFile(failing.failure_object);
    if (file_id < file_index) return false;
    offsets_ = {static_cast<uint32_t>(file_id - file_index)};
    engine::Focus f;
    f.rule = FailureKind(failing) == "FPRE004-B" ? engine::Fpre004Rule::kVerifyOrder
                                                 : engine::Fpre004Rule::kStaleClean;
    f.block = engine::BlockIndex(failing.failure_object);
    f.thread = -1;  // thread indices shift as threads are removed
    focus_ = f;
    focus_file_ = files[file_index];
    return true;
  }
  // The replay file index K of a verify failure's file "fK".
  bool FailingFile(const replay::RunOutcome& failing, const std::vector<size_t>& all,
                   size_t* index) const {
    if (failing.failure_kind != ORDO_FAILURE_VERIFY || failing.failure_file.size() < 2 ||
        failing.failure_file[0] != 'f') {
      return false;
    }
    char* end = nullptr;
    *index = std::strtoul(failing.failure_file.c_str() + 1, &end, 10);
    return *end == 0 && *index < FilesOf(all).size();
  }
  void ClearFocus() { focus_.reset(); }
  void SetKind(engine::Fpre004Rule rule) { kind_ = engine::Fpre004RuleName(rule); }
  // Engine file ids follow replay's file numbering, offset by the ids the
  // engine's store reserves: tried as 1, then 0, on the whole trace.
  void SetFileIdOffset(uint32_t offset) { file_id_offset_ = offset; }
  // The offsets to try: the built-in engine's store reserves id 0 (or not);
  // an engine that reported its failure's object says which it uses.
  const std::vector<uint32_t>& FileIdOffsets() const { return offsets_; }
  bool confirming() const { return focus_.has_value(); }

  // The focus for a candidate: the failing block, its file numbered among the
  // candidate's files.
  engine::Focus FocusFor(const std::vector<size_t>& keep) const {
    engine::Focus f = *focus_;
    std::vector<uint32_t> files = FilesOf(keep);
    size_t idx = std::find(files.begin(), files.end(), focus_file_) - files.begin();
    f.block = engine::BlockKey(static_cast<uint32_t>(idx) + file_id_offset_, focus_->block);
    return f;
  }

  // Trace file ids in order of first appearance (replay's file numbering).
  std::vector<uint32_t> FilesOf(const std::vector<size_t>& ops) const {
    std::vector<uint32_t> files;
    for (size_t i : ops) {
      uint32_t f = l_.ops[i].io.file;
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
    }
    return files;
  }

  // What kind of failure a run had, from the engine's structured report:
  // "FPRE004-A" (data against its checksum), "FPRE004-B" (inconsistent state
  // flags), "corruption" (another the engine detected), "crash".
  static std::string FailureKind(const replay::RunOutcome& r) {
    if (r.crashed) return "crash";
    if (r.failure_kind != ORDO_FAILURE_VERIFY) return "corruption";
    return r.fail_arg == sched::kFailFlags ? "FPRE004-B" : "FPRE004-A";
  }

  // ddmin over `units` (each a set of op indices); returns the kept units.
  Result<std::vector<std::vector<size_t>>> Ddmin(std::vector<std::vector<size_t>> units,
                                                 const char* what) {
    size_t n = 2;
    while (units.size() >= 2 && !OutOfBudget()) {
      size_t chunk = (units.size() + n - 1) / n;
      bool reduced = false;
      for (size_t start = 0; start < units.size() && !OutOfBudget(); start += chunk) {
        std::vector<std::vector<size_t>> rest;
        for (size_t i = 0; i < units.size(); ++i) {
          if (i < start || i >= start + chunk) rest.push_back(units[i]);
        }
        auto fails = Fails(Flatten(rest), o_.seed, o_.runs_per_test, o_.depth, nullptr);
        if (!fails.ok()) return fails.status();
        if (fails.value()) {
          units = std::move(rest);
          n = std::max<size_t>(n - 1, 2);
          reduced = true;
          Progress(fmt::format("{}: {} left ({} replay runs so far)", what, units.size(), runs_));
          break;
        }
      }
      if (!reduced) {
        if (n >= units.size()) break;
        n = std::min(units.size(), n * 2);
      }
    }
    return units;
  }

  // Each thread's last `window` operations before the point where a failing
  // run was decided (`done`: operations per replay thread, threads numbered
  // by first appearance as replay numbers them).
  std::vector<size_t> LastBefore(const std::vector<size_t>& ops, const std::vector<uint64_t>& done,
                                 uint64_t window) const {
    std::map<uint64_t, size_t> thread;
    std::vector<uint64_t> seen;
    std::vector<size_t> keep;
    for (size_t i : ops) {
      auto [it, fresh] = thread.emplace(ThreadKey(l_.ops[i]), thread.size());
      if (fresh) seen.push_back(0);
      uint64_t k = seen[it->second]++;
      uint64_t end = it->second < done.size() ? done[it->second] : 0;
      if (k < end && k + window >= end) keep.push_back(i);
    }
    return keep;
  }

  // Cuts a long trace down to the failure before ddmin: what no thread had
  // reached when the failing run was decided played no part in it, and the
  // race lives among the last few operations of each thread. Tries windows of
  // 8, 16, 32, ... operations per thread; returns `ops` if none reproduces.
  Result<std::vector<size_t>> CutToFailure(const std::vector<size_t>& ops,
                                           const replay::RunOutcome& failing) {
    uint64_t longest = 0;
    for (uint64_t n : failing.thread_ops) longest = std::max(longest, n);
    for (uint64_t window = 8;; window *= 2) {
      std::vector<size_t> keep = LastBefore(ops, failing.thread_ops, window);
      if (keep.size() >= ops.size() || OutOfBudget()) break;
      auto fails = Fails(keep, o_.seed, o_.runs_per_test, o_.depth, nullptr);
      if (!fails.ok()) return fails.status();
      Progress(
          fmt::format("cut to the failure: last {} operations per thread, {} in all: {} ({} replay "
                      "runs so far)",
                      window, keep.size(), fails.value() ? "reproduces" : "does not", runs_));
      if (fails.value()) return keep;
      if (window >= longest) break;
    }
    return ops;
  }

  // Keeps only the operations on the failing block's neighbourhood (the block
  // named in the failure, +-radius blocks of its file: the write, the burst
  // reads and the prefetch around it), radius 4, 16, 64; `ops` if none
  // reproduces or the failure names no block. `all` numbers the files as
  // replay does (by first appearance).
  Result<std::vector<size_t>> NearTheBlock(const std::vector<size_t>& ops,
                                           const std::vector<size_t>& all,
                                           const replay::RunOutcome& failing) {
    size_t file_index = 0;
    if (!FailingFile(failing, all, &file_index)) return ops;
    const std::vector<uint32_t> files = FilesOf(all);  // replay file index -> trace file id
    // Windows in pages of the traced I/O (not the engine's blocks, whose size
    // replay does not know), around the failing offset.
    constexpr uint64_t kPage = 4096;
    const uint64_t block = failing.failure_offset / kPage;
    if (block > (UINT64_MAX / kPage) - 128) return ops;  // an offset no trace reaches
    for (uint64_t radius : {4, 16, 64}) {
      uint64_t lo = (block > radius ? block - radius : 0) * kPage,
               hi = (block + radius + 1) * kPage;
      std::vector<size_t> keep;
      for (size_t i : ops) {
        const auto& io = l_.ops[i].io;
        if (io.file == files[file_index] && io.length > 0 && io.offset < hi &&
            io.offset + io.length > lo) {
          keep.push_back(i);
        }
      }
      if (keep.size() >= ops.size() || OutOfBudget()) break;
      auto fails = Fails(keep, o_.seed, o_.runs_per_test, o_.depth, nullptr);
      if (!fails.ok()) return fails.status();
      Progress(fmt::format(
          "near offset {} of f{}: +-{} pages, {} operations: {} ({} replay runs so far)",
          failing.failure_offset, file_index, radius, keep.size(),
          fails.value() ? "reproduces" : "does not", runs_));
      if (fails.value()) return keep;
    }
    return ops;
  }

  static std::vector<size_t> Flatten(const std::vector<std::vector<size_t>>& units) {
    std::vector<size_t> out;
    for (const auto& u : units) out.insert(out.end(), u.begin(), u.end());
    std::sort(out.begin(), out.end());  // keep the trace's order
    return out;
  }

  void Progress(const std::string& s) const {
    if (o_.on_progress) o_.on_progress(s);
  }
  uint64_t runs() const { return runs_; }

 private:
  const Loaded& l_;
  const MinimizeOptions& o_;
  std::string work_;
  Clock::time_point start_;
  uint64_t runs_ = 0;
  std::string kind_;  // of the original failure
  sched::Strategy strategy_ = sched::Strategy::kPct;
  std::optional<engine::Focus> focus_;  // block: the index within its file
  uint32_t focus_file_ = 0;             // trace file id of the failing block
  uint32_t file_id_offset_ = 1;
  std::vector<uint32_t> offsets_ = {1, 0};
};

// The engine as --engine names it.
std::string EngineName(const MinimizeOptions& o) {
  if (o.engine_path.empty()) return std::string(engine::EngineModeName(o.mode));
  return plugin::EngineSpecString({o.engine_path, o.engine_config});
}

}  // namespace

Result<MinimizeResult> Minimize(const std::string& trace_path, const std::string& out_path,
                                const MinimizeOptions& o) {
  ORDO_RETURN_IF_ERROR(CheckOutput(out_path, {trace_path}));
  auto loaded = Load(trace_path);
  if (!loaded.ok()) return loaded.status();
  const Loaded& l = loaded.value();
  // Thousands of short replays: on tmpfs when there is one, so their engine
  // set-up and fsyncs cost memory copies, not disk flushes.
  std::string tmpl =
      fs::is_directory("/dev/shm") ? "/dev/shm/ordo-minimize-XXXXXX" : "/tmp/ordo-minimize-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    return Status::IoError("minimize: cannot create a work directory");
  std::string work = tmpl;
  RegisterTemporaryDir(work);  // removed on SIGINT/SIGTERM too
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
      UnregisterTemporaryDir(dir);
    }
  } cleanup{work};

  Minimizer m(l, o, work);
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
  // Targeted confirmation when the failure names its rule and block and a
  // targeted run forcing that ordering reproduces it on the whole trace.
  if ((o.confirm || targeted) && m.SetFocus(failing, all)) {
    bool confirmed_any = false;
    for (uint32_t offset : m.FileIdOffsets()) {
      m.SetFileIdOffset(offset);
      replay::RunOutcome confirmed;
      auto c = m.FailsUnder(all, sched::Strategy::kTargeted, o.seed, o.targeted_runs, o.depth,
                            &confirmed);
      if (!c.ok()) return c.status();
      if (c.value()) {
        failing = confirmed;
        confirmed_any = true;
        m.Progress(fmt::format("verdicts by targeted confirmation ({} targeted + {} pos runs each)",
                               o.targeted_runs, o.pos_runs));
        break;
      }
    }
    if (!confirmed_any) m.ClearFocus();
  }
  if (targeted && !m.confirming()) {
    return Status::InvalidArgument(
        fmt::format("{}: the failure ({}) is not confirmed by a targeted run on its block",
                    trace_path, failing.message));
  }
  auto t0 = Clock::now();
  auto cut = m.CutToFailure(all, failing);
  if (!cut.ok()) return cut.status();
  auto near = m.NearTheBlock(cut.value(), all, failing);
  if (!near.ok()) return near.status();
  // Whole threads first, then single operations.
  std::map<uint64_t, std::vector<size_t>> by_thread;
  for (size_t i : near.value()) by_thread[ThreadKey(l.ops[i])].push_back(i);
  std::vector<std::vector<size_t>> units;
  for (auto& [k, v] : by_thread) units.push_back(v);
  auto threads = m.Ddmin(units, "threads");
  if (!threads.ok()) return threads.status();
  std::vector<std::vector<size_t>> ops;
  for (size_t i : Minimizer::Flatten(threads.value())) ops.push_back({i});
  auto kept = m.Ddmin(ops, "operations");
  if (!kept.ok()) return kept.status();
  std::vector<size_t> final_ops = Minimizer::Flatten(kept.value());

  MinimizeResult res;
  res.depth = o.depth;
  res.seed = o.seed;
  res.strategy = m.strategy();
  bool found = false;
  if (m.confirming()) {
    // The first seed whose targeted run (then POS run) reproduces it alone.
    for (sched::Strategy s : {sched::Strategy::kTargeted, sched::Strategy::kPos}) {
      replay::RunOutcome run;
      auto f = m.FailsUnder(final_ops, s, o.seed, o.runs_per_test, o.depth, &run);
      if (!f.ok()) return f.status();
      if (f.value()) {
        res.seed = run.seed;
        res.strategy = s;
        if (s == sched::Strategy::kTargeted) res.focus = m.FocusFor(final_ops);
        found = true;
        break;
      }
    }
  }
  // Else the smallest depth, then the first seed, that reproduce it in one run.
  for (int depth = 1; depth <= o.depth && !found; ++depth) {
    replay::RunOutcome run;
    auto f = m.FailsUnder(final_ops, m.strategy(), o.seed, o.runs_per_test, depth, &run);
    if (!f.ok()) return f.status();
    if (f.value()) {
      res.depth = depth;
      res.seed = run.seed;
      found = true;
    }
    if (m.strategy() != sched::Strategy::kPct) break;
  }
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
