// FPRE004-A: a fill and mark-clean of an object (or a read miss's
// fill_clean) not ordered with another thread's acquire..write..release of
// it: the cache can keep the bytes from before the write under the checksum
// from after it. Edges: release to the next acquire, request to the next fill.
#include "rule.h"

namespace ordo::analyze {

namespace {

class StaleCleanRule final : public Rule {
 public:
  explicit StaleCleanRule(Analysis& a) : a_(a) {}

  RuleId id() const override { return RuleId::kFpre004A; }
  uint32_t Watches() const override {
    using A = sched::Access;
    return Watch(A::kWrite) | Watch(A::kPublish) | Watch(A::kRelease) | Watch(A::kMarkClean) |
           Watch(A::kFillClean) | Watch(A::kVerifyFail);
  }

  void OnStep(StepEvent& e) override {
    using A = sched::Access;
    switch (e.access) {
      case A::kWrite:
        Write(e);
        break;
      case A::kPublish:
        Publish(e);
        break;
      case A::kRelease:
        if (WriteRegion* r = Find(a_.State(e).writes, e.thread); r != nullptr && r->open) {
          r->open = false;
          r->unlock = e.here;
        }
        break;
      case A::kMarkClean:
      case A::kFillClean:
        MarkClean(e);
        break;
      case A::kVerifyFail:  // a checksum mismatch (flags torn: FPRE004-B's)
        if (e.arg != sched::kFailFlags) a_.Manifested(a_.State(e), id());
        break;
      default:
        break;
    }
  }

  void Describe(const Instance& in, Finding* f) const override;

 private:
  static constexpr size_t kMaxWaiting = 64;

  // Only a write inside the thread's acquire..release of the object counts
  // (a write announced outside one, such as a request boundary announced for
  // the scheduler, is not a region).
  void Write(StepEvent& e) {
    const uint32_t t = e.thread;
    const Step* since = a_.HeldSince(t, e.block);
    if (since == nullptr) return;
    BlockState& bs = a_.State(e);
    WriteRegion* last = Find(bs.writes, t);
    if (last != nullptr && last->open) return;  // the same region
    WriteRegion r;
    r.lock = *since;
    // The marks not ordered before the write: made before the acquire, or
    // while the lock was held (observed).
    for (auto& [mt, m] : bs.marks) {
      if (mt != t && !a_.Before(m.mark, t))
        StaleClean(bs, e.block, t, r, mt, m, m.mark.seq > since->seq);
    }
    Slot(bs.writes, t) = std::move(r);
  }

  // How the write's publish treats the cache decides the read-miss fills
  // waiting for it.
  void Publish(StepEvent& e) {
    BlockState& bs = a_.State(e);
    WriteRegion* r = Find(bs.writes, e.thread);
    if (r == nullptr || !r->open) return;
    r->replaces_any = (e.arg & sched::kPublishReplacesAny) != 0 ? 1 : 0;
    if (r->replaces_any == 0 && r->waiting) {
      for (Instance& in : *r->waiting) a_.Report(bs, in);
    }
    r->waiting.reset();
  }

  void MarkClean(StepEvent& e) {
    const uint32_t t = e.thread;
    BlockState& bs = a_.State(e);
    const bool demand = e.access == sched::Access::kFillClean;
    Mark m{demand ? e.here : a_.last_fill[t], e.here, demand};
    for (auto& [wt, r] : bs.writes) {
      if (wt == t) continue;
      // Held again, not yet written: that write judges this mark (its region
      // replaces this one).
      if (!r.open && a_.HeldSince(wt, e.block) != nullptr) continue;
      if (r.open) {
        StaleClean(bs, e.block, wt, r, t, m, true);
      } else if (!a_.Before(r.unlock, t)) {
        StaleClean(bs, e.block, wt, r, t, m, false);
      }
    }
    Slot(bs.marks, t) = m;
  }

  // Writer w's region r and prefetcher p's mark m are not ordered: an
  // occurrence, reported now or, for a read miss inside a region not yet
  // published, when the publish says whether it replaced the buffer.
  void StaleClean(BlockState& bs, uint64_t block, uint32_t w, WriteRegion& r, uint32_t p,
                  const Mark& m, bool observed) {
    Instance in;
    in.rule = id();
    in.pattern = m.demand ? Pattern::kStaleReadMiss : Pattern::kStaleFill;
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
      a_.Report(bs, in);
    } else if (r.replaces_any < 0) {
      if (!r.waiting) r.waiting = std::make_unique<std::vector<Instance>>();
      if (r.waiting->size() < kMaxWaiting) r.waiting->push_back(in);  // judged at the publish
    }
  }

  Analysis& a_;
};

void StaleCleanRule::Describe(const Instance& in, Finding* f) const {
  const auto& tids = a_.tids;
  f->rule = RuleName(id());
  f->events = {in.e[0]};
  if (!in.demand) f->events.push_back(in.e[1]);  // a read miss fills and marks in one step
  f->events.push_back(in.e[2]);
  if (in.closed) f->events.push_back(in.e[3]);
  const std::string wrote = fmt::format("T{} acquired {} at #{} and wrote it", tids[in.first],
                                        a_.Where(in.block), in.e[0]);
  const std::string when =
      in.observed ? fmt::format("while T{} held it", tids[in.first])
      : in.e[2] < in.e[0]
          ? fmt::format("before T{}'s acquire but not ordered before it", tids[in.first])
      : in.closed ? fmt::format("after T{}'s release at #{} but not ordered after it",
                                tids[in.first], in.e[3])
                  : fmt::format("not ordered with T{}'s release", tids[in.first]);
  if (in.demand) {
    f->signature = "FPRE004-A:acquire|write|fill_clean|publish(0)";
    f->explanation = fmt::format(
        "{}; T{} missed the cache and cached the object's old data at #{} (fill_clean), {}; "
        "the write's publish replaced only a buffer cached when it took the lock (publish "
        "arg 0), so the old bytes stay cached under the new checksum: FPRE004-A (by a read "
        "miss)",
        wrote, tids[in.second], in.e[2], when);
  } else {
    f->signature = "FPRE004-A:acquire|write|fill|mark_clean|release";
    f->explanation = fmt::format(
        "{}; T{} filled a buffer from it at #{} and marked the buffer clean at #{}, {}; no "
        "release/acquire of the object (nor a request of the fill) orders the fill and the "
        "mark with the write, so the buffer can hold the data from before the write under the "
        "checksum from after it: FPRE004-A",
        wrote, tids[in.second], in.e[1], in.e[2], when);
  }
}

}  // namespace

std::unique_ptr<Rule> MakeStaleCleanRule(Analysis& a) {
  return std::make_unique<StaleCleanRule>(a);
}

}  // namespace ordo::analyze
