// The JSON document of `ordo replay --json`, one per replay: written from a
// ReplayReport, read back by whoever merges results (the shards of one
// exploration). Its fields, in this order:
//   the request: trace, backend, engine (as given), runs (made),
//     runs_planned, interrupted, shard ("K/N", 1-based), until_fail;
//   failures, first_failure (null, or run, seed, strategy, thread, op_index,
//     history_event, kind, message, reproduce), failing_runs (run, seed,
//     strategy, holds, kind, message, reproduce), outcome (OutcomeOf),
//     fpre004_judged (false on the file backend: plain files cannot show it);
//   seed, strategy, depth, findings (auto exploration: one per predicted
//     rule), timing;
//   threads, files, api_level, ops, errors, first_error, seconds, ops_per_s,
//     p50_us, p99_us, p999_us, per_op (read, write, sync: count and
//     percentiles), trace_duration_ns, issue_error_p99_us;
//   history (the path written, or null), exit_code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/replay/report.h"
#include "ordo/status.h"

namespace ordo::replay {

// The document, indented by two spaces, without a final newline.
std::string ToJson(const ReplayReport& report);

// A failing run as a document lists it.
struct FailingRunEntry {
  int run = 0;
  uint64_t seed = 0;
  std::string message;    // empty when absent
  std::string reproduce;  // the command that repeats this run alone; empty when absent
};

// What a reader of a document relies on: the replay asked for, the runs it
// made, and its failing runs.
struct ReplayResult {
  ReplayRequest request;
  int runs = 0;
  std::vector<FailingRunEntry> failing;
};

// Reads a document. Required: trace, engine and strategy (strings); depth,
// runs, runs_planned (integers); seed (an unsigned integer); shard ("K/N"
// with 1 <= K <= N); failing_runs (an array of objects with an integer run
// and an unsigned seed). until_fail (a boolean), a failing run's message and
// reproduce (strings), and the other request fields (backend, timing,
// history) may be absent. InvalidArgument saying which field is missing or
// of the wrong type; counts are not checked against each other (the caller's
// limits decide what it accepts).
Result<ReplayResult> FromJson(std::string_view text);

}  // namespace ordo::replay
