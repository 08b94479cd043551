// Loadgen: a production-like workload on a cache engine, the "production
// host" of the demo and a workload to point `ordo capture --usdt` at. Burst
// readers start mid-block and read across block boundaries, one thread reads
// a hot file at targeted offsets, one writes (an fsync every 32 writes), while
// the engine compacts in the background.
#pragma once

#include <cstdint>
#include <string>

#include "ordo/status.h"

namespace ordo::lab {

struct LoadgenOptions {
  // The engine's directory: new, or one ordo made (else refused unless
  // `force`); locked while the workload runs, as a replay target is.
  std::string target;
  bool force = false;
  // "legacy" or "fixed" (the built-in engine, compacting on its own 5 ms
  // timer as in production), or "PATH.so[:CONFIG]", an engine of the user's
  // own through the engine ABI (its directory is TARGET/engine; its points
  // fire the USDT probes ordo:site and ordo:point of this binary).
  std::string engine = "legacy";
  uint64_t duration_ns = 10'000'000'000;
  uint64_t seed = 1;  // the workload's; the same seed makes the same requests
  int readers = 2;    // burst reader threads (at least 1)
  double rate = 0;    // API requests per second across all threads; 0: as fast as it can
};

struct LoadgenResult {
  uint64_t reads = 0, writes = 0;
  uint64_t verify_failures = 0;  // read-verify failures: FPRE004
  uint64_t errors = 0;           // other failed requests (corruption included)
  std::string first_failure;     // the first FPRE004's message, "" if none
  // What the built-in engine did in the background (false for other engines).
  bool builtin = false;
  uint64_t prefetched = 0, relocated = 0;
  // The engine's close; the counts stand either way.
  Status closed;
};

// Lays out the engine's files (an 8 MiB data file and a 256 KiB hot file,
// after checking the free space for them and compaction's relocations), runs
// the workload for `duration_ns`, and closes the engine. An error before the
// workload starts (claim, free space, engine open, layout) is returned as
// such; failures during it are counted in the result.
Result<LoadgenResult> RunLoadgen(const LoadgenOptions& options);

}  // namespace ordo::lab
