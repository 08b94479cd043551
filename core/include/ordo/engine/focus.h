// A race to confirm in the built-in engine: which FPRE004 ordering, on which
// block, and (optionally) which thread the ordering holds back. The analyzer
// names one per predicted finding; replay turns it into scheduler holds
// (sched::Target) that force the ordering. Its text form, the one spelling on
// command lines and in summaries, is "FPRE004-A:FILE:BLOCK:THREAD" (THREAD
// may be "*": any thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ordo/sched/step.h"

namespace ordo::engine {

enum class Fpre004Rule {
  kStaleClean,   // FPRE004-A: prefetch fills and marks clean inside a write
  kVerifyOrder,  // FPRE004-B: verify reads "ready" then "pending" across a relocation
};
std::string_view Fpre004RuleName(Fpre004Rule rule);  // "FPRE004-A", "FPRE004-B"
bool ParseFpre004Rule(std::string_view name, Fpre004Rule* rule);

struct Focus {
  Fpre004Rule rule = Fpre004Rule::kStaleClean;
  uint64_t block = 0;  // block key (see BlockKey)
  int thread = -1;     // the writer (A) or compaction (B) thread; -1: any
};

std::string FocusString(const Focus& focus);
bool ParseFocus(std::string_view text, Focus* focus);

// The holds that force the focus's ordering:
//  - A: a writer about to update the locked block waits until a prefetch is
//    about to fill it, and the fill goes first (or a prefetch about to fill
//    waits for such a writer);
//  - B: compaction about to set "cache ready" again waits until a verify has
//    read "cache ready" (false) and is about to read "last write pending",
//    and goes first (or a verify about to read "cache ready" waits until
//    compaction is inside its relocation).
sched::Target FocusTarget(const Focus& focus);
// The same for an engine loaded through the engine ABI, over access kinds
// (FPRE004-A only): a writer about to write waits until a fill of the object
// is about to happen and the fill goes first; the mark-clean then waits until
// the writer is about to release; the next acquire waits for a verify.
sched::Target AccessFocusTarget(const Focus& focus);

}  // namespace ordo::engine
