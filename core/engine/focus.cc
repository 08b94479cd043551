#include "ordo/engine/focus.h"

#include <fmt/core.h>

#include <charconv>

#include "ordo/engine/block_key.h"
#include "ordo/trace/record.h"

namespace ordo::engine {

std::string_view Fpre004RuleName(Fpre004Rule rule) {
  switch (rule) {
    case Fpre004Rule::kStaleClean:
      return "FPRE004-A";
    case Fpre004Rule::kVerifyOrder:
      return "FPRE004-B";
    case Fpre004Rule::kRace:
      return "RACE";
  }
  return "FPRE004-A";
}

bool ParseFpre004Rule(std::string_view name, Fpre004Rule* rule) {
  for (Fpre004Rule r : {Fpre004Rule::kStaleClean, Fpre004Rule::kVerifyOrder, Fpre004Rule::kRace}) {
    if (Fpre004RuleName(r) == name) {
      *rule = r;
      return true;
    }
  }
  return false;
}

std::string FocusString(const Focus& f) {
  std::string out =
      fmt::format("{}:{}:{}:{}", Fpre004RuleName(f.rule), BlockFile(f.block), BlockIndex(f.block),
                  f.thread < 0 ? std::string("*") : std::to_string(f.thread));
  if (f.rule == Fpre004Rule::kRace) out += fmt::format(":{}>{}", f.held_site, f.partner_site);
  if (f.budget != 0) out += fmt::format("/{}", f.budget);
  return out;
}

namespace {

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool ParseFocus(std::string_view text, Focus* focus) {
  Focus f;
  const size_t slash = text.rfind('/');
  if (slash != std::string_view::npos) {
    if (!ParseNumber(text.substr(slash + 1), &f.budget) || f.budget == 0) return false;
    text = text.substr(0, slash);
  }
  std::string_view part[5];
  int parts = 0;
  for (; parts < 5 && !text.empty(); ++parts) {
    const size_t colon = text.find(':');
    part[parts] = text.substr(0, colon);
    text = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  }
  if (!text.empty() || parts < 4) return false;
  uint32_t file = 0, block = 0;
  if (!ParseFpre004Rule(part[0], &f.rule) || !ParseNumber(part[1], &file) ||
      !ParseNumber(part[2], &block)) {
    return false;
  }
  f.block = BlockKey(file, block);
  if (part[3] != "*" && (!ParseNumber(part[3], &f.thread) || f.thread < 0)) return false;
  if ((f.rule == Fpre004Rule::kRace) != (parts == 5)) return false;
  if (parts == 5) {
    const size_t gt = part[4].find('>');
    if (gt == std::string_view::npos || !ParseNumber(part[4].substr(0, gt), &f.held_site) ||
        !ParseNumber(part[4].substr(gt + 1), &f.partner_site) || f.held_site == 0 ||
        f.partner_site == 0) {
      return false;
    }
  }
  *focus = f;
  return true;
}

sched::Target FocusTarget(const Focus& f) {
  using A = sched::Access;
  sched::Target t;
  t.object = f.block;
  if (f.budget != 0) t.budget = f.budget;
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
  if (f.rule == Fpre004Rule::kRace) {
    // The order the predicting run took, reversed: the thread that took the
    // held site first waits there until another is about to take the
    // partner site on the object, and the partner goes first.
    sched::HoldRule r;
    r.held_site = f.held_site;
    r.partner_site = f.partner_site;
    r.held_first = false;
    r.held_thread = f.thread;
    t.rules.push_back(r);
  } else if (f.rule == Fpre004Rule::kStaleClean) {
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
