// The rules the analyzer knows, by id, and the set of them an analysis runs.
//
// FPRE004-A: a fill and mark-clean of an object not ordered with another
// thread's acquire..write..release of it (the cache keeps bytes from before
// the write under the checksum from after it). FPRE004-B: a thread's
// consecutive flag reads of an object not ordered with another thread's flag
// update of it (the check combines flags from before and after the update).
// RACE, for any engine whatever the shape of its bug: a write-like access
// (WRITE, PUBLISH, FLAG_SET) of an object that its thread takes outside its
// lock of the object, and a read-like one (READ, FILL, FILL_CLEAN,
// FLAG_READ; a VERIFY checks what its thread read) of it by another thread,
// that no happens-before edge orders (no lock, no hand-off between them):
// either may come first, and a run that forces the other order may fail.
// (Writes inside the lock are the lock discipline's, judged by FPRE004-A and
// -B.)
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
  kRace = 2,
};
inline constexpr size_t kRuleCount = 3;

// "FPRE004-A", "FPRE004-B", "RACE": the id findings and selections use.
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
  // Every rule is "all".
  std::string ToString() const;

 private:
  static uint32_t Bit(RuleId rule) { return uint32_t{1} << static_cast<uint32_t>(rule); }
  uint32_t bits_ = 0;
};

// The rule id of a failure no rule explains: a finding of its own (the
// failing step and its causal slice), never selected and never off.
inline constexpr const char* kUnrecognised = "UNRECOGNISED";

// Parses a comma-separated list of rule ids: "all" (every rule), "FPRE004"
// (every FPRE004 rule), "FPRE004-A", "FPRE004-B", "RACE", in any case, blanks around ids ignored.
// InvalidArgument names an unknown id and lists the known ones; an empty
// list is InvalidArgument too (an analysis needs a rule).
Result<RuleSet> ParseRules(std::string_view list);

}  // namespace ordo::analyze
