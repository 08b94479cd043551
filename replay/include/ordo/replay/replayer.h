// Replay: turn a captured or imported trace into a reproduction. Each traced
// thread is replayed on its own thread with its offsets and lengths exactly
// as recorded, against the cache engine (under a seeded, controlled scheduler)
// or against plain files; run after run until FPRE004 shows or the runs are
// spent. The trace is streamed: memory does not grow with its length.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ordo/engine/engine.h"
#include "ordo/engine/focus.h"
#include "ordo/replay/latency.h"
#include "ordo/replay/run_spec.h"
#include "ordo/replay/trace_source.h"
#include "ordo/sched/scheduler.h"
#include "ordo/status.h"
#include "ordo/trace/record.h"

namespace ordo::replay {

// Where time comes from, so tests can replace it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t NowNs() = 0;
  virtual void SleepUntilNs(uint64_t deadline_ns) = 0;
};
Clock* RealClock();

// How one run explores.
struct RunPlan {
  sched::Strategy strategy = sched::Strategy::kPct;
  uint64_t seed = 1;
  std::vector<engine::Focus> focus;
};

struct ReplayOptions {
  std::string target;  // every file replay writes lives under this directory
  bool force = false;  // accept a non-empty target ordo did not create
  Backend backend = Backend::kEngine;
  engine::EngineMode engine_mode = engine::EngineMode::kFixed;
  // An engine loaded through the engine ABI (ordo/engine_abi.h) instead of
  // the built-in one: the shared object and its "key=value,..." config. Each
  // of its runs executes in a child process, so a crash is an outcome.
  std::string engine_path;
  std::string engine_config;
  // Run such an engine in ordo's own process instead (faster; a crash in it
  // then ends ordo: for debugging the engine under gdb, and for measuring).
  bool engine_in_process = false;
  // Wall-clock limit of one run of such an engine in its child process (0:
  // none): past it the child is killed and the run is a "hang" finding.
  double run_timeout_s = 300;
  bool direct_io = false;  // file backend: O_DIRECT
  Timing timing = Timing::kFast;
  double speed = 1.0;  // kScaled: trace time / speed
  // Exploration: kFree is "none" (real concurrency), else seeded control.
  sched::Strategy strategy = sched::Strategy::kPct;
  uint64_t seed = 1;  // run i uses seed + i
  // kTargeted: the races to force (each becomes scheduler holds).
  std::vector<engine::Focus> focus;
  // PCT depth: depth - 1 priority change points per run. Replays are long
  // (thousands of steps), so more change points than the race's own depth
  // pay off: on traces/fio-writer-reader.ordo depth 10 reproduces ~2x as
  // often as depth 3.
  int depth = 10;
  int runs = 1;
  // Sharding the seed space across machines: this process makes only the
  // runs i with i % shard_count == shard_index (run i still uses seed + i),
  // so N shards together make exactly the runs of one unsharded replay.
  int shard_index = 0;
  int shard_count = 1;
  bool until_fail = false;   // stop at the first FPRE004 (of this shard)
  std::string history_path;  // write the failing (or last) run's history here
  // Hostile-trace limits.
  uint32_t max_threads = 1024;
  uint64_t max_io_bytes = 64ull << 20;
  uint64_t max_file_bytes = 1ull << 40;
  // Largest file laid out on the target; 0: half of its file system.
  uint64_t max_target_file_bytes = 0;
  Clock* clock = nullptr;  // null: the real monotonic clock
  // Set (from a signal handler, say) to stop after the run in progress; the
  // summary covers the runs made.
  const std::atomic<bool>* stop = nullptr;
  // Called after each run (for progress output).
  std::function<void(int run, int runs, bool failed)> on_run;
  // Campaigns that choose each run from the ones before (auto exploration):
  // when set, called before run i (of this shard) for its plan; nullopt ends
  // the replay. Unset: run i uses `strategy`, seed + i and `focus`.
  std::function<std::optional<RunPlan>(int run)> next_run;
  // When set, sees every engine event of every run as it is recorded.
  std::function<void(const trace::EngineRecord&)> observe;
  // ...and every site an engine loaded through the ABI registers.
  std::function<void(const trace::SiteRecord&)> observe_site;
};

