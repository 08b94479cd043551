// The rules the analyzer knows, by id, and the set of them an analysis runs.
//
// FPRE004-A: a fill and mark-clean of an object not ordered with another
// thread's acquire..write..release of it (the cache keeps bytes from before
// the write under the checksum from after it). FPRE004-B: a thread's
// consecutive flag reads of an object not ordered with another thread's flag
// update of it (the check combines flags from before and after the update).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ordo/status.h"

namespace ordo::analyze {

enum class RuleId : uint8_t {
  kFpre004A = 0,
  kFpre004B = 1,
};
inline constexpr size_t kRuleCount = 2;

// "FPRE004-A", "FPRE004-B": the id findings and selections use.
const char* RuleName(RuleId rule);

// A set of rules (the ones an analysis runs).
class RuleSet {
 public:
  RuleSet() = default;  // empty
  static RuleSet All();
  void Add(RuleId rule) { bits_ |= Bit(rule); }
  bool Has(RuleId rule) const { return (bits_ & Bit(rule)) != 0; }
  bool empty() const { return bits_ == 0; }
  bool operator==(const RuleSet& other) const { return bits_ == other.bits_; }
  // The names of its rules, comma-separated, in id order ("FPRE004-A,FPRE004-B").
  std::string ToString() const;

 private:
  static uint32_t Bit(RuleId rule) { return uint32_t{1} << static_cast<uint32_t>(rule); }
  uint32_t bits_ = 0;
};

// Parses a comma-separated list of rule ids: "FPRE004" (every FPRE004 rule),
// "FPRE004-A", "FPRE004-B", in any case, blanks around ids ignored.
// InvalidArgument names an unknown id and lists the known ones; an empty
// list is InvalidArgument too (an analysis needs a rule).
Result<RuleSet> ParseRules(std::string_view list);

}  // namespace ordo::analyze
