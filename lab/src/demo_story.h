// The demo story's steps and what they learn on the way (private to lab/):
// demo.cc obtains the trace and reproduces the failure, demo_examine.cc
// analyzes, minimizes, runs the fixed engine, writes the reports and prints
// the summary table.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ordo/engine/engine.h"
#include "ordo/lab/demo.h"
#include "ordo/lab/explore.h"
#include "ordo/lab/minimize.h"
#include "ordo/replay/replayer.h"
#include "ordo/replay/target_claim.h"
#include "ordo/sched/scheduler.h"
#include "ordo/status.h"

namespace ordo::lab {

using SteadyClock = std::chrono::steady_clock;

inline double Since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// What the demo says of the trace it works from.
struct TraceFacts {
  uint64_t events = 0, lost = 0, bytes = 0, api_ops = 0;
};

// Counts the trace's events, lost events and engine API requests.
Result<TraceFacts> Facts(const std::string& path);

// Locks the work directory for the demo's duration (the lock a replay target
// takes: a second demo in it is refused naming the first's pid), then clears
// what an earlier demo left there. A non-empty directory an earlier demo did
// not make is refused.
Status ClaimWorkdir(const std::string& dir, replay::TargetClaim* claim);

// True when both files can be read and hold the same bytes.
bool SameBytes(const std::string& a, const std::string& b);

class DemoStory {
 public:
  explicit DemoStory(const DemoOptions& o) : o_(o), dir_(o.workdir), t0_(SteadyClock::now()) {}

  Result<DemoResult> Run();

 private:
  // Prints the heading of the next step with the time since the start.
  void Step(const std::string& what);
  // Options of a replay in the demo's lab directory.
  replay::ReplayOptions Lab(engine::EngineMode mode, sched::Strategy strategy, uint64_t seed,
                            int runs) const;
  // The trace to work from: a fresh capture of loadgen, or the sample.
  Result<std::string> Obtain();
  // Auto exploration until FPRE004, the failing run again, free-running.
  Status Reproduce();
  // Analysis and minimization of the failure, the fixed engine, reports.
  Status Examine();
  // The summary table, and what it came to.
  DemoResult Table();

  const DemoOptions& o_;
  std::string dir_;
  replay::TargetClaim claim_;  // the workdir's lock, held until the demo ends
  SteadyClock::time_point t0_;
  std::string trace_, source_;
  TraceFacts facts_;
  replay::RunOutcome failure_;
  int auto_runs_ = 0, free_runs_ = 0, free_made_ = 0;
  bool same_ = false;
  std::map<std::string, uint64_t> rules_;
  std::vector<lab::SignatureStatus> signatures_;
  std::string manifested_;
  lab::MinimizeResult minimized_;
  int fixed_runs_ = 0, fixed_failures_ = 0;
};

}  // namespace ordo::lab
