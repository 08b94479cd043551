#include "ordo/analyze/analyzer.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "ordo/engine/block_key.h"
#include "ordo/sched/step.h"
#include "ordo/trace/reader.h"

namespace ordo::analyze {

namespace {

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

struct Compaction {
  Step pending;  // "last write pending" set, "cache ready" cleared
  Step ready;    // "cache ready" set, "pending" cleared
  bool open = true;
  // Over access kinds: an update is the thread's flag sets under one lock of
  // the object (its acquire's seq + 1; 0: not under a lock), first to last.
  uint64_t locked_by = 0;
};

struct CheckPair {  // legacy verify order: "cache ready" read, then "pending"
  uint64_t block = 0;
  Step ready_read;
  VC clock_at_read;  // the reader's clock at its "cache ready" read
  // Over access kinds, a check is the thread's consecutive FLAG_READs of one
  // object: the sites of its first and latest read, and the updates it may
  // have torn, reported when the check ends unless it was validated.
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
uint64_t HeapBytes(const VC& v) {
  return v.capacity() > 8 ? v.capacity() * sizeof(uint32_t) : 0;  // 8: VC's inline entries
}

}  // namespace

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
  std::vector<Step> last_fill;    // per thread: its next mark pairs with it
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
  std::vector<CheckPair> checks;  // per thread: a "cache ready" read awaiting its "pending" read
  std::vector<bool> checking;
  // Per thread: its last step read "last write pending" of this block (+1; 0
  // none). A "cache ready" read right after it is the fixed order's second
  // read, not the first of a legacy pair, even when a retry follows.
  std::vector<Instance> shown;        // one per signature (deduplicated) or every instance
  int shown_index[3] = {-1, -1, -1};  // A by a fill, B, A by a read miss
  std::vector<Instance> closest[3];   // per signature, by span, distinct blocks
  // Sites of engines loaded through the engine ABI: access kind by site id
  // (written by the decoding thread before any event of the site).
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
    auto at = std::upper_bound(list.begin(), list.end(), in, [](const Instance& a, const Instance& b) {
      return Span(a) < Span(b);
    });
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

  std::string Where(uint64_t block) const {
    return fmt::format("block {} of file {} (offset {})", engine::BlockIndex(block),
                       engine::BlockFile(block),
                       uint64_t{engine::BlockIndex(block)} * options.block_size);
  }

  Finding Explain(const Instance& in) const {
    Finding f;
    f.block = in.block;
    f.file = engine::BlockFile(in.block);
    f.offset = uint64_t{engine::BlockIndex(in.block)} * options.block_size;
    f.manifested = in.manifested;
    f.count = in.count;
    f.span = Span(in);
    f.threads = {tids[in.first], tids[in.second]};
    if (in.rule == 0) {
      f.rule = "FPRE004-A";
      f.events = {in.e[0]};
      if (!in.demand) f.events.push_back(in.e[1]);  // a read miss fills and marks in one step
      f.events.push_back(in.e[2]);
      if (in.closed) f.events.push_back(in.e[3]);
      const std::string wrote = fmt::format("T{} acquired {} at #{} and wrote it", tids[in.first],
                                            Where(in.block), in.e[0]);
      const std::string when =
          in.observed ? fmt::format("while T{} held it", tids[in.first])
          : in.e[2] < in.e[0]
              ? fmt::format("before T{}'s acquire but not ordered before it", tids[in.first])
          : in.closed ? fmt::format("after T{}'s release at #{} but not ordered after it",
                                    tids[in.first], in.e[3])
                      : fmt::format("not ordered with T{}'s release", tids[in.first]);
      if (in.demand) {
        f.signature = "FPRE004-A:acquire|write|fill_clean|publish(0)";
        f.explanation = fmt::format(
            "{}; T{} missed the cache and cached the object's old data at #{} (fill_clean), {}; "
            "the write's publish replaced only a buffer cached when it took the lock (publish "
            "arg 0), so the old bytes stay cached under the new checksum: FPRE004-A (by a read "
            "miss)",
            wrote, tids[in.second], in.e[2], when);
      } else {
        f.signature = "FPRE004-A:acquire|write|fill|mark_clean|release";
        f.explanation = fmt::format(
            "{}; T{} filled a buffer from it at #{} and marked the buffer clean at #{}, {}; no "
            "release/acquire of the object (nor a request of the fill) orders the fill and the "
            "mark with the write, so the buffer can hold the data from before the write under the "
            "checksum from after it: FPRE004-A",
            wrote, tids[in.second], in.e[1], in.e[2], when);
      }
    } else {
      f.rule = "FPRE004-B";
      f.signature = "FPRE004-B:acquire|flag_set..flag_set|release><flag_read>flag_read";
      f.events = {in.e[0], in.e[1], in.e[2]};
      if (in.e[3] != in.e[0]) f.events.push_back(in.e[3]);
      f.explanation = fmt::format(
          "T{} updated the flags of {} under its lock from #{}{}; T{} read the object's flags at "
          "#{} and again at #{} in one check, without re-reading its first flag last (no "
          "sequence-lock validation); nothing orders the check with the update, so it can combine "
          "a flag from before the update with one from after it, a state that never existed: "
          "FPRE004-B",
          tids[in.first], Where(in.block), in.e[0],
          in.e[3] != in.e[0] ? fmt::format(" to #{}", in.e[3]) : std::string(), tids[in.second],
          in.e[1], in.e[2]);
    }
    std::sort(f.events.begin(), f.events.end());
    return f;
  }

