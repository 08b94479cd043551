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
};

// Forks; the child calls `run` (which may write files, such as the run's
// history) and sends back its outcome and stats, which are merged into
// *stats. A child killed by a signal gives a failed outcome with `crashed`
// set and the signal named; a child that could not run gives its error.
Result<RunOutcome> RunIsolated(const RunOutcome& planned,
                               const std::function<Result<RunOutcome>(ThreadStats*)>& run,
                               ThreadStats* stats);

}  // namespace ordo::replay