struct RunOutcome {
  int run = 0;
  uint64_t seed = 0;
  sched::Strategy strategy = sched::Strategy::kPct;
  std::vector<engine::Focus> focus;  // targeted runs: the races forced
  sched::HoldStats holds;
  bool failed = false;
  bool crashed = false;     // the engine under test crashed (failed is set too)
  bool hung = false;        // ...or did not finish within the run timeout (crashed set too)
  bool deadlocked = false;  // ...or its threads all blocked under control (crashed set too)
  std::string message;      // the read-verify failure (or the crash)
  // What an engine loaded through the engine ABI reported (ordo_failure):
  // its kind (0: none reported), object, logical file and byte offset.
  uint32_t failure_kind = 0;
  uint64_t failure_object = 0;
  std::string failure_file;
  uint64_t failure_offset = 0;
  uint32_t thread = 0;       // replay thread that saw it
  uint64_t op_index = 0;     // its index among that thread's operations
  int64_t history_seq = -1;  // the verify_fail event in the history, if kept
  // The arg of the run's first verify_fail step: what failed
  // (sched::kFailFlags: an inconsistent set of state flags, FPRE004-B; else
  // data against its checksum, FPRE004-A).
  uint64_t fail_arg = 0;
  uint64_t steps = 0;  // scheduling decisions the run took
  // Operations each replay thread (in the trace's order of first appearance)
  // had executed when the run was decided: everything after them played no
  // part in a failure.
  std::vector<uint64_t> thread_ops;
};

struct ReplaySummary {
  int runs = 0;                  // runs made (by this shard)
  bool history_written = false;  // ReplayOptions::history_path holds a run of this replay
  int failures = 0;
  std::optional<RunOutcome> first_failure;
  std::vector<RunOutcome> outcomes;  // one per run
  uint64_t ops = 0;                  // operations executed, all runs
  uint64_t errors = 0;               // operations that failed other than FPRE004
  std::string first_error;           // the first of them: thread, operation, message
  double seconds = 0;
  uint32_t threads = 0;
  uint32_t files = 0;
  bool api_level = false;                   // replayed the engine's API requests, not syscalls
  std::array<LatencyHistogram, 3> latency;  // read, write, sync
  // For timing fidelity: |actual - intended| issue time, per op (original/scaled).
  LatencyHistogram issue_error;
  uint64_t trace_duration_ns = 0;
};

// Replays `trace` as `options` says. Bad input (unreadable or hostile trace,
// unsafe target) is an error: InvalidArgument naming the value and the
// ReplayOptions field it breaks; LimitExceeded for more threads than
// max_threads, or an engine that outlasts run_timeout_s laying out the
// initial content. FPRE004 is an outcome, not an error. Reproduce commands and
// history headers name the trace by trace.name().
Result<ReplaySummary> Replay(const TraceSource& trace, const ReplayOptions& options);
// Replay(*FileTrace(trace_path), options).
Result<ReplaySummary> Replay(const std::string& trace_path, const ReplayOptions& options);

// True for the operations a replay executes at its level: the engine's API
// requests when the trace holds any (api_level), else the I/O syscalls.
bool Replayable(trace::IoOp op, bool api_level);

// The command line of one run (--runs 1) of a replay of `trace_path` as
// `options` say: the options' strategy, seed and focus.
RunSpec RunSpecOf(const std::string& trace_path, const ReplayOptions& options);
// ...of the run `run` of it, alone: the run's strategy, seed and focus.
RunSpec RunSpecOf(const std::string& trace_path, const ReplayOptions& options,
                  const RunOutcome& run);
// RunSpecOf(...).ToCommand().
std::string ReproduceCommand(const std::string& trace_path, const ReplayOptions& options,
                             const RunOutcome& run);

}  // namespace ordo::replay
