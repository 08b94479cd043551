#include "ordo/replay/latency.h"

#include <algorithm>
#include <bit>

namespace ordo::replay {

namespace {
// Bucket index: values below kSub are exact; above, 64 linear steps per power of two.
int Bucket(uint64_t v) {
  if (v < 64) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);  // >= 6
  int shift = msb - 6;
  return (shift + 1) * 64 + static_cast<int>((v >> shift) & 63);
}
uint64_t BucketValue(int b) {
  if (b < 64) return static_cast<uint64_t>(b);
  int shift = b / 64 - 1;
  return ((64 + static_cast<uint64_t>(b % 64)) << shift) + ((uint64_t{1} << shift) >> 1);
}
}  // namespace

void LatencyHistogram::Add(uint64_t ns) {
  ++buckets_[std::min<int>(Bucket(ns), static_cast<int>(buckets_.size()) - 1)];
  ++count_;
  max_ = std::max(max_, ns);
}

void LatencyHistogram::Merge(const LatencyHistogram& o) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  max_ = std::max(max_, o.max_);
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(BucketValue(static_cast<int>(i)), max_);
  }
  return max_;
}

}  // namespace ordo::replay
