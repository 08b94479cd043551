// RACE: a write-like access of an object by one thread and a read-like one by
// another that no happens-before edge orders. The pairs are found by
// Analysis::Conflicts (the same bookkeeping gives a failure its causal slice);
// this rule reports them and says what they mean, for engines whose bug has
// neither FPRE004 shape.
#include "ordo/sched/step.h"
#include "rule.h"

namespace ordo::analyze {

namespace {

class RaceRule : public Rule {
 public:
  explicit RaceRule(Analysis& a) : a_(a) {}
  RuleId id() const override { return RuleId::kRace; }
  uint32_t Watches() const override { return 0; }  // Analysis::Conflicts reports
  void OnStep(StepEvent& /*e*/) override {}
  void Describe(const Instance& in, Finding* f) const override;

 private:
  Analysis& a_;
};

void RaceRule::Describe(const Instance& in, Finding* f) const {
  const auto& tids = a_.tids;
  const auto first = static_cast<sched::Access>(in.e[2]);
  const auto second = static_cast<sched::Access>(in.e[3]);
  f->rule = RuleName(id());
  f->signature = fmt::format("RACE:{}>{}", a_.SiteName(in.sites[0]), a_.SiteName(in.sites[1]));
  f->events = {in.e[0], in.e[1]};
  f->sites = {in.sites[0], in.sites[1]};
  f->explanation = fmt::format(
      "T{} took {} ({}) on {} at #{}; T{} took {} ({}) on it at #{}; no lock, hand-off or "
      "program order orders the two, so a run may take them the other way round: T{}'s {} "
      "before T{}'s {}: RACE",
      tids[in.first], a_.SiteName(in.sites[0]), sched::AccessName(first), a_.Where(in.block),
      in.e[0], tids[in.second], a_.SiteName(in.sites[1]), sched::AccessName(second), in.e[1],
      tids[in.second], a_.SiteName(in.sites[1]), tids[in.first], a_.SiteName(in.sites[0]));
}

}  // namespace

std::unique_ptr<Rule> MakeRaceRule(Analysis& a) { return std::make_unique<RaceRule>(a); }

}  // namespace ordo::analyze
