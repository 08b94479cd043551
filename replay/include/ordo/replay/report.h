// What a replay tells its user: the replay asked for (as the caller spelled
// it), what it made, and, under auto exploration, what became of each race the
// analyzer predicted. One model, rendered as text here and as the JSON
// document of `ordo replay --json` by summary_json.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/engine/focus.h"
#include "ordo/replay/replayer.h"
#include "ordo/replay/run_spec.h"
#include "ordo/sched/scheduler.h"

namespace ordo::replay {

// One targeted run made for a predicted signature.
struct TargetedRun {
  int run = -1;
  std::vector<engine::Focus> focus;
  bool failed = false;
  sched::HoldStats holds;
};

// What became of one rule the analyzer predicted (its forms, e.g. FPRE004-A
// by prefetch or by a read miss, are one ordering to confirm).
struct SignatureStatus {
  std::string signature;  // analyze::Finding::signature of its first prediction
  std::string rule;       // "FPRE004-A" or "FPRE004-B"
  int predicted_in_run = -1;
  int targeted_runs = 0;  // runs that forced it
  std::vector<TargetedRun> attempts;
  bool confirmed = false;
  int confirmed_by_run = -1;  // the failing run (index into summary outcomes' run)
  std::string reproduce;      // the command that repeats that run, when confirmed
};

// The replay asked for, as the caller spelled it: a summary repeats it so
// that results of one exploration (its shards) can be told apart and merged.
struct ReplayRequest {
  std::string trace;               // as given (not a copy spooled from stdin)
  std::string backend = "engine";  // BackendName
  std::string engine = "fixed";    // as given: legacy, fixed or PATH.so[:CONFIG]
  std::string strategy = "auto";   // "auto", a sched::StrategyName, "none" on the file backend
  uint64_t seed = 1;               // of run 0
  int depth = 10;
  std::string timing = "fast";  // as given (see ParseTiming)
  int runs_planned = 1;         // the seed space is seed .. seed + runs_planned - 1
  int shard_index = 0;          // 0-based
  int shard_count = 1;
  bool until_fail = false;
  std::string history;  // the history path asked for (empty: none)
};

struct ReplayReport {
  ReplayRequest request;
  // The command line of one run of this replay (see RunSpecOf): a run's
  // reproduce command is it with the run's strategy, seed and focus.
  RunSpec run_spec;
  ReplaySummary summary;
  std::vector<SignatureStatus> signatures;  // auto exploration, in order of prediction
  bool interrupted = false;                 // a stop cut the runs short
  int exit_code = 0;                        // what the caller exits with (the JSON says it)
};

// The command that repeats `run` of the report's replay alone.
std::string ReproduceCommand(const ReplayReport& report, const RunOutcome& run);

// What a failing run found: "FPRE004" (a read-verify failure), "corruption"
// (other corruption the engine reported), or "crash", "hang" or "deadlock" of
// the engine under test.
std::string_view FailureKind(const RunOutcome& run);

// Failing runs by what they found.
struct FailureTally {
  int fpre004 = 0;
  int corruptions = 0;
  int crashes = 0;  // hangs and deadlocks included
};
FailureTally TallyFailures(const ReplaySummary& summary);

// True when the request's backend can show FPRE004 at all: the engine
// backend. The file backend replays plain files, which have no checksums.
bool JudgesFpre004(const ReplayRequest& request);

// The replay's outcome, most serious first: "FPRE004", "corruption",
// "crash", then "error" (operations failed otherwise: the replay did not do
// what the trace did, so it proves nothing), "no runs" (a shard with none, or
// a stop before the first), else "pass". On the file backend, which cannot
// judge FPRE004: "error", "no runs" or "replayed" (every I/O as traced).
std::string_view OutcomeOf(const ReplayRequest& request, const ReplaySummary& summary);

// The report as `ordo replay` prints it: what was replayed, the runs and
// their latency, the first failure and the command that repeats it, each
// prediction's fate, and the outcome.
std::string RenderText(const ReplayReport& report);

}  // namespace ordo::replay
