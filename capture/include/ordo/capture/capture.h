// `ordo capture`: record the file I/O of selected processes (and the cache
// engine's USDT probes) with eBPF into a .ordo trace. Built for busy hosts:
// filters run in the kernel where they can, events are batched through a ring
// buffer without wakeups, lost events are counted exactly, and the trace is
// flushed at least every second so a killed capture still leaves a readable
// trace.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ordo/status.h"

namespace ordo::capture {

struct CaptureOptions {
  std::vector<uint32_t> pids;              // processes (tgids) to trace; empty: see below
  std::string comm;                        // only tasks with this comm
  std::string cgroup;                      // only tasks in this cgroup (v2 path)
  std::vector<std::string> path_prefixes;  // only files under these paths (user space)
  std::string usdt_binary;                 // attach ordo:point / ordo:request in this binary
  std::vector<std::string> command;        // run it and trace it and its children
  uint64_t duration_ns = 0;                // 0: until stopped (or the command exits)
  uint64_t max_size = 0;  // stop once the trace has this many bytes (checked at each flush)
  uint64_t ring_bytes = 64ull << 20;  // power of two
  uint32_t tick_ns = 1000;            // timestamp resolution kept in the trace
  bool redact_paths = false;          // store path hashes
  std::string output;
  std::string source;  // provenance line for the header
  // Set to stop the capture (from a signal handler, say).
  std::atomic<bool>* stop = nullptr;
  // Called about once a second with running totals (for a live status line).
  std::function<void(uint64_t events, uint64_t lost, uint64_t bytes, double seconds)> on_progress;
  // Called once, from Run's thread, when the probes are attached and the
  // consumer starts draining (benchmarks time their phases from here).
  std::function<void()> on_attached;
};

struct CaptureResult {
  uint64_t events = 0;
  uint64_t lost = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  int command_status = -1;  // exit status of the traced command, if any
};

// Runs a capture to completion. PermissionDenied when BPF is refused (no
// CAP_BPF/CAP_PERFMON, or a kernel feature missing), naming what.
Result<CaptureResult> Run(const CaptureOptions& options);

}  // namespace ordo::capture
