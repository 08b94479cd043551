// A race to confirm in an engine: which ordering (FPRE004-A, FPRE004-B, or a
// RACE pair of two sites), on which block, and (optionally) which thread the
// ordering holds back. The analyzer names one per predicted finding; replay
// turns it into scheduler holds (sched::Target) that force the ordering. Its
// text form, the one spelling on command lines and in summaries, is
// "FPRE004-A:FILE:BLOCK:THREAD" (THREAD may be "*": any thread), for RACE
// "RACE:FILE:BLOCK:THREAD:SITE>SITE" (the held thread's site, then the
// partner's), either followed by "/BUDGET" when the hold may last longer than
// the default 1,000 scheduling decisions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ordo/sched/step.h"

namespace ordo::engine {

enum class Fpre004Rule {
  kStaleClean,   // FPRE004-A: a fill marked clean unordered with a write
  kVerifyOrder,  // FPRE004-B: a flag check torn by an unordered flag update
  kRace,         // RACE: two unordered accesses of an object, forced the other way
};
std::string_view Fpre004RuleName(Fpre004Rule rule);  // "FPRE004-A", "FPRE004-B", "RACE"
bool ParseFpre004Rule(std::string_view name, Fpre004Rule* rule);

struct Focus {
  Fpre004Rule rule = Fpre004Rule::kStaleClean;
  uint64_t block = 0;  // block key (see BlockKey)
  int thread = -1;     // the writer (A), compaction (B) or first (RACE) thread; -1: any
  // RACE: the site of the step the held thread took first in the predicting
  // run, and the partner's site that is forced before it.
  uint32_t held_site = 0, partner_site = 0;
  // Scheduling decisions a hold may last (0: sched::Target's default), sized
  // from how far apart the steps were in the predicting run.
  uint64_t budget = 0;
};

std::string FocusString(const Focus& focus);
bool ParseFocus(std::string_view text, Focus* focus);

// The holds that force the focus's ordering, over access kinds (so for any
// engine, see ordo/engine_abi.h):
//  - A: a write inside the writer's lock waits until a fill of the object is
//    about to happen, and the fill goes first; the mark-clean then waits
//    until the writer is about to release; its next acquire, for a verify;
//  - B: the update's last flag set waits until a check has read one flag and
//    is about to read another, and goes first; a check's first read waits
//    until an update is between two sets;
//  - RACE: the thread about to take the held site on the object waits until
//    another thread is about to take the partner site on it, which goes first.
sched::Target FocusTarget(const Focus& focus);

}  // namespace ordo::engine
