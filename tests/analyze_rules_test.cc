// ordo analyze --rules, in the library: the rules an analysis runs are the
// ones selected, and a selection names known rules.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "analyze_test_util.h"
#include "ordo/analyze/analyzer.h"
#include "ordo/analyze/rules.h"
#include "ordo/trace/record.h"

namespace ordo::analyze {
namespace {

using K = trace::EngineEventKind;

using testing::History;
using testing::kBlock;

// Both orderings in one history, each manifested: FPRE004-A on block 7 (a
// stale mark-clean inside a write), FPRE004-B on block 8 (a legacy-order
// check torn by compaction).
History BothRules() {
  const uint64_t kOther = engine::BlockKey(1, 8);
  History h;
  h.Add(2, K::kBlockLock);
  h.Add(3, K::kPrefetchFill);
  h.Add(3, K::kPrefetchMarkClean);
  h.Add(2, K::kBlockWrite);
  h.Add(2, K::kBlockUnlock);
  h.Add(1, K::kVerifyCheckCacheReady);
  h.Add(1, K::kVerifyCheckPending);
  h.Add(1, K::kVerifyFail, 1);
  h.Add(5, K::kBlockLock, 2, kOther);
  h.Add(5, K::kCompactBegin, 0, kOther);
  h.Add(5, K::kCompactLastWritePending, 0, kOther);
  h.Add(4, K::kVerifyCheckCacheReady, 0, kOther);
  h.Add(5, K::kCompactCacheReady, 0, kOther);
  h.Add(5, K::kCompactEnd, 0, kOther);
  h.Add(5, K::kBlockUnlock, 2, kOther);
  h.Add(4, K::kVerifyCheckPending, 0, kOther);
  h.Add(4, K::kVerifyFail, 2, kOther);
  return h;
}

std::set<std::string> RulesFound(const History& h, const std::string& rules) {
  auto set = ParseRules(rules);
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  AnalyzerOptions o;
  o.rules = set.value();
  std::set<std::string> found;
  for (const auto& f : h.Analyze(o)) {
    EXPECT_TRUE(f.manifested) << f.explanation;
    found.insert(f.rule);
  }
  return found;
}

TEST(AnalyzeRules, OnlyTheSelectedRulesRun) {
  const History h = BothRules();
  using Found = std::set<std::string>;
  EXPECT_EQ(RulesFound(h, "FPRE004"), (Found{"FPRE004-A", "FPRE004-B"}));
  EXPECT_EQ(RulesFound(h, "FPRE004-A,FPRE004-B"), (Found{"FPRE004-A", "FPRE004-B"}));
  // The failure the unselected rule would explain is still not clean.
  EXPECT_EQ(RulesFound(h, "FPRE004-A"), (Found{"FPRE004-A", kUnrecognised}));
  EXPECT_EQ(RulesFound(h, "FPRE004-B"), (Found{"FPRE004-B", kUnrecognised}));
  EXPECT_EQ(RulesFound(h, " fpre004-b "), (Found{"FPRE004-B", kUnrecognised}));
  EXPECT_EQ(RulesFound(h, "all"), (Found{"FPRE004-A", "FPRE004-B"}));
}

TEST(AnalyzeRules, AnUnknownOrEmptySelectionIsAnError) {
  auto bad = ParseRules("FPRE004-A,FPRE005");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("unknown rule \"FPRE005\""), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("FPRE004-A"), std::string::npos);
  EXPECT_FALSE(ParseRules("").ok());
  EXPECT_FALSE(ParseRules(",").ok());
  EXPECT_EQ(ParseRules("all").value(), RuleSet::All());
  EXPECT_EQ(ParseRules("FPRE004,RACE").value(), RuleSet::All());
  EXPECT_EQ(ParseRules("FPRE004").value().ToString(), "FPRE004-A,FPRE004-B");
  EXPECT_EQ(RuleSet::All().ToString(), "all");
  // An analysis with no rule fails rather than finding nothing.
  AnalyzerOptions none;
  none.rules = RuleSet();
  Analyzer a(none);
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ordo::analyze