  void StaleClean(BlockState& bs, uint64_t block, uint32_t w, WriteRegion& r, uint32_t p,
                  const Mark& m, bool observed) {
    Instance in;
    in.rule = 0;
    in.demand = m.demand;
    in.observed = observed;
    in.closed = !r.open;
    in.block = block;
    in.first = w;
    in.second = p;
    in.e[0] = r.lock.seq;
    in.e[1] = m.fill.seq;
    in.e[2] = m.mark.seq;
    in.e[3] = r.unlock.seq;
    if (!m.demand || r.replaces_any == 0) {
      Report(bs, in);
    } else if (r.replaces_any < 0) {
      if (!r.waiting) r.waiting = std::make_unique<std::vector<Instance>>();
      if (r.waiting->size() < kMaxWaiting) r.waiting->push_back(in);  // judged at the publish
    }
  }
  static constexpr size_t kMaxWaiting = 64;

  // The rules over access kinds (ordo/engine_abi.h), for engines loaded
  // through the engine ABI. FPRE004-A: a fill and mark-clean of an object
  // not ordered with another thread's acquire..write..release of it.
  // FPRE004-B: a thread's consecutive flag reads of an object not ordered
  // with another thread's flag update of it. Edges: release to the next
  // acquire, request to the next fill.
  void AddAccess(sched::Access access, uint32_t t, const Step& here, uint64_t b, uint32_t site,
                 uint64_t arg) {
    using A = sched::Access;
    VC& vc = clock[t];
    if (checking[t] && (access != A::kFlagRead || checks[t].block != b)) EndCheck(t);
    switch (access) {
      case A::kAcquire: {
        if (HeldSince(t, b) == nullptr && held[t].size() < 64) held[t].push_back({b, here});
        Join(vc, Block(b).lock_release);
        break;
      }
      case A::kWrite: {
        // Only a write inside the thread's acquire..release of the object
        // counts (a write announced outside one, such as a request boundary
        // announced for the scheduler, is not a region).
        const Step* since = HeldSince(t, b);
        if (since == nullptr) break;
        BlockState& bs = Block(b);
        WriteRegion* last = Find(bs.writes, t);
        if (last != nullptr && last->open) break;  // the same region
        WriteRegion r;
        r.lock = *since;
        // The marks not ordered before the write: made before the acquire,
        // or while the lock was held (observed).
        for (auto& [mt, m] : bs.marks) {
          if (mt != t && !Before(m.mark, t)) StaleClean(bs, b, t, r, mt, m, m.mark.seq > since->seq);
        }
        Slot(bs.writes, t) = std::move(r);
        break;
      }
      case A::kPublish: {
        BlockState& bs = Block(b);
        WriteRegion* r = Find(bs.writes, t);
        if (r == nullptr || !r->open) break;
        r->replaces_any = (arg & sched::kPublishReplacesAny) != 0 ? 1 : 0;
        if (r->replaces_any == 0 && r->waiting) {
          for (Instance& in : *r->waiting) Report(bs, in);
        }
        r->waiting.reset();
        break;
      }
      case A::kRelease: {
        for (auto h = held[t].begin(); h != held[t].end(); ++h) {
          if (h->first == b) {
            held[t].erase(h);
            break;
          }
        }
        BlockState& bs = Block(b);
        Clock(bs.lock_release, [&](VC& v) { v = vc; });
        if (WriteRegion* r = Find(bs.writes, t); r != nullptr && r->open) {
          r->open = false;
          r->unlock = here;
        }
        if (Compaction* c = Find(bs.compactions, t)) c->open = false;
        break;
      }
      case A::kRequest:
        Clock(Block(b).issued, [&](VC& v) { v = vc; });
        break;
      case A::kFill:
        Join(vc, Block(b).issued);
        last_fill[t] = here;
        break;
      case A::kMarkClean:
      case A::kFillClean: {
        BlockState& bs = Block(b);
        const bool demand = access == A::kFillClean;
        Mark m{demand ? here : last_fill[t], here, demand};
        for (auto& [wt, r] : bs.writes) {
          if (wt == t) continue;
          // Held again, not yet written: that write judges this mark (its
          // region replaces this one).
          if (!r.open && HeldSince(wt, b) != nullptr) continue;
          if (r.open) {
            StaleClean(bs, b, wt, r, t, m, true);
          } else if (!Before(r.unlock, t)) {
            StaleClean(bs, b, wt, r, t, m, false);
          }
        }
        Slot(bs.marks, t) = m;
        break;
      }
      case A::kFlagSet: {
        const Step* since = HeldSince(t, b);
        Compaction& c = Slot(Block(b).compactions, t);
        if (since != nullptr && c.open && c.locked_by == since->seq + 1) {
          c.ready = here;  // the update goes on under the same lock
        } else {
          c = Compaction{};
          c.pending = c.ready = here;
          c.open = since != nullptr;  // unlocked: an update of one step
          c.locked_by = c.open ? since->seq + 1 : 0;
        }
        break;
      }
      case A::kFlagRead: {
        CheckPair& ck = checks[t];
        if (!checking[t]) {
          ck.block = b;
          ck.ready_read = here;
          ck.first_site = site;
          ck.torn.clear();
          Clock(ck.clock_at_read, [&](VC& v) { v.assign(vc.begin(), vc.end()); });
          checking[t] = true;
        } else {
          TornBy(t, here, b);
        }
        ck.last_site = site;
        break;
      }
      case A::kVerifyFail:
        Manifested(Block(b), arg == sched::kFailFlags ? 1 : 0);
        break;
      default:
        break;
    }
  }

