// Loadgen's workload (loadgen.h): the layout, the threads and their pacing.
#include "ordo/lab/loadgen.h"

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "load_target.h"
#include "ordo/replay/target_claim.h"

namespace ordo::lab {

namespace {

// What loadgen lays out (an 8 MiB data file and a 256 KiB hot file), with
// room for compaction's relocations and the journal: checked before writing.
constexpr uint64_t kLoadgenBlocks = 2048, kLoadgenHotBlocks = 64, kBlockSize = 4096;
constexpr uint64_t kLoadgenBytes = 4 * (kLoadgenBlocks + kLoadgenHotBlocks) * kBlockSize;

// Paces one thread at `per_s` requests per second by absolute deadlines (no
// drift); free-running when per_s is 0.
class Pacer {
 public:
  explicit Pacer(double per_s)
      : period_(per_s > 0 ? std::chrono::nanoseconds(static_cast<int64_t>(1e9 / per_s))
                          : std::chrono::nanoseconds(0)),
        next_(std::chrono::steady_clock::now()) {}
  void Wait() {
    if (period_.count() == 0) return;
    next_ += period_;
    std::this_thread::sleep_until(next_);
  }

 private:
  std::chrono::nanoseconds period_;
  std::chrono::steady_clock::time_point next_;
};

// The workload's threads over one engine, and what they count.
class Workload {
 public:
  Workload(LoadTarget* eng, const LoadgenOptions& c)
      : eng_(*eng), c_(c), per_thread_(c.rate / (c.readers + 2)) {}

  // Runs every thread for `duration_ns`, then fills the counts of `result`.
  void Run(LoadgenResult* result) {
    std::vector<std::thread> threads;
    for (int r = 0; r < c_.readers; ++r) threads.emplace_back([this, r] { BurstReader(r); });
    threads.emplace_back([this] { HotReader(); });
    threads.emplace_back([this] { Writer(); });
    std::this_thread::sleep_for(std::chrono::nanoseconds(c_.duration_ns));
    done_ = true;
    for (auto& t : threads) t.join();
    result->reads = reads_.load();
    result->writes = writes_.load();
    result->verify_failures = failures_.load();
    result->errors = errors_.load();
    result->first_failure = first_failure_;
  }

 private:
  void Note(const Status& s) {
    if (eng_.IsReadVerifyFailure(s)) {
      if (failures_++ == 0) {
        std::lock_guard<std::mutex> lock(mu_);
        first_failure_ = s.message();
      }
    } else if (!s.ok()) {
      ++errors_;
    }
  }

  // Burst reads: start mid-block, run across blocks.
  void BurstReader(int r) {
    const uint64_t bs = kBlockSize, blocks = kLoadgenBlocks;
    std::mt19937_64 rng(c_.seed * 100 + r);
    std::string out;
    Pacer pace(per_thread_);
    while (!done_) {
      uint64_t off = (rng() % (blocks - 40)) * bs + 1 + rng() % (bs - 1);
      uint64_t len = 5000 + rng() % 7000;
      for (int i = 0; i < 12 && !done_; ++i, off += len) {
        pace.Wait();
        Note(eng_.Read("data", off, len, &out));
        ++reads_;
      }
    }
  }

  // Targeted reads of the hot file.
  void HotReader() {
    const uint64_t bs = kBlockSize;
    std::mt19937_64 rng(c_.seed * 100 + 50);
    std::string out;
    Pacer pace(per_thread_);
    while (!done_) {
      pace.Wait();
      Note(eng_.Read("hot", (rng() % 63) * bs + rng() % bs, 3000, &out));
      ++reads_;
      if (per_thread_ == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  // Writes with an fsync every 32.
  void Writer() {
    const uint64_t bs = kBlockSize, blocks = kLoadgenBlocks;
    std::mt19937_64 rng(c_.seed * 100 + 60);
    std::string buf(8192, 'w');
    Pacer pace(per_thread_);
    for (uint64_t i = 0; !done_; ++i) {
      pace.Wait();
      for (auto& ch : buf) ch = static_cast<char>(rng());
      bool hot = rng() % 8 == 0;
      Note(eng_.Write(hot ? "hot" : "data", (rng() % (hot ? 62 : blocks - 4)) * bs + rng() % bs,
                      buf));
      ++writes_;
      if (i % 32 == 31) Note(eng_.Fsync("data"));
    }
  }

  LoadTarget& eng_;
  const LoadgenOptions& c_;
  const double per_thread_;  // requests per second of each thread
  std::atomic<bool> done_{false};
  std::atomic<uint64_t> reads_{0}, writes_{0}, failures_{0}, errors_{0};
  std::mutex mu_;
  std::string first_failure_;  // guarded by mu_
};

// The data file and the hot file, written and synced before the workload.
Status LayOut(LoadTarget& eng) {
  const uint64_t bs = kBlockSize, blocks = kLoadgenBlocks;
  std::string fill(blocks * bs, 'd');
  for (uint64_t i = 0; i < fill.size(); ++i) fill[i] = static_cast<char>(i * 131 + (i >> 12));
  ORDO_RETURN_IF_ERROR(eng.Write("data", 0, fill));
  ORDO_RETURN_IF_ERROR(eng.Write("hot", 0, fill.substr(0, kLoadgenHotBlocks * bs)));
  return eng.Fsync("data");
}

}  // namespace

Result<LoadgenResult> RunLoadgen(const LoadgenOptions& c) {
  if (c.readers < 1) {
    return Status::InvalidArgument(
        fmt::format("loadgen: {} burst reader threads; at least 1 is needed", c.readers));
  }
  // The same claim as a replay target: locked while loadgen runs, never a
  // symlink, never a directory ordo did not make (unless `force`).
  auto claim = replay::ClaimTarget(c.target, c.force);
  if (!claim.ok()) return claim.status();
  ORDO_RETURN_IF_ERROR(replay::CheckFreeSpace(c.target, kLoadgenBytes));
  auto e = LoadTarget::Open(c);
  if (!e.ok()) return e.status();
  LoadTarget& eng = **e;
  ORDO_RETURN_IF_ERROR(LayOut(eng));
  LoadgenResult result;
  Workload(&eng, c).Run(&result);
  eng.Background(&result);
  result.closed = eng.Close();
  return result;
}

}  // namespace ordo::lab
