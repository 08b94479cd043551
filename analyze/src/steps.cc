// Every event of a history, as its site's access kind: program order and the
// happens-before edges update the vector clocks, then the rules that watch
// the kind (rule.h) judge the step and report the occurrences it completes.
#include "analysis.h"
#include "ordo/trace/record.h"
#include "rule.h"

namespace ordo::analyze {

Analysis::Analysis(const AnalyzerOptions& o) : options(o) {
  for (const trace::SiteRecord& site : trace::EngineKindSites()) {
    legacy_access.push_back(site.access);  // site k + 1 is kind k
  }
  if (options.rules.empty()) {
    status = Status::InvalidArgument("no rule selected: the analysis needs at least one rule");
    return;
  }
  for (size_t i = 0; i < kRuleCount; ++i) {
    const RuleId id = static_cast<RuleId>(i);
    if (!options.rules.Has(id)) continue;
    rules[i] = MakeRule(id, *this);
    const uint32_t watches = rules[i]->Watches();
    for (size_t access = 0; access < 32; ++access) {
      if ((watches >> access) & 1) watchers[access] |= static_cast<uint8_t>(1u << i);
    }
  }
}

Analysis::~Analysis() = default;

bool Analysis::OverLimit() {
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

uint32_t Analysis::Thread(uint32_t tid) {
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
    followers.push_back(0);
  }
  return it->second;
}

void Analysis::KeepCandidate(const Instance& in) {
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

void Analysis::Report(BlockState& bs, const Instance& in) {
  const auto rule = static_cast<size_t>(in.rule);
  bs.latest[rule] = in;
  bs.has_latest[rule] = true;
  KeepCandidate(in);
  const size_t sig = Signature(in);
  if (options.deduplicate && shown_index[sig] >= 0) {
    ++shown[shown_index[sig]].count;
    return;
  }
  if (shown_index[sig] < 0) shown_index[sig] = static_cast<int>(shown.size());
  shown.push_back(in);
}

void Analysis::Manifested(BlockState& bs, RuleId rule) {
  if (!bs.has_latest[static_cast<size_t>(rule)]) return;
  manifested_now = true;
  Instance in = bs.latest[static_cast<size_t>(rule)];
  in.manifested = true;
  const size_t sig = Signature(in);
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

void Analysis::Finish() {
  for (auto& rule : rules) {
    if (rule) rule->Finish();
  }
  ResolveUnexplained();
}

void Analysis::ResolveUnexplained() {
  // A failure's race may complete after it: the failing thread's read went
  // first and the write it missed came later (a torn persist). Such a pair,
  // of the failing thread's step at or before the failure, explains it.
  const bool race = rules[static_cast<size_t>(RuleId::kRace)] != nullptr;
  for (auto u = unexplained.begin(); u != unexplained.end();) {
    auto at = block_index.find(u->block);
    const Instance* cause = nullptr;
    if (at != block_index.end() && states[at->second].unordered) {
      for (const Instance& in : *states[at->second].unordered) {
        const bool mine = (in.first == u->failing.step.thread && in.e[0] <= u->failing.step.seq) ||
                          (in.second == u->failing.step.thread && in.e[1] <= u->failing.step.seq);
        if (!mine) continue;
        if (std::none_of(u->unordered.begin(), u->unordered.end(),
                         [&](const Instance& y) { return y.e[0] == in.e[0] && y.e[1] == in.e[1]; }))
          u->unordered.push_back(in);
        if (cause == nullptr) cause = &in;
      }
    }
    if (!race || cause == nullptr) {
      ++u;
      continue;
    }
    Instance in = *cause;
    in.manifested = true;
    const size_t sig = Signature(in);
    if (shown_index[sig] < 0 || !options.deduplicate) {
      if (shown_index[sig] < 0) shown_index[sig] = static_cast<int>(shown.size());
      shown.push_back(in);
    } else if (!shown[shown_index[sig]].manifested) {
      in.count = shown[shown_index[sig]].count;
      shown[shown_index[sig]] = in;
    }
    --unexplained_count;
    u = unexplained.erase(u);
  }
}

void Analysis::Conflicts(StepEvent& e) {
  using A = sched::Access;
  const bool writes = e.access == A::kWrite || e.access == A::kPublish || e.access == A::kFlagSet;
  // A verify checks what its thread read before it: its reads are the
  // accesses that race, so it is not one itself.
  const bool reads = e.access == A::kRead || e.access == A::kFill || e.access == A::kFillClean ||
                     e.access == A::kFlagRead;
  if (!writes && !reads) return;
  // The built-in engine announces the start of a write request as a WRITE of
  // its first block, before it takes any lock (the scheduler counts it as a
  // write); its data is written later, inside the lock. Not a data write.
  if (writes && e.site == write_begin_site) return;
  BlockState& bs = State(e);
  const uint32_t t = e.thread;
  // The other kind's latest accesses by other threads that do not happen
  // before this step: each is a pair either order of which a run may take.
  // A write taken inside the writer's lock of the object is judged by the
  // lock discipline (FPRE004-A's and -B's shapes): RACE pairs the writes an
  // engine makes outside it (a second persist step, an eviction, a flag
  // cleared by another thread) with the reads they can tear.
  const bool locked = HeldSince(t, e.block) != nullptr;
  if (writes && locked) {
    Slot(bs.last_write, t) = AccessAt{e.here, e.site, e.access, true};
    return;
  }
  for (const auto& [u, x] : writes ? bs.last_read : bs.last_write) {
    if (u == t || (reads && x.locked) || Before(x.step, t)) continue;
    Instance in;
    in.rule = RuleId::kRace;
    in.pattern = Pattern::kRace;
    in.block = e.block;
    in.first = u;
    in.second = t;
    in.e[0] = x.step.seq;
    in.e[1] = e.here.seq;
    in.e[2] = static_cast<uint64_t>(x.access);
    in.e[3] = static_cast<uint64_t>(e.access);
    in.sites[0] = x.site;
    in.sites[1] = e.site;
    if (!bs.unordered) bs.unordered = std::make_unique<std::vector<Instance>>();
    auto& list = *bs.unordered;
    auto same = [&](const Instance& y) {
      return y.first == in.first && y.second == in.second && y.sites[0] == in.sites[0] &&
             y.sites[1] == in.sites[1];
    };
    auto it = std::find_if(list.begin(), list.end(), same);
    if (it != list.end()) list.erase(it);
    if (list.size() == kMaxUnorderedPerObject) list.pop_back();
    list.insert(list.begin(), in);
    if (rules[static_cast<size_t>(RuleId::kRace)]) Report(bs, in);
  }
  Slot(writes ? bs.last_write : bs.last_read, t) = AccessAt{e.here, e.site, e.access, locked};
}

void Analysis::FailureUnexplained(StepEvent& e) {
  BlockState& bs = State(e);
  if (rules[static_cast<size_t>(RuleId::kRace)] &&
      bs.has_latest[static_cast<size_t>(RuleId::kRace)]) {
    Manifested(bs, RuleId::kRace);
    return;
  }
  ++unexplained_count;
  if (unexplained.size() >= kMaxUnexplained) return;
  Unexplained u;
  u.block = e.block;
  u.arg = e.arg;
  u.failing = AccessAt{e.here, e.site, e.access};
  for (const auto& [t, x] : bs.last_write) u.writes.push_back(x);
  std::sort(u.writes.begin(), u.writes.end(),
            [](const AccessAt& a, const AccessAt& b) { return a.step.seq < b.step.seq; });
  if (bs.unordered) u.unordered = *bs.unordered;
  unexplained.push_back(std::move(u));
}

void Analysis::AddSite(const trace::SiteRecord& site) {
  if (site.site < site_access.size() && site_names.size() < site_access.size())
    site_names[site.site] = trace::PrintableSiteName(site.name);
  static const std::string kWriteBegin =
      trace::EngineKindSites()[static_cast<size_t>(trace::EngineEventKind::kWriteBegin)].name;
  if (site.site == trace::EngineKindSite(trace::EngineEventKind::kWriteBegin) &&
      site.name == kWriteBegin)
    write_begin_site = site.site;
  // Stored as access + 1: 0 means the history has no entry for the site.
  if (site.site < site_access.size())
    site_access[site.site].store(static_cast<uint8_t>(site.access + 1), std::memory_order_relaxed);
}

// Inlined into Add, its only caller: a call per event measured ~2% of the
// analysis's instructions.
[[gnu::always_inline]] inline void Analysis::Edges(StepEvent& e) {
  using A = sched::Access;
  const uint32_t t = e.thread;
  const uint64_t b = e.block;
  VC& vc = clock[t];
  switch (e.access) {
    case A::kAcquire:
      if (HeldSince(t, b) == nullptr && held[t].size() < 64) held[t].push_back({b, e.here});
      Join(vc, State(e).lock_release);
      break;
    case A::kRelease:
      for (auto h = held[t].begin(); h != held[t].end(); ++h) {
        if (h->first == b) {
          held[t].erase(h);
          break;
        }
      }
      Clock(State(e).lock_release, [&](VC& v) { v = vc; });
      break;
    case A::kRequest:
      Clock(State(e).issued, [&](VC& v) { v = vc; });
      break;
    case A::kFill:
      Join(vc, State(e).issued);
      last_fill[t] = e.here;
      break;
    default:
      break;
  }
}

void Analysis::Add(const trace::EngineRecord& r) {
  if (!status.ok()) return;
  ++events;
  const uint32_t t = Thread(r.tid);
  if (OverLimit()) return;
  VC& vc = clock[t];
  if (vc.size() <= t) Clock(vc, [&](VC& v) { v.resize(t + 1, 0); });
  ++vc[t];
  StepEvent e;
  e.thread = t;
  e.here = Step{t, vc[t], r.seq};
  e.block = r.block;
  e.arg = r.arg;
  uint8_t access = 0;
  if (trace::IsSiteEvent(r.kind)) {
    e.site = r.kind - trace::kSiteEventBase;
    const uint8_t stored = site_access[e.site].load(std::memory_order_relaxed);
    if (stored == 0) ++unknown_site_events;  // judged as no access
    access = stored > 0 ? static_cast<uint8_t>(stored - 1) : 0;
  } else {
    // The built-in engine's kinds, from histories written before site
    // tables: as its sites (trace::EngineKindSites()), in ids of their own.
    e.site = 0x10000u + r.kind;
    access = r.kind < legacy_access.size() ? legacy_access[r.kind] : 0;
  }
  e.access = static_cast<sched::Access>(access);
  // Rules following this thread see the step first (before any block state
  // of it is looked up: what they do may add blocks).
  for (uint32_t f = followers[t]; f != 0; f &= f - 1) {
    const int i = __builtin_ctz(f);
    followers[t] &= static_cast<uint8_t>(~(1u << i));
    rules[i]->OnFollowedStep(e);
  }
  Edges(e);
  manifested_now = false;
  for (uint32_t w = watchers[access]; w != 0; w &= w - 1) rules[__builtin_ctz(w)]->OnStep(e);
  Conflicts(e);
  if (e.access == sched::Access::kVerifyFail && !manifested_now) FailureUnexplained(e);
}

}  // namespace ordo::analyze