  // A later read of thread t's check on b: the updates of b by other threads
  // that had begun and had not ended before the check's first read.
  void TornBy(uint32_t t, const Step& here, uint64_t b) {
    CheckPair& ck = checks[t];
    BlockState& bs = Block(b);
    for (auto& [ct, c] : bs.compactions) {
      if (ct == t) continue;
      bool ended_before = !c.open && At(ck.clock_at_read, c.ready.thread) >= c.ready.stamp;
      if (ended_before) continue;
      bool known = false;
      for (const Instance& x : ck.torn) known |= x.first == ct && x.e[0] == c.pending.seq;
      if (known || ck.torn.size() >= kMaxWaiting) continue;
      Instance in;
      in.rule = 1;
      in.closed = !c.open;
      in.block = b;
      in.first = ct;
      in.second = t;
      in.e[0] = c.pending.seq;
      in.e[1] = ck.ready_read.seq;
      in.e[2] = here.seq;
      in.e[3] = c.ready.seq;
      ck.torn.push_back(in);
    }
  }

  // Thread t's check ends (its next step is not a flag read of the object):
  // unless it re-read its first site last (validated), what it may have torn
  // is reported.
  void EndCheck(uint32_t t) {
    checking[t] = false;
    CheckPair& ck = checks[t];
    if (ck.torn.empty()) return;
    if (ck.last_site != ck.first_site) {
      BlockState& bs = Block(ck.block);
      for (const Instance& in : ck.torn) Report(bs, in);
    }
    ck.torn.clear();
  }
  // Ends every open check (the history is over).
  void EndChecks() {
    for (uint32_t t = 0; t < checking.size(); ++t) {
      if (checking[t]) EndCheck(t);
    }
  }

