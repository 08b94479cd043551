// The FPRE004 rules over access kinds (ordo/engine_abi.h): every event of a
// history, as its site's access kind, updates the vector clocks and the
// block's state, and reports the occurrences it completes.
#include "analysis.h"
#include "ordo/trace/record.h"

namespace ordo::analyze {

void Analyzer::Impl::StaleClean(BlockState& bs, uint64_t block, uint32_t w, WriteRegion& r,
                                uint32_t p, const Mark& m, bool observed) {
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

// The rules over access kinds (ordo/engine_abi.h), for engines loaded
// through the engine ABI. FPRE004-A: a fill and mark-clean of an object
// not ordered with another thread's acquire..write..release of it.
// FPRE004-B: a thread's consecutive flag reads of an object not ordered
// with another thread's flag update of it. Edges: release to the next
// acquire, request to the next fill.
void Analyzer::Impl::AddAccess(sched::Access access, uint32_t t, const Step& here, uint64_t b,
                               uint32_t site, uint64_t arg) {
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
void Analyzer::Impl::TornBy(uint32_t t, const Step& here, uint64_t b) {
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
void Analyzer::Impl::EndCheck(uint32_t t) {
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
void Analyzer::Impl::EndChecks() {
  for (uint32_t t = 0; t < checking.size(); ++t) {
    if (checking[t]) EndCheck(t);
  }
}

void Analyzer::Impl::AddSite(const trace::SiteRecord& site) {
  // Stored as access + 1: 0 means the history has no entry for the site.
  if (site.site < site_access.size())
    site_access[site.site].store(static_cast<uint8_t>(site.access + 1), std::memory_order_relaxed);
}

void Analyzer::Impl::Add(const trace::EngineRecord& e) {
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

}  // namespace ordo::analyze
