// The analyzer's state, shared by its files: analyzer.cc (the public
// methods), steps.cc (each event as its site's access kind: the
// happens-before edges, then the rules that watch that kind), rule.h and
// rule_*.cc (the rules), explain.cc (findings as text), pipeline.cc
// (AnalyzeTrace's streaming). Internal to analyze/.
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
#include "ordo/analyze/rules.h"
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

// What findings are deduplicated by: one signature each. Candidates() lists
// them in this order.
enum class Pattern : uint8_t {
  kStaleFill = 0,      // FPRE004-A: a fill and a mark-clean
  kTornFlags = 1,      // FPRE004-B
  kStaleReadMiss = 2,  // FPRE004-A: a read miss cached the object (fill_clean)
  kRace = 3,           // RACE: a write-like and a read-like access unordered
};
inline constexpr size_t kPatternCount = 4;

// One occurrence of a rule, kept compact; its explanation is written only
// for the findings shown.
struct Instance {
  RuleId rule = RuleId::kFpre004A;
  Pattern pattern = Pattern::kStaleFill;
  bool demand = false;    // A: cached by a read miss, not by prefetch
  bool observed = false;  // A: marked while the lock was visibly held
  bool closed = false;    // A: the write had unlocked; B: compaction had ended
  uint64_t block = 0;
  uint32_t first = 0, second = 0;  // dense threads: A writer, prefetcher; B compactor, reader
  uint64_t e[4] = {};  // A: lock, fill, mark, unlock; B: pending, ready read, pending read, ready
  bool manifested = false;
  uint64_t count = 1;
  uint32_t sites[2] = {};  // RACE: the sites of e[0]'s and e[1]'s steps
};

// A thread's latest access of one kind (write-like or read-like) to an
// object: what RACE pairs and a failure's causal slice are made of.
struct AccessAt {
  Step step;
  uint32_t site = 0;
  sched::Access access = sched::Access::kNone;
  bool locked = false;  // taken while the thread held the object's lock
};

// A verify failure no rule explained: the failing step and its causal slice
// (the object's last write-like accesses before it, and the pairs of its
// accesses that no happens-before edge ordered).
struct Unexplained {
  uint64_t block = 0;
  uint64_t arg = 0;
  AccessAt failing;
  std::vector<AccessAt> writes;     // each thread's latest write-like access, by seq
  std::vector<Instance> unordered;  // RACE pairs on the object, latest first
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
  bool has_latest[kRuleCount] = {};
  Instance latest[kRuleCount];  // per rule, for read-verify failures on this block
  // Each thread's latest write-like and read-like access (RACE, failure slices).
  PerThread<AccessAt> last_write;
  PerThread<AccessAt> last_read;
  // The latest unordered pairs on the object (allocated at the first one).
  std::unique_ptr<std::vector<Instance>> unordered;
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

struct BlockState;

// One step of a history as the analysis dispatches it: thread `thread`'s
// step `here` of kind `access` on object `block`, at `site`, with the
// engine's `arg`. `state` caches the block's state once looked up (see
// Analysis::State): valid while this step is dispatched.
struct StepEvent {
  sched::Access access = sched::Access::kNone;
  uint32_t thread = 0;
  Step here;
  uint64_t block = 0;
  uint32_t site = 0;
  uint64_t arg = 0;
  BlockState* state = nullptr;
};

}  // namespace analysis

using namespace analysis;  // NOLINT: this header is internal to analyze/

class Rule;

// The state of one analysis (Analyzer::Impl is this): threads, clocks, block
// states, the rules run and what they reported.
struct Analysis {
  explicit Analysis(const AnalyzerOptions& o);
  ~Analysis();

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
  bool OverLimit();

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
  // The state of the step's block, looked up once per step.
  BlockState& State(StepEvent& e) {
    if (e.state == nullptr) e.state = &Block(e.block);
    return *e.state;
  }
  std::vector<Step> last_fill;  // per thread: its latest fill (a mark pairs with it)
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

