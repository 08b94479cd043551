// The replay: checks the options, plans the trace, claims the target, loads
// the engine, then makes the runs (each in a child process for an engine
// loaded from a shared object) and keeps the history of the one that matters.
#include "ordo/replay/replayer.h"

#include <fmt/core.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "isolated_run.h"
#include "ordo/engine/builtin.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/writer.h"
#include "ordo/util/clock.h"
#include "plan.h"
#include "runner.h"
#include "target.h"

namespace ordo::replay {

namespace {

namespace fs = std::filesystem;

class MonotonicClock : public Clock {
 public:
  uint64_t NowNs() override { return util::MonotonicNs(); }
  // Sleeps to shortly before the deadline, then spins: a timer wake-up on a
  // busy VM is late by tens of microseconds, a spin of at most kSpinNs is not.
  void SleepUntilNs(uint64_t deadline) override {
    static constexpr uint64_t kSpinNs = 100000;
    uint64_t now = NowNs();
    if (deadline > now + kSpinNs) {
      uint64_t wake = deadline - kSpinNs;
      timespec ts{static_cast<time_t>(wake / 1000000000ull),
                  static_cast<long>(wake % 1000000000ull)};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
      }
    }
    while (NowNs() < deadline) __builtin_ia32_pause();
  }
};

Status CheckOptions(const ReplayOptions& o) {
  if (o.runs < 1)
    return Status::InvalidArgument(fmt::format("runs is {}; a replay makes at least 1", o.runs));
  if (o.shard_count < 1 || o.shard_index < 0 || o.shard_index >= o.shard_count) {
    return Status::InvalidArgument(
        fmt::format("shard_index {} of shard_count {}: needs 0 <= shard_index < shard_count",
                    o.shard_index, o.shard_count));
  }
  if (o.timing == Timing::kScaled && !(o.speed > 0))
    return Status::InvalidArgument(fmt::format("timing scale is {}; it must be > 0", o.speed));
  return Status::Ok();
}

// The engine the options name and its config: a shared object's, or ordo's
// own, linked in, behind the same ABI. Null for the file backend.
Result<std::shared_ptr<plugin::EngineLibrary>> LoadEngine(const ReplayOptions& o,
                                                          std::string* config) {
  *config = o.engine_config;
  if (o.backend != Backend::kEngine) return std::shared_ptr<plugin::EngineLibrary>();
  if (o.engine_path.empty()) {
    *config = fmt::format("mode={}{}{}", engine::EngineModeName(o.engine_mode),
                          config->empty() ? "" : ",", *config);
    return plugin::EngineLibrary::FromOps(engine::BuiltinEngineOps(), "built-in");
  }
  ORDO_RETURN_IF_ERROR(plugin::EngineLibrary::Probe(o.engine_path));
  auto lib = plugin::EngineLibrary::Load(o.engine_path);
  if (!lib.ok()) return lib.status();
  return std::shared_ptr<plugin::EngineLibrary>(std::move(lib).value());
}

// Lays out the initial content in a child process: it runs the engine too.
// An engine that hangs there exceeds the run timeout (LimitExceeded).
Status PrepareIsolated(Runner* runner, const ReplayOptions& o) {
  ThreadStats unused;
  auto laid = RunIsolated(
      RunOutcome{},
      [runner](ThreadStats*) -> Result<RunOutcome> {
        ORDO_RETURN_IF_ERROR(runner->Prepare());
        return RunOutcome{};
      },
      o.run_timeout_s, &unused);
  if (!laid.ok()) return laid.status();
  if (laid->crashed) {
    std::string what = fmt::format("{}: engine {} while laying out the initial content: {}",
                                   o.engine_path, laid->hung ? "hung" : "crashed", laid->message);
    return laid->hung ? Status::LimitExceeded(what) : Status::IoError(what);
  }
  runner->MarkPrepared();
  return Status::Ok();
}

// The header of a run's history: what made it (the command that repeats
// it), and where.
trace::TraceHeader HistoryHeader(const std::string& trace_name, const ReplayOptions& o,
                                 const RunOutcome& planned) {
  trace::TraceHeader h;
  h.tool_version = std::string("ordo ") + ORDO_VERSION;
  h.kind = "history";
  h.clock = "logical";
  struct utsname u;
  if (uname(&u) == 0) {  // where the run was made, for reports
    h.host = u.nodename;
    h.kernel = std::string(u.sysname) + " " + u.release;
  }
  h.source = ReproduceCommand(trace_name, o, planned);
  return h;
}

// Streams a run's history (written by its child process) to the observers.
Status Observe(const std::string& history, const ReplayOptions& o) {
  auto reader = trace::TraceReader::Open(history);
  if (!reader.ok()) return reader.status();
  trace::Record r;
  while ((*reader)->Next(&r)) {
    if (r.kind == trace::RecordKind::kEngine && o.observe) o.observe(r.engine);
    if (r.kind == trace::RecordKind::kSite && o.observe_site) o.observe_site(r.site);
  }
  return (*reader)->status();
}

// Each run's history goes to a partial file; history_path keeps the first
// failing run's, or the last run's.
class HistoryKeeper {
 public:
  // Per process: two replays asked for one history path do not share it.
  explicit HistoryKeeper(const ReplayOptions& o)
      : o_(o),
        partial_(!o.history_path.empty() ? fmt::format("{}.{}.partial", o.history_path, getpid())
                                         : o.target + "/run-history.partial") {}
  const std::string& partial() const { return partial_; }
  bool wanted() const { return !o_.history_path.empty() && !kept_; }

