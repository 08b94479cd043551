// FPRE004-B: a thread's consecutive flag reads of an object (a check) not
// ordered with another thread's flag update of it, and not validated (its
// last read not at its first read's site, as a sequence lock re-reads its
// generation): the check can combine a flag from before the update with one
// from after it, a state that never existed.
#include "rule.h"

namespace ordo::analyze {

namespace {

class TornFlagsRule final : public Rule {
 public:
  explicit TornFlagsRule(Analysis& a) : a_(a) {}

  RuleId id() const override { return RuleId::kFpre004B; }
  uint32_t Watches() const override {
    using A = sched::Access;
    return Watch(A::kRelease) | Watch(A::kFlagSet) | Watch(A::kFlagRead) | Watch(A::kVerifyFail);
  }

  void OnStep(StepEvent& e) override {
    using A = sched::Access;
    switch (e.access) {
      case A::kRelease:
        if (Compaction* c = Find(a_.State(e).compactions, e.thread)) c->open = false;
        break;
      case A::kFlagSet:
        FlagSet(e);
        break;
      case A::kFlagRead:
        FlagRead(e);
        break;
      case A::kVerifyFail:  // the flags were inconsistent (a checksum mismatch: FPRE004-A's)
        if (e.arg == sched::kFailFlags) a_.Manifested(a_.State(e), id());
        break;
      default:
        break;
    }
  }

  // A check ends when its thread's next step is not a flag read of its object.
  void OnFollowedStep(StepEvent& e) override {
    const uint32_t t = e.thread;
    if (checking_[t] && (e.access != sched::Access::kFlagRead || checks_[t].block != e.block))
      EndCheck(t);
  }

  void Finish() override {
    for (uint32_t t = 0; t < checking_.size(); ++t) {
      if (checking_[t]) EndCheck(t);
    }
  }

  void Describe(const Instance& in, Finding* f) const override;

 private:
  static constexpr size_t kMaxTorn = 64;

  void FlagSet(StepEvent& e) {
    const Step* since = a_.HeldSince(e.thread, e.block);
    Compaction& c = Slot(a_.State(e).compactions, e.thread);
    if (since != nullptr && c.open && c.locked_by == since->seq + 1) {
      c.ready = e.here;  // the update goes on under the same lock
    } else {
      c = Compaction{};
      c.pending = c.ready = e.here;
      c.open = since != nullptr;  // unlocked: an update of one step
      c.locked_by = c.open ? since->seq + 1 : 0;
    }
  }

  void FlagRead(StepEvent& e) {
    const uint32_t t = e.thread;
    if (checks_.size() <= t) {
      checks_.resize(a_.tids.size());
      checking_.resize(a_.tids.size(), false);
    }
    CheckPair& ck = checks_[t];
    if (!checking_[t]) {
      ck.block = e.block;
      ck.ready_read = e.here;
      ck.first_site = e.site;
      ck.torn.clear();
      a_.Clock(ck.clock_at_read, [&](VC& v) { v.assign(a_.clock[t].begin(), a_.clock[t].end()); });
      checking_[t] = true;
    } else {
      TornBy(e);
    }
    ck.last_site = e.site;
    a_.Follow(t, id());
  }

  // A later read of the thread's check: the updates of the object by other
  // threads that had begun and had not ended before the check's first read.
  void TornBy(StepEvent& e) {
    const uint32_t t = e.thread;
    CheckPair& ck = checks_[t];
    BlockState& bs = a_.State(e);
    for (auto& [ct, c] : bs.compactions) {
      if (ct == t) continue;
      bool ended_before =
          !c.open && Analysis::At(ck.clock_at_read, c.ready.thread) >= c.ready.stamp;
      if (ended_before) continue;
      bool known = false;
      for (const Instance& x : ck.torn) known |= x.first == ct && x.e[0] == c.pending.seq;
      if (known || ck.torn.size() >= kMaxTorn) continue;
      Instance in;
      in.rule = id();
      in.pattern = Pattern::kTornFlags;
      in.closed = !c.open;
      in.block = e.block;
      in.first = ct;
      in.second = t;
      in.e[0] = c.pending.seq;
      in.e[1] = ck.ready_read.seq;
      in.e[2] = e.here.seq;
      in.e[3] = c.ready.seq;
      ck.torn.push_back(in);
    }
  }

  // Unless the check re-read its first site last (validated), what it may
  // have torn is reported.
  void EndCheck(uint32_t t) {
    checking_[t] = false;
    CheckPair& ck = checks_[t];
    if (ck.torn.empty()) return;
    if (ck.last_site != ck.first_site) {
      BlockState& bs = a_.Block(ck.block);
      for (const Instance& in : ck.torn) a_.Report(bs, in);
    }
    ck.torn.clear();
  }

  Analysis& a_;
  // Per thread: its check in progress (when checking_).
  std::vector<CheckPair> checks_;
  std::vector<bool> checking_;
};

void TornFlagsRule::Describe(const Instance& in, Finding* f) const {
  const auto& tids = a_.tids;
  f->rule = RuleName(id());
  f->signature = "FPRE004-B:acquire|flag_set..flag_set|release><flag_read>flag_read";
  f->events = {in.e[0], in.e[1], in.e[2]};
  if (in.e[3] != in.e[0]) f->events.push_back(in.e[3]);
  f->explanation = fmt::format(
      "T{} updated the flags of {} under its lock from #{}{}; T{} read the object's flags at "
      "#{} and again at #{} in one check, without re-reading its first flag last (no "
      "sequence-lock validation); nothing orders the check with the update, so it can combine "
      "a flag from before the update with one from after it, a state that never existed: "
      "FPRE004-B",
      tids[in.first], a_.Where(in.block), in.e[0],
      in.e[3] != in.e[0] ? fmt::format(" to #{}", in.e[3]) : std::string(), tids[in.second],
      in.e[1], in.e[2]);
}

}  // namespace

std::unique_ptr<Rule> MakeTornFlagsRule(Analysis& a) { return std::make_unique<TornFlagsRule>(a); }

}  // namespace ordo::analyze
