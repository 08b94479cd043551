#include "ordo/engine/focus.h"

#include <fmt/core.h>

#include <charconv>

#include "ordering_point.h"
#include "ordo/engine/engine.h"

namespace ordo::engine {

std::string_view Fpre004RuleName(Fpre004Rule rule) {
  return rule == Fpre004Rule::kStaleClean ? "FPRE004-A" : "FPRE004-B";
}

bool ParseFpre004Rule(std::string_view name, Fpre004Rule* rule) {
  for (Fpre004Rule r : {Fpre004Rule::kStaleClean, Fpre004Rule::kVerifyOrder}) {
    if (Fpre004RuleName(r) == name) {
      *rule = r;
      return true;
    }
  }
  return false;
}

std::string FocusString(const Focus& f) {
  return fmt::format("{}:{}:{}:{}", Fpre004RuleName(f.rule), BlockFile(f.block),
                     BlockIndex(f.block),
                     f.thread < 0 ? std::string("*") : std::to_string(f.thread));
}

namespace {

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool ParseFocus(std::string_view text, Focus* focus) {
  std::string_view part[4];
  for (int i = 0; i < 4; ++i) {
    size_t colon = i < 3 ? text.find(':') : text.size();
    if (colon == std::string_view::npos) return false;
    part[i] = text.substr(0, colon);
    text.remove_prefix(i < 3 ? colon + 1 : colon);
  }
  Focus f;
  uint32_t file = 0, block = 0;
  if (!ParseFpre004Rule(part[0], &f.rule) || !ParseNumber(part[1], &file) ||
      !ParseNumber(part[2], &block)) {
    return false;
  }
  f.block = BlockKey(file, block);
  if (part[3] != "*" && (!ParseNumber(part[3], &f.thread) || f.thread < 0)) return false;
  *focus = f;
  return true;
}

sched::Target FocusTarget(const Focus& f) {
  using K = EngineEventKind;
  sched::Target t;
  t.object = f.block;
  if (f.rule == Fpre004Rule::kStaleClean) {
    t.rules.push_back({StepSite(K::kBlockWrite), StepSite(K::kPrefetchFill), 0, false, f.thread});
    t.rules.push_back({StepSite(K::kPrefetchFill), StepSite(K::kBlockWrite), 0, true, -1});
    // Once stale bytes may be cached, the next write of the block (which
    // would replace them) waits until a read verifies the cached copy.
    t.rules.push_back(
        {StepSite(K::kBlockLock), StepSite(K::kVerifyCheckCacheReady), 0, false, -1, 0, true});
  } else {
    t.rules.push_back({StepSite(K::kCompactCacheReady), StepSite(K::kVerifyCheckPending),
                       StepSite(K::kVerifyCheckCacheReady), true, f.thread});
    t.rules.push_back(
        {StepSite(K::kVerifyCheckCacheReady), StepSite(K::kCompactCacheReady), 0, true, -1});
  }
  return t;
}

sched::Target AccessFocusTarget(const Focus& f) {
  using A = sched::Access;
  sched::Target t;
  t.object = f.block;
  auto rule = [](A held, A partner, bool held_first, int thread, int except, bool after_match) {
    sched::HoldRule r;
    r.held_access = held;
    r.partner_access = partner;
    r.held_first = held_first;
    r.held_thread = thread;
    r.except_thread = except;
    r.after_match = after_match;
    return r;
  };
  if (f.rule == Fpre004Rule::kStaleClean) {
    // The fill reads the object before the write (a writer's own fill, as a
    // read-modify-write makes, is not the filler)...
    t.rules.push_back(rule(A::kWrite, A::kFill, false, f.thread, -1, false));
    t.rules.push_back(rule(A::kFill, A::kWrite, true, -1, f.thread, false));
    // ...the mark comes after the write has released the object...
    t.rules.push_back(rule(A::kMarkClean, A::kRelease, false, -1, f.thread, true));
    // ...and the writer's next acquire waits until a read has verified the
    // buffer (before another write could make it consistent again).
    t.rules.push_back(rule(A::kAcquire, A::kVerify, false, f.thread, -1, true));
  }
  return t;
}

}  // namespace ordo::engine