  // After a run (`last`: the last this shard makes). What a crashed run
  // wrote has no footer: it is not kept as a history.
  Status After(const RunOutcome& out, bool last) {
    std::error_code ec;
    if (out.crashed) {
      fs::remove(partial_, ec);
      return Status::Ok();
    }
    if (!wanted() || !(out.failed || last)) return Status::Ok();
    fs::rename(partial_, o_.history_path, ec);
    if (ec) return Status::IoError(o_.history_path + ": " + ec.message());
    kept_ = true;
    return Status::Ok();
  }
  // After the runs: keeps the last run made when a stop cut them short.
  // Whether history_path holds a run of this replay.
  bool Finish() {
    std::error_code ec;
    if (o_.history_path.empty()) {
      fs::remove(partial_, ec);
    } else if (!kept_ && fs::exists(partial_, ec)) {
      fs::rename(partial_, o_.history_path, ec);
      kept_ = !ec;
    }
    return kept_;
  }

 private:
  const ReplayOptions& o_;
  std::string partial_;
  bool kept_ = false;
};

// Makes the runs of this shard, each as the options (or next_run) plan it.
class RunSeries {
 public:
  RunSeries(const TraceSource& trace, const ReplayOptions& o, Runner* runner, bool isolated)
      : trace_(trace), o_(o), runner_(runner), isolated_(isolated), histories_(o) {}

  Status MakeRuns(ReplaySummary* summary) {
    // The last run this shard makes, for "keep the last run's history".
    const int last_run =
        o_.shard_index + (o_.runs - 1 - o_.shard_index) / o_.shard_count * o_.shard_count;
    for (int run = o_.shard_index; run < o_.runs && !(o_.stop && o_.stop->load());
         run += o_.shard_count) {
      RunPlan rp{o_.strategy, o_.seed + static_cast<uint64_t>(run), o_.focus};
      if (o_.next_run) {
        std::optional<RunPlan> next = o_.next_run(run);
        if (!next) break;
        rp = *next;
      }
      auto outcome = MakeRun(run, rp);
      if (!outcome.ok()) {
        return outcome.status().WithContext(
            fmt::format("run {} ({} seed {})", run, sched::StrategyName(rp.strategy), rp.seed));
      }
      if (!outcome->crashed && observe_history())
        ORDO_RETURN_IF_ERROR(Observe(histories_.partial(), o_));
      ORDO_RETURN_IF_ERROR(histories_.After(outcome.value(), run == last_run));
      summary->outcomes.push_back(outcome.value());
      ++summary->runs;
      if (outcome->failed) {
        ++summary->failures;
        if (!summary->first_failure) summary->first_failure = outcome.value();
      }
      if (o_.on_run) o_.on_run(run, o_.runs, outcome->failed);
      if (outcome->failed && o_.until_fail) break;
    }
    summary->history_written = histories_.Finish();
    return Status::Ok();
  }

