#include "ordo/engine/focus.h"

#include <fmt/core.h>

#include <charconv>

#include "ordo/engine/block_key.h"
#include "ordo/trace/record.h"

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
    // A write inside its lock (the writer holds the object) waits until a
    // fill of the object is about to happen, and the fill goes first (a
    // writer's own fill, as a read-modify-write makes, is not the filler)...
    sched::HoldRule write_waits = rule(A::kWrite, A::kFill, false, f.thread, -1, false);
    write_waits.held_holds_object = true;
    t.rules.push_back(write_waits);
    sched::HoldRule fill_waits = rule(A::kFill, A::kWrite, true, -1, f.thread, false);
    fill_waits.partner_holds_object = true;
    t.rules.push_back(fill_waits);
    // ...the mark comes after the write has released the object...
    t.rules.push_back(rule(A::kMarkClean, A::kRelease, false, -1, f.thread, true));
    // ...and the writer's next acquire waits until a read has verified the
    // buffer (before another write could make it consistent again).
    t.rules.push_back(rule(A::kAcquire, A::kVerify, false, f.thread, -1, true));
  } else {
    // The update's last flag set (its last step was a set too) waits until a
    // check has read one flag and is about to read another, and goes first:
    // the check's first read saw the update in progress, its second the end.
    sched::HoldRule set_waits = rule(A::kFlagSet, A::kFlagRead, true, f.thread, -1, false);
    set_waits.held_prior_access = A::kFlagSet;
    set_waits.partner_prior_access = A::kFlagRead;
    t.rules.push_back(set_waits);
    // A check's first read waits until an update is inside (about to set
    // again after a set), and goes first.
    sched::HoldRule read_waits = rule(A::kFlagRead, A::kFlagSet, true, -1, f.thread, false);
    read_waits.held_prior_access = A::kFlagRead;
    read_waits.held_prior_negated = true;
    read_waits.partner_prior_access = A::kFlagSet;
    read_waits.partner_prior_during_hold = false;
    t.rules.push_back(read_waits);
  }
  return t;
}

}  // namespace ordo::engine
