// Rule ids, their selection, and the rule of each id.
#include <cctype>

#include "ordo/analyze/rules.h"
#include "rule.h"

namespace ordo::analyze {

namespace {

// A selectable id and the rules it stands for.
struct Selector {
  const char* id;
  uint32_t rules;  // bit per RuleId
};
constexpr Selector kSelectors[] = {
    {"ALL", 0x7}, {"FPRE004", 0x3}, {"FPRE004-A", 0x1}, {"FPRE004-B", 0x2}, {"RACE", 0x4},
};
constexpr const char* kKnown = "all, FPRE004, FPRE004-A, FPRE004-B, RACE";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool SameId(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

}  // namespace

const char* RuleName(RuleId rule) {
  switch (rule) {
    case RuleId::kFpre004A:
      return "FPRE004-A";
    case RuleId::kFpre004B:
      return "FPRE004-B";
    case RuleId::kRace:
      return "RACE";
  }
  return "unknown";
}

RuleSet RuleSet::All() {
  RuleSet s;
  for (size_t i = 0; i < kRuleCount; ++i) s.Add(static_cast<RuleId>(i));
  return s;
}

std::string RuleSet::ToString() const {
  if (*this == All()) return "all";
  std::string out;
  for (size_t i = 0; i < kRuleCount; ++i) {
    if (!Has(static_cast<RuleId>(i))) continue;
    if (!out.empty()) out += ',';
    out += RuleName(static_cast<RuleId>(i));
  }
  return out;
}

Result<RuleSet> ParseRules(std::string_view list) {
  RuleSet set;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view id = Trim(list.substr(start, end - start));
    start = end + 1;
    if (id.empty()) continue;
    const Selector* found = nullptr;
    for (const Selector& s : kSelectors) {
      if (SameId(id, s.id)) found = &s;
    }
    if (found == nullptr) {
      return Status::InvalidArgument("unknown rule \"" + std::string(id) + "\" (known: " + kKnown +
                                     ")");
    }
    for (size_t i = 0; i < kRuleCount; ++i) {
      if ((found->rules >> i) & 1) set.Add(static_cast<RuleId>(i));
    }
  }
  if (set.empty()) {
    return Status::InvalidArgument(std::string("no rule selected (known: ") + kKnown + ")");
  }
  return set;
}

std::unique_ptr<Rule> MakeRule(RuleId id, Analysis& a) {
  switch (id) {
    case RuleId::kFpre004A:
      return MakeStaleCleanRule(a);
    case RuleId::kFpre004B:
      return MakeTornFlagsRule(a);
    case RuleId::kRace:
      return MakeRaceRule(a);
  }
  return nullptr;
}

}  // namespace ordo::analyze
