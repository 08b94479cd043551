// What a thread under control is about to do: the pending step it announces
// at an ordering point (site, object, access), and the targets of directed
// race confirmation written over such steps. This vocabulary is engine
// agnostic: a site is a number the engine gives each ordering point, an
// object is whatever the engine orders on (the built-in engine: a block key).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace ordo::sched {

// How a step touches its object. Two steps race when they are on the same
// object, in different threads, and at least one of them is write-like.
enum class Access : uint8_t {
  kNone = 0,    // not an access (thread start, request boundaries): races with nothing
  kAcquire,     // takes a lock on the object
  kRelease,     // releases it
  kRead,        // reads the object's data
  kWrite,       // updates the object's data (and checksum)
  kFill,        // reads the object's data into a cache buffer
  kPublish,     // makes a new version visible
  kMarkClean,   // marks a cached buffer ready to serve
  kFlagSet,     // sets or clears a state flag of the object
  kFlagRead,    // reads a state flag
  kVerify,      // checks a buffer against the object's checksum
  kVerifyFail,  // ...and the check failed
  kRequest,     // asks another thread to fill the object: not an access
  kFillClean,   // fills a buffer and marks it ready in one step (a read miss)
};
// These values are the engine ABI's ordo_access values (ordo/engine_abi.h).

// Args the rules read (the engine ABI's ORDO_PUBLISH_REPLACES_ANY, ORDO_FAIL_FLAGS).
inline constexpr uint64_t kPublishReplacesAny = 1;  // kPublish: replaced any cached buffer
inline constexpr uint64_t kFailFlags = 2;           // kVerifyFail: the flags were inconsistent

std::string_view AccessName(Access access);
bool WriteLike(Access access);

struct PendingStep {
  uint32_t site = 0;    // 0: unknown (a wait, a thread not yet started)
  uint64_t object = 0;  // meaningful when access != kNone
  Access access = Access::kNone;
};

// True when `a` and `b` (steps of two different threads) race.
// Whether a step touches its object at all (kNone and kRequest do not).
inline bool Accesses(Access access) {
  return access != Access::kNone && access != Access::kRequest;
}
inline bool Races(const PendingStep& a, const PendingStep& b) {
  return Accesses(a.access) && Accesses(b.access) && a.object == b.object &&
         (WriteLike(a.access) || WriteLike(b.access));
}

// One way to force an ordering (RaceFuzzer-style): a thread about to take
// `held_site` on the target object is held back until a partner thread is about
// to take `partner_site` on the same object (having taken `partner_prior_site`
// there while the hold lasted, when that is nonzero); then the held thread
// runs first (`held_first`) or the partner does. A hold that lasts longer than
// the target's budget is given up, so nothing deadlocks.
struct HoldRule {
  uint32_t held_site = 0;
  uint32_t partner_site = 0;
  uint32_t partner_prior_site = 0;
  bool held_first = false;
  int held_thread = -1;  // logical thread index; -1: any thread
  // The partner's object may lie up to this far below the held one (a read
  // announced at its first block that reaches the held block).
  uint64_t partner_span = 0;
  // Applies only once another rule of the same target has matched: holds
  // that keep a forced state until something observes it.
  bool after_match = false;
  // With held_site (partner_site) 0: any step of this access kind, so rules
  // can be written over access kinds for engines whose sites are their own.
  Access held_access = Access::kNone;
  Access partner_access = Access::kNone;
  int except_thread = -1;  // a thread the rule never holds (-1: none)
  // With partner_prior_site 0: the partner's last step was of this access
  // kind on the object, taken while the hold lasted unless
  // partner_prior_during_hold is false (kNone: no condition).
  Access partner_prior_access = Access::kNone;
  bool partner_prior_during_hold = true;  // false: taken at any time before
  // The held thread's last step was (or, negated, was not) of this access
  // kind on the object: "a write inside its lock" is a write whose last step
  // was the acquire (kNone: no condition).
  Access held_prior_access = Access::kNone;
  bool held_prior_negated = false;
  // The held (partner) thread holds the object: it announced an acquire of
  // it and no release since ("a write inside its lock").
  bool held_holds_object = false;
  bool partner_holds_object = false;
};

struct Target {
  bool any_object = false;  // hold on every object, not only `object`
  uint64_t object = 0;
  std::vector<HoldRule> rules;
  // Scheduling decisions a hold may last before it is given up.
  uint64_t budget = 1000;
};

}  // namespace ordo::sched
