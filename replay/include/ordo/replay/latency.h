// A latency histogram of fixed size: log-linear buckets (64 per power of
// two, ~1.1% relative error), so percentiles need no per-sample storage.
#pragma once

#include <array>
#include <cstdint>

namespace ordo::replay {

class LatencyHistogram {
 public:
  void Add(uint64_t ns);
  void Merge(const LatencyHistogram& other);
  uint64_t count() const { return count_; }
  // The value at quantile q in [0, 1], in nanoseconds (0 when empty).
  uint64_t Percentile(double q) const;
  uint64_t max() const { return max_; }

 private:
  static constexpr int kSub = 64;
  std::array<uint64_t, 64 * kSub> buckets_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace ordo::replay
