// Minimization: the smallest trace that still reproduces FPRE004 under the
// same engine mode and strategy. First the trace is cut to the failure (each
// thread's last few operations before the failing run was decided, the window
// doubling until it reproduces), then delta debugging (ddmin) over whole
// threads and over single operations; then the smallest depth and seed that
// still reproduce. Each test is a bounded replay (runs_per_test seeds). Only
// the operations replay executes are kept (a capture's engine API requests,
// not the syscalls beneath them). The candidate trace is held in memory: it
// is meant for failing reproductions (up to 1 M operations), not day-long
// captures.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ordo/engine/engine.h"
#include "ordo/sched/scheduler.h"
#include "ordo/status.h"

namespace ordo::analyze {

struct MinimizeOptions {
  engine::EngineMode mode = engine::EngineMode::kLegacy;
  sched::Strategy strategy = sched::Strategy::kPct;
  uint64_t seed = 1;
  int depth = 10;
  int runs_per_test = 30;  // a candidate "fails" if any of these seeds reproduces
  uint64_t max_runs = 20000;  // replay runs in all
  double max_seconds = 300;
  std::function<void(const std::string&)> on_progress;
};

struct MinimizeResult {
  uint64_t original_ops = 0;
  uint64_t minimized_ops = 0;
  uint32_t threads = 0;
  uint64_t seed = 0;  // with `depth`, reproduces in one run
  int depth = 0;
  uint64_t runs = 0;  // replay runs spent
  double seconds = 0;
  std::string reproduce;  // the command that reproduces the minimized trace
};

// Minimizes `trace_path` into `out_path`. NotFound-like InvalidArgument if the
// original does not reproduce within runs_per_test seeds.
Result<MinimizeResult> Minimize(const std::string& trace_path, const std::string& out_path,
                                const MinimizeOptions& options);

}  // namespace ordo::analyze