  void AddSite(const trace::SiteRecord& site) {
    // Stored as access + 1: 0 means the history has no entry for the site.
    if (site.site < site_access.size())
      site_access[site.site].store(static_cast<uint8_t>(site.access + 1), std::memory_order_relaxed);
  }

  void Add(const trace::EngineRecord& e) {
    if (!status.ok()) return;
    ++events;
    uint32_t t = Thread(e.tid);
    if (OverLimit()) return;
    VC& vc = clock[t];
    if (vc.size() <= t) Clock(vc, [&](VC& v) { v.resize(t + 1, 0); });
    ++vc[t];
    Step here{t, vc[t], e.seq};
    uint32_t site = 0;
    uint8_t access = 0;
    if (trace::IsSiteEvent(e.kind)) {
      site = e.kind - trace::kSiteEventBase;
      const uint8_t stored = site_access[site].load(std::memory_order_relaxed);
      if (stored == 0) ++unknown_site_events;  // judged as no access
      access = stored > 0 ? static_cast<uint8_t>(stored - 1) : 0;
    } else {
      // The built-in engine's kinds, from histories written before site
      // tables: as its sites (trace::EngineKindSites()), in ids of their own.
      site = 0x10000u + e.kind;
      access = e.kind < legacy_access.size() ? legacy_access[e.kind] : 0;
    }
    AddAccess(static_cast<sched::Access>(access), t, here, e.block, site, e.arg);
  }
};

Analyzer::Analyzer(const AnalyzerOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  for (const trace::SiteRecord& site : trace::EngineKindSites()) {
    impl_->legacy_access.push_back(site.access);  // site k + 1 is kind k
  }
}
Analyzer::~Analyzer() = default;
void Analyzer::Add(const trace::EngineRecord& event) { impl_->Add(event); }
void Analyzer::AddSite(const trace::SiteRecord& site) { impl_->AddSite(site); }
void Analyzer::Prefetch(uint64_t block, bool state) const {
  if (!state) {
    impl_->block_index.prefetch(block);
    return;
  }
  auto it = impl_->block_index.find(block);
  if (it == impl_->block_index.end()) return;
  const char* p = reinterpret_cast<const char*>(&impl_->states[it->second]);
  // The first four lines: the clocks and the write slots most events touch
  // (measured: 4 lines beat the whole state, whose prefetches queue up).
  for (size_t off = 0; off < 256; off += 64) __builtin_prefetch(p + off);
}
std::vector<Finding> Analyzer::Findings() const {
  impl_->EndChecks();  // a check still open at the end counts as ended
  std::vector<Finding> out;
  for (const auto& in : impl_->shown) out.push_back(impl_->Explain(in));
  return out;
}
std::vector<Finding> Analyzer::Candidates() const {
  impl_->EndChecks();
  std::vector<Finding> out;
  for (const auto& list : impl_->closest) {
    for (const auto& in : list) out.push_back(impl_->Explain(in));
  }
  return out;
}
uint64_t Analyzer::events() const { return impl_->events; }
uint64_t Analyzer::unknown_site_events() const { return impl_->unknown_site_events; }
const Status& Analyzer::status() const { return impl_->status; }
uint64_t Analyzer::memory_bytes() const { return impl_->MemoryBytes(); }

namespace {

// Engine events handed from the decoding thread to the analyzing one, in
// batches; at most kBatches of them exist, so memory stays bounded.
class EventPipe {
 public:
  static constexpr size_t kBatch = 4096;
  static constexpr size_t kBatches = 4;
  // An engine event, or a site table entry (site: block = id, arg =
  // access), in history order: a site judges only the events after it.
  struct Item {
    trace::EngineRecord event;
    bool site = false;
  };
  using Batch = std::vector<Item>;