  const ThreadStats& total() const { return total_; }

 private:
  // An isolated run's events reach the observers from its history, read back.
  bool observe_history() const { return isolated_ && (o_.observe || o_.observe_site); }

  // Run `run` of `rp`, writing its history to the partial file when asked.
  Result<RunOutcome> MakeRun(int run, const RunPlan& rp) {
    RunOutcome planned;
    planned.run = run;
    planned.seed = rp.seed;
    planned.strategy = rp.strategy;
    planned.focus = rp.focus;
    const bool write_history = histories_.wanted() || observe_history();
    auto run_once = [&](ThreadStats* stats) -> Result<RunOutcome> {
      std::unique_ptr<trace::TraceWriter> writer;
      if (write_history) {
        auto w = trace::TraceWriter::Create(histories_.partial(),
                                            HistoryHeader(trace_.name(), o_, planned));
        if (!w.ok()) return w.status();
        writer = std::move(w).value();
      }
      auto outcome = runner_->Run(run, rp, writer.get(), stats);
      if (writer && outcome.ok()) ORDO_RETURN_IF_ERROR(writer->Close());
      return outcome;
    };
    return isolated_ ? RunIsolated(planned, run_once, o_.run_timeout_s, &total_)
                     : run_once(&total_);
  }

  const TraceSource& trace_;
  const ReplayOptions& o_;
  Runner* runner_;
  bool isolated_;
  HistoryKeeper histories_;
  ThreadStats total_;
};

}  // namespace

Clock* RealClock() {
  static MonotonicClock clock;
  return &clock;
}

Result<ReplaySummary> Replay(const TraceSource& trace, const ReplayOptions& o) {
  ORDO_RETURN_IF_ERROR(CheckOptions(o));
  auto plan = MakePlan(trace, o);
  if (!plan.ok()) return plan.status();
  auto claim = PrepareTarget(o, plan.value());  // locked until we return
  if (!claim.ok()) return claim.status();

  ReplaySummary summary;
  summary.threads = static_cast<uint32_t>(plan->thread_index.size());
  summary.files = static_cast<uint32_t>(plan->files.size());
  summary.api_level = plan->api_level;
  summary.trace_duration_ns = plan->last_ns - plan->first_ns;
  std::string config;
  auto library = LoadEngine(o, &config);
  if (!library.ok()) return library.status();
  // Engines loaded from a shared object run each run in a child process: a
  // crash in them is a finding, not ordo dying.
  const bool isolated = !o.engine_path.empty() && !o.engine_in_process;
  Runner runner(trace, o, plan.value(), library.value(), config, !isolated);
  if (isolated && o.backend == Backend::kEngine) ORDO_RETURN_IF_ERROR(PrepareIsolated(&runner, o));
  ORDO_RETURN_IF_ERROR(runner.Prepare());
  const uint64_t t0 = RealClock()->NowNs();
  RunSeries series(trace, o, &runner, isolated);
  ORDO_RETURN_IF_ERROR(series.MakeRuns(&summary));
  summary.seconds = static_cast<double>(RealClock()->NowNs() - t0) / 1e9;
  const ThreadStats& total = series.total();
  summary.ops = total.ops;
  summary.errors = total.errors;
  summary.first_error = total.first_error;
  summary.latency = total.latency;
  summary.issue_error = total.issue_error;
  return summary;
}

Result<ReplaySummary> Replay(const std::string& trace_path, const ReplayOptions& o) {
  return Replay(*FileTrace(trace_path), o);
}

}  // namespace ordo::replay
