// A rule over the happens-before order of a history: the analyzer tells it
// of the steps it watches (after their edges are applied) and, when it asks,
// of a thread's next step whatever its kind; it reports the occurrences it
// finds (Analysis::Report) and says what they mean (Describe).
//
// Rules keep their per-object state in BlockState (one cache miss per event
// for every rule together) and their per-thread state themselves. Internal
// to analyze/.
#pragma once

#include <cstdint>
#include <memory>

#include "analysis.h"
#include "ordo/analyze/rules.h"

namespace ordo::analyze {

class Rule {
 public:
  virtual ~Rule() = default;
  virtual RuleId id() const = 0;
  // The access kinds OnStep is told of: bit (1 << access) per sched::Access.
  virtual uint32_t Watches() const = 0;
  // A step of a watched kind, after its happens-before edges. No block other
  // than the step's own may be looked up here (e.state stays valid).
  virtual void OnStep(StepEvent& e) = 0;
  // The next step of a thread this rule follows (Analysis::Follow),
  // whatever its kind, before its edges and before OnStep; following ends
  // here, and the rule asks again to see the step after.
  virtual void OnFollowedStep(StepEvent& /*e*/) {}
  // The history is over (for now): what the rule still holds open is judged.
  virtual void Finish() {}
  // The rule's part of a finding of one of its instances: rule, signature,
  // events (unsorted) and explanation.
  virtual void Describe(const Instance& in, Finding* f) const = 0;
};

// Bit of `access` in Rule::Watches().
constexpr uint32_t Watch(sched::Access access) { return uint32_t{1} << static_cast<int>(access); }

// The rule of `id`, working on the analysis `a` (which outlives it).
std::unique_ptr<Rule> MakeRule(RuleId id, Analysis& a);
// FPRE004-A (rule_stale_clean.cc) and FPRE004-B (rule_torn_flags.cc).
std::unique_ptr<Rule> MakeStaleCleanRule(Analysis& a);
std::unique_ptr<Rule> MakeTornFlagsRule(Analysis& a);
// RACE (rule_race.cc): reports the pairs Analysis::Conflicts finds.
std::unique_ptr<Rule> MakeRaceRule(Analysis& a);

}  // namespace ordo::analyze
