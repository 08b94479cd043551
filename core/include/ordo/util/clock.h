// The one monotonic clock read of ordo: CLOCK_MONOTONIC in nanoseconds, the
// clock the kernel's bpf_ktime_get_ns() and capture's records use, so a
// capture's times, a replay's and an engine history's are on one axis.
#pragma once

#include <time.h>

#include <cstdint>

namespace ordo::util {

// Nanoseconds since boot (CLOCK_MONOTONIC). Thread-safe; ~20 ns (vDSO).
inline uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace ordo::util