  // The rules run (options.rules), by id (null: not selected); which of them
  // watch each access kind, and which follow each thread's next step.
  std::unique_ptr<Rule> rules[kRuleCount];
  std::array<uint8_t, 256> watchers{};  // access -> bit per rule id
  std::vector<uint8_t> followers;       // per thread: bit per rule id
  // Thread t's next step (whatever its kind) goes to `rule` first, once.
  void Follow(uint32_t t, RuleId rule) { followers[t] |= uint8_t(1u << static_cast<int>(rule)); }

  std::vector<Instance> shown;  // one per signature (deduplicated) or every instance
  int shown_index[kPatternCount] = {-1, -1, -1, -1};
  // Verify failures no rule explained (the first kMaxUnexplained), and how many.
  static constexpr size_t kMaxUnexplained = 8;
  static constexpr size_t kMaxUnorderedPerObject = 4;
  // Site names from the history's site table (for explanations).
  absl::flat_hash_map<uint32_t, std::string> site_names;
  // The built-in engine's write_begin site (a request start, see Conflicts):
  // its kind's id in older histories, its table entry's in newer ones.
  uint32_t write_begin_site = 0x10000u + static_cast<uint32_t>(trace::EngineEventKind::kWriteBegin);
  std::string SiteName(uint32_t site) const;
  std::vector<Unexplained> unexplained;
  uint64_t unexplained_count = 0;
  bool manifested_now = false;                   // the step being dispatched manifested a rule
  std::vector<Instance> closest[kPatternCount];  // per signature, by span, distinct blocks
  // The history's site table: access kind by site id, in history order.
  std::array<std::atomic<uint8_t>, 0x8000> site_access{};  // access + 1; 0: no entry
  std::vector<uint8_t> legacy_access;  // by built-in engine kind (older histories)
  uint64_t unknown_site_events = 0;    // events of sites the history has no entry for

  static uint64_t Span(const Instance& in) {
    return in.e[1] > in.e[0] ? in.e[1] - in.e[0] : in.e[0] - in.e[1];
  }
  void KeepCandidate(const Instance& in);
  static size_t Signature(const Instance& in) { return static_cast<size_t>(in.pattern); }

  uint32_t Thread(uint32_t tid);
  void Join(VC& into, const VC& from) {
    if (into.size() < from.size()) Clock(into, [&](VC& v) { v.resize(from.size(), 0); });
    for (size_t i = 0; i < from.size(); ++i) into[i] = std::max(into[i], from[i]);
  }
  static uint32_t At(const VC& c, uint32_t t) { return t < c.size() ? c[t] : 0; }
  // Does `x` happen before the current point of thread t?
  bool Before(const Step& x, uint32_t t) const { return At(clock[t], x.thread) >= x.stamp; }

  // An occurrence a rule found: kept per signature (and as a candidate).
  void Report(BlockState& bs, const Instance& in);
  // A read-verify failure on the block: the rule's latest instance there
  // manifested, and becomes the example shown for the rule.
  void Manifested(BlockState& bs, RuleId rule);
  // Each thread's latest accesses of the object (RACE's pairs), after edges.
  void Conflicts(StepEvent& e);
  // A verify failure that no rule manifested: RACE's latest pair on the
  // object if it has one, else an Unexplained record.
  void FailureUnexplained(StepEvent& e);
  // At Finish: a failure whose object's unordered pair completed after it
  // (the failing thread's step first) is RACE's, manifested.
  void ResolveUnexplained();

  std::string Where(uint64_t block) const;
  Finding Explain(const Instance& in) const;
  Finding Explain(const Unexplained& u) const;

  // The history is over (for now): each rule judges what it still holds open.
  void Finish();

  void AddSite(const trace::SiteRecord& site);
  void Add(const trace::EngineRecord& e);
  // The step's happens-before edges: program order is applied by Add; here a
  // release to the next acquire of the object, a request to the next fill.
  void Edges(StepEvent& e);
};

}  // namespace ordo::analyze
