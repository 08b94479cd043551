// The analyzer's state and rules, shared by its files: analyzer.cc (the
// public methods), rules.cc (the FPRE004 rules over access kinds),
// explain.cc (findings as text), pipeline.cc (AnalyzeTrace's streaming).
// Internal to analyze/.
#pragma once

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "ordo/analyze/analyzer.h"
#include "ordo/sched/step.h"

namespace ordo::analyze {

namespace analysis {

// Vector clocks and per-block slots live inside the block's hash-map entry
// (inline up to a few threads), so an event costs one cache miss for its
// block rather than one per vector.
using VC = absl::InlinedVector<uint32_t, 8>;
template <typename T>
using PerThread = absl::InlinedVector<std::pair<uint32_t, T>, 2>;

// One step of one thread, as far as ordering is concerned: x happens before
// a later point of thread u iff clock_u[x.thread] >= x.stamp.
struct Step {
  uint32_t thread = 0;  // dense index
  uint32_t stamp = 0;   // the thread's own clock component at the step
  uint64_t seq = 0;     // history index
};

// One occurrence of a rule, kept compact; its explanation is written only
// for the findings shown.
struct Instance {
  int rule = 0;           // 0: FPRE004-A, 1: FPRE004-B
  bool demand = false;    // A: cached by a read miss, not by prefetch
  bool observed = false;  // A: marked while the lock was visibly held
  bool closed = false;    // A: the write had unlocked; B: compaction had ended
  uint64_t block = 0;
  uint32_t first = 0, second = 0;  // dense threads: A writer, prefetcher; B compactor, reader
  uint64_t e[4] = {};  // A: lock, fill, mark, unlock; B: pending, ready read, pending read, ready
  bool manifested = false;
  uint64_t count = 1;
};

struct Mark {
  Step fill;
  Step mark;
  bool demand = false;  // a read miss cached it (fill and mark are one step)
};

// A thread's write region on an object: its acquire..release holding a
// write (from the acquire; the thread's holds are kept per thread). Kept
// small: the block state's first cache lines hold these.
struct WriteRegion {
  Step lock;
  Step unlock;
  // How its publish treats the cache: -1 not yet published, 0 replaces only a
  // buffer cached when the lock was taken, 1 replaces whatever is cached.
  // Read-miss fills inside the region are judged by it, so they wait until
  // the publish.
  int8_t replaces_any = -1;
  bool open = true;
  // The read-miss fills waiting for the publish (allocated only when there
  // is one: most regions have none).
  std::unique_ptr<std::vector<Instance>> waiting;
};

// A thread's update of an object's flags: its FLAG_SETs under one lock of the
// object (locked_by: the acquire's seq + 1; 0: not under a lock, an update
// of one step), first to last; open until the release.
struct Compaction {
  Step pending;  // the first set
  Step ready;    // the last set so far
  bool open = true;
  uint64_t locked_by = 0;
};

// A check: a thread's consecutive FLAG_READs of one object; the sites of its
// first and latest read, and the updates it may have torn, reported when the
// check ends unless it was validated (its last read at its first's site).
struct CheckPair {
  uint64_t block = 0;
  Step ready_read;   // its first read
  VC clock_at_read;  // the reader's clock at its first read
  uint32_t first_site = 0, last_site = 0;
  std::vector<Instance> torn;
};

// The live state of one block: the latest step of each kind per thread.
struct BlockState {
  VC lock_release;  // clock at its last unlock
  VC issued;        // clock at its last prefetch issue
  PerThread<WriteRegion> writes;
  PerThread<Mark> marks;
  PerThread<Compaction> compactions;
  bool has_latest[2] = {false, false};
  Instance latest[2];  // per rule, for read-verify failures on this block
};

template <typename T>
T* Find(PerThread<T>& v, uint32_t thread) {
  for (auto& [t, x] : v) {
    if (t == thread) return &x;
  }
  return nullptr;
}

template <typename T>
T& Slot(PerThread<T>& v, uint32_t thread) {
  for (auto& [t, x] : v) {
    if (t == thread) return x;
  }
  v.emplace_back(thread, T{});
  return v.back().second;
}

// Heap bytes of a vector clock (its inline entries count with their owner).
inline uint64_t HeapBytes(const VC& v) {
  return v.capacity() > 8 ? v.capacity() * sizeof(uint32_t) : 0;  // 8: VC's inline entries
}

}  // namespace analysis

using namespace analysis;  // NOLINT: this header is internal to analyze/

struct Analyzer::Impl {
  AnalyzerOptions options;
  uint64_t events = 0;
  Status status;
  int64_t clock_bytes = 0;  // heap bytes of every vector clock held