  EventPipe() {
    for (size_t i = 0; i < kBatches; ++i) empty_.emplace_back().reserve(kBatch);
  }
  // Producer: an empty batch to fill (waits while all are in use).
  Batch TakeEmpty() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !empty_.empty(); });
    Batch b = std::move(empty_.back());
    empty_.pop_back();
    b.clear();
    return b;
  }
  void PutFull(Batch b, bool last) {
    std::lock_guard<std::mutex> lock(mu_);
    full_.push_back(std::move(b));
    done_ = last;
    cv_.notify_all();
  }
  // Consumer: the next filled batch; false once the producer is done and all are taken.
  bool TakeFull(Batch* b) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || done_; });
    if (full_.empty()) return false;
    *b = std::move(full_.front());
    full_.pop_front();
    return true;
  }
  void GiveBack(Batch b) {
    std::lock_guard<std::mutex> lock(mu_);
    empty_.push_back(std::move(b));
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Batch> empty_;
  std::deque<Batch> full_;
  bool done_ = false;
};

}  // namespace

Result<AnalyzeResult> AnalyzeTrace(const std::string& path, const AnalyzerOptions& options) {
  auto reader = trace::TraceReader::Open(path);
  if (!reader.ok()) return reader.status();
  auto t0 = std::chrono::steady_clock::now();
  Analyzer a(options);
  AnalyzeResult res;
  res.header = (*reader)->header();
  // Decoding runs on its own thread, a few batches ahead of the analysis.
  EventPipe pipe;
  std::thread decoder([&] {
    EventPipe::Batch b = pipe.TakeEmpty();
    trace::Record r;
    while ((*reader)->Next(&r)) {
      ++res.records;
      if (r.kind == trace::RecordKind::kSite) {
        EventPipe::Item site;
        site.site = true;
        site.event.block = r.site.site;
        site.event.arg = r.site.access;
        b.push_back(site);
      } else if (r.kind == trace::RecordKind::kEngine) {
        b.push_back(EventPipe::Item{r.engine, false});
      } else {
        continue;
      }
      if (b.size() == EventPipe::kBatch) {
        pipe.PutFull(std::move(b), false);
        b = pipe.TakeEmpty();
      }
    }
    pipe.PutFull(std::move(b), true);
  });
  // Within a batch, the block state each event will touch is prefetched
  // kAhead events before it, in two stages: its hash slot at kAhead, the
  // state itself at kAhead / 2.
  constexpr size_t kAhead = 16;
  EventPipe::Batch b;
  while (pipe.TakeFull(&b)) {
    for (size_t i = 0; i < b.size(); ++i) {
      if (i + kAhead < b.size()) a.Prefetch(b[i + kAhead].event.block, false);
      if (i + kAhead / 2 < b.size()) a.Prefetch(b[i + kAhead / 2].event.block, true);
      if (b[i].site) {
        a.AddSite(trace::SiteRecord{static_cast<uint32_t>(b[i].event.block),
                                    static_cast<uint8_t>(b[i].event.arg), ""});
      } else {
        a.Add(b[i].event);
      }
    }
    pipe.GiveBack(std::move(b));
  }
  decoder.join();
  if (!(*reader)->status().ok()) return (*reader)->status();
  if (!a.status().ok()) return a.status().WithContext(path).WithFile(path);
  res.findings = a.Findings();
  if (options.candidates_per_signature > 0) res.candidates = a.Candidates();
  res.events = a.events();
  res.unknown_site_events = a.unknown_site_events();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace ordo::analyze
