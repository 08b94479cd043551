// Runs of an engine loaded through the engine ABI execute in a child process:
// a crash inside the engine under test ends the child, not ordo, and becomes
// the run's outcome; nothing the engine leaks carries into the next run.
#pragma once

#include <array>
#include <functional>
#include <string>

#include "ordo/replay/latency.h"
#include "ordo/replay/replayer.h"
#include "ordo/status.h"

namespace ordo::replay {

// What a run's replay threads measured.
struct ThreadStats {
  std::array<LatencyHistogram, 3> latency;
  LatencyHistogram issue_error;
  uint64_t ops = 0, errors = 0;
  std::string first_error;  // the message of the first of `errors`

  // Adds `other`'s figures (its first error counts only if this has none).
  void Merge(const ThreadStats& other) {
    for (size_t k = 0; k < latency.size(); ++k) latency[k].Merge(other.latency[k]);
    issue_error.Merge(other.issue_error);
    ops += other.ops;
    errors += other.errors;
    if (first_error.empty()) first_error = other.first_error;
  }
};

// Forks; the child calls `run` (which may write files, such as the run's
// history) and sends back its outcome and stats, which are merged into
// *stats. A child killed by a signal, or ending without a report, gives a
// failed outcome with `crashed` set and the cause named; one that runs past
// `timeout_s` (0: no limit) is killed and gives `hung` too; a child that
// could not run gives its error. The child's stdout goes to stderr (ordo's
// stdout is for its summary), and it dies with ordo.
Result<RunOutcome> RunIsolated(const RunOutcome& planned,
                               const std::function<Result<RunOutcome>(ThreadStats*)>& run,
                               double timeout_s, ThreadStats* stats);

}  // namespace ordo::replay