  // Runs `change` on `v`, keeping clock_bytes exact.
  template <typename F>
  void Clock(VC& v, F&& change) {
    const int64_t before = static_cast<int64_t>(HeapBytes(v));
    change(v);
    clock_bytes += static_cast<int64_t>(HeapBytes(v)) - before;
  }
  uint64_t MemoryBytes() const {
    constexpr uint64_t kPerThread = sizeof(VC) + sizeof(Step) + sizeof(CheckPair) + 32;
    return static_cast<uint64_t>(clock_bytes) + states.capacity() * sizeof(BlockState) +
           block_index.capacity() * (sizeof(std::pair<uint64_t, uint32_t>) + 1) +
           tids.capacity() * kPerThread;
  }
  // Sets status (once) when the history exceeds a limit.
  bool OverLimit() {
    if (tids.size() > options.max_threads) {
      status = Status::LimitExceeded(fmt::format(
          "history event #{} is of thread {}, more than the {} distinct threads the analysis "
          "accepts",
          events - 1, tids.back(), options.max_threads));
      return true;
    }
    if (MemoryBytes() > options.max_memory_bytes) {
      status = Status::LimitExceeded(fmt::format(
          "at history event #{} the analysis state ({} threads, {} blocks) needs more than its "
          "limit of {} MiB (vector clocks grow as threads x blocks)",
          events - 1, tids.size(), states.size(), options.max_memory_bytes >> 20));
      return true;
    }
    return false;
  }
  absl::flat_hash_map<uint32_t, uint32_t> dense;  // recorded tid -> index
  static constexpr uint32_t kSmallTids = 1024;
  std::vector<uint32_t> small_tids;  // tid < kSmallTids -> index + 1 (0: not seen)
  std::vector<uint32_t> tids;        // index -> recorded tid
  std::vector<VC> clock;             // per thread
  // Block key -> index into `states`: a small hash table (it stays in cache)
  // beside the states themselves. A reference into `states` lives until the
  // next new block.
  absl::flat_hash_map<uint64_t, uint32_t> block_index;
  std::vector<BlockState> states;

  BlockState& Block(uint64_t key) {
    auto [it, fresh] = block_index.try_emplace(key, static_cast<uint32_t>(states.size()));
    if (fresh) states.emplace_back();
    return states[it->second];
  }
  std::vector<Step> last_fill;  // per thread: its next mark pairs with it
  // Per thread: the objects it holds (acquired, not released), so that steps
  // outside any hold need not touch the object's state.
  std::vector<absl::InlinedVector<std::pair<uint64_t, Step>, 2>> held;
  // Where thread t acquired object b, if it holds it.
  const Step* HeldSince(uint32_t t, uint64_t b) const {
    for (const auto& [object, since] : held[t]) {
      if (object == b) return &since;
    }
    return nullptr;
  }
  std::vector<CheckPair> checks;  // per thread: its check in progress (when checking)
  std::vector<bool> checking;
  std::vector<Instance> shown;        // one per signature (deduplicated) or every instance
  int shown_index[3] = {-1, -1, -1};  // A by a fill, B, A by a read miss
  std::vector<Instance> closest[3];   // per signature, by span, distinct blocks
  // The history's site table: access kind by site id, in history order.
  std::array<std::atomic<uint8_t>, 0x8000> site_access{};  // access + 1; 0: no entry
  std::vector<uint8_t> legacy_access;  // by built-in engine kind (older histories)
  uint64_t unknown_site_events = 0;    // events of sites the history has no entry for

  static uint64_t Span(const Instance& in) {
    return in.e[1] > in.e[0] ? in.e[1] - in.e[0] : in.e[0] - in.e[1];
  }
  void KeepCandidate(const Instance& in) {
    const size_t k = options.candidates_per_signature;
    if (k == 0) return;
    auto& list = closest[Signature(in)];
    for (auto& c : list) {
      if (c.block != in.block) continue;
      if (Span(in) < Span(c)) c = in;
      std::stable_sort(list.begin(), list.end(),
                       [](const Instance& a, const Instance& b) { return Span(a) < Span(b); });
      return;
    }
    if (list.size() == k && Span(list.back()) <= Span(in)) return;
    if (list.size() == k) list.pop_back();
    auto at =
        std::upper_bound(list.begin(), list.end(), in,
                         [](const Instance& a, const Instance& b) { return Span(a) < Span(b); });
    list.insert(at, in);
  }

  static int Signature(const Instance& in) { return in.rule == 0 && in.demand ? 2 : in.rule; }

  uint32_t Thread(uint32_t tid) {
    // Small tids (a replay's scheduler indexes) skip the hash table.
    if (tid < small_tids.size() && small_tids[tid] != 0) return small_tids[tid] - 1;
    auto [it, fresh] = dense.try_emplace(tid, static_cast<uint32_t>(tids.size()));
    if (fresh && tid < kSmallTids) {
      if (small_tids.size() <= tid) small_tids.resize(tid + 1, 0);
      small_tids[tid] = it->second + 1;
    }
    if (fresh) {
      tids.push_back(tid);
      clock.emplace_back();
      last_fill.emplace_back();
      held.emplace_back();
      checks.emplace_back();
      checking.push_back(false);
    }
    return it->second;
  }
  void Join(VC& into, const VC& from) {
    if (into.size() < from.size()) Clock(into, [&](VC& v) { v.resize(from.size(), 0); });
    for (size_t i = 0; i < from.size(); ++i) into[i] = std::max(into[i], from[i]);
  }
  static uint32_t At(const VC& c, uint32_t t) { return t < c.size() ? c[t] : 0; }
  // Does `x` happen before the current point of thread t?
  bool Before(const Step& x, uint32_t t) const { return At(clock[t], x.thread) >= x.stamp; }

  void Report(BlockState& bs, const Instance& in) {
    bs.latest[in.rule] = in;
    bs.has_latest[in.rule] = true;
    KeepCandidate(in);
    int sig = Signature(in);
    if (options.deduplicate && shown_index[sig] >= 0) {
      ++shown[shown_index[sig]].count;
      return;
    }
    if (shown_index[sig] < 0) shown_index[sig] = static_cast<int>(shown.size());
    shown.push_back(in);
  }

  // A read-verify failure on the block: the rule's latest instance there
  // manifested, and becomes the example shown for the rule.
  void Manifested(BlockState& bs, int rule) {
    if (!bs.has_latest[rule]) return;
    Instance in = bs.latest[rule];
    in.manifested = true;
    int sig = Signature(in);
    if (shown_index[sig] < 0) {
      shown_index[sig] = static_cast<int>(shown.size());
      shown.push_back(in);
      return;
    }
    Instance& ex = shown[shown_index[sig]];
    if (!options.deduplicate) {
      for (auto& x : shown) {
        if (Signature(x) == sig && x.block == in.block) x.manifested = true;
      }
      return;
    }
    if (!ex.manifested) {
      in.count = ex.count;
      ex = in;
    }
  }

  std::string Where(uint64_t block) const;

  Finding Explain(const Instance& in) const;

  void StaleClean(BlockState& bs, uint64_t block, uint32_t w, WriteRegion& r, uint32_t p,
                  const Mark& m, bool observed);
  static constexpr size_t kMaxWaiting = 64;

  // The rules over access kinds (ordo/engine_abi.h), for engines loaded
  // through the engine ABI. FPRE004-A: a fill and mark-clean of an object
  // not ordered with another thread's acquire..write..release of it.
  // FPRE004-B: a thread's consecutive flag reads of an object not ordered
  // with another thread's flag update of it. Edges: release to the next
  // acquire, request to the next fill.
  void AddAccess(sched::Access access, uint32_t t, const Step& here, uint64_t b, uint32_t site,
                 uint64_t arg);

  // A later read of thread t's check on b: the updates of b by other threads
  // that had begun and had not ended before the check's first read.
  void TornBy(uint32_t t, const Step& here, uint64_t b);

  // Thread t's check ends (its next step is not a flag read of the object):
  // unless it re-read its first site last (validated), what it may have torn
  // is reported.
  void EndCheck(uint32_t t);
  // Ends every open check (the history is over).
  void EndChecks();

  void AddSite(const trace::SiteRecord& site);

  void Add(const trace::EngineRecord& e);
};

}  // namespace ordo::analyze
