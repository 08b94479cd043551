// The generic rule (RACE) and failures no rule explains (UNRECOGNISED), on
// hand-built histories of the built-in engine's kinds: a block_write outside
// any lock is an unlocked write, a prefetch_fill a read of the block.
#include <gtest/gtest.h>

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

std::vector<Finding> Of(const std::vector<Finding>& all, const std::string& rule) {
  std::vector<Finding> out;
  for (const auto& f : all) {
    if (f.rule == rule) out.push_back(f);
  }
  return out;
}

uint32_t Site(K kind) { return 0x10000u + static_cast<uint32_t>(kind); }

TEST(AnalyzeRace, AnUnlockedWriteAndAnotherThreadsReadUnorderedArePredicted) {
  History h;
  h.Add(2, K::kBlockWrite);    // #0, T2, no lock held
  h.Add(3, K::kPrefetchFill);  // #1, T3, nothing orders it with #0
  auto races = Of(h.Analyze(), "RACE");
  ASSERT_EQ(races.size(), 1u);
  EXPECT_FALSE(races[0].manifested);
  EXPECT_EQ(races[0].threads, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(races[0].events, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(races[0].sites, (std::vector<uint32_t>{Site(K::kBlockWrite), Site(K::kPrefetchFill)}));
  EXPECT_NE(races[0].explanation.find("block_write"), std::string::npos) << races[0].explanation;
  // The other order is a race too: the read first, the unlocked write after.
  History r;
  r.Add(3, K::kPrefetchFill);
  r.Add(2, K::kBlockWrite);
  EXPECT_EQ(Of(r.Analyze(), "RACE").size(), 1u);
}

TEST(AnalyzeRace, PairsOrderedByALockOrInsideTheWritersLockAreNot) {
  History h;  // the write inside T2's lock, the read after T2's release
  h.Add(2, K::kBlockLock);
  h.Add(2, K::kBlockWrite);
  h.Add(2, K::kBlockUnlock);
  h.Add(3, K::kBlockLock);
  h.Add(3, K::kPrefetchFill);
  h.Add(3, K::kBlockUnlock);
  EXPECT_TRUE(Of(h.Analyze(), "RACE").empty());
  History w;  // a write inside its lock, unordered with a read: the lock discipline's (A's)
  w.Add(2, K::kBlockLock);
  w.Add(2, K::kBlockWrite);
  w.Add(3, K::kPrefetchFill);
  w.Add(2, K::kBlockUnlock);
  EXPECT_TRUE(Of(w.Analyze(), "RACE").empty());
  History other;  // two objects
  other.Add(2, K::kBlockWrite);
  other.Add(3, K::kPrefetchFill, 0, kBlock + 1);
  EXPECT_TRUE(Of(other.Analyze(), "RACE").empty());
}

TEST(AnalyzeRace, AFailureWhoseReadWentBeforeAnUnlockedWriteIsTheRaceManifested) {
  History h;  // a torn persist: T3 reads the old checksum, fails; T2's late write
  h.Add(3, K::kPrefetchFill);
  h.Add(3, K::kVerifyFail, 1);
  h.Add(2, K::kBlockWrite);
  auto all = h.Analyze();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].rule, "RACE");
  EXPECT_TRUE(all[0].manifested);
  EXPECT_EQ(all[0].events, (std::vector<uint64_t>{0, 2}));
}

TEST(AnalyzeRace, AFailureNoRuleExplainsIsUnrecognisedWithItsSlice) {
  History h;
  h.Add(2, K::kBlockLock);
  h.Add(2, K::kBlockWrite);  // #1: the last write before the failure
  h.Add(2, K::kBlockUnlock);
  h.Add(3, K::kBlockLock);
  h.Add(3, K::kVerifyFail, 1);  // #4: ordered after the write, no rule's shape
  h.Add(3, K::kBlockUnlock);
  for (const char* rules : {"all", "FPRE004", "RACE"}) {
    AnalyzerOptions o;
    o.rules = ParseRules(rules).value();
    auto all = h.Analyze(o);
    ASSERT_EQ(all.size(), 1u) << rules;
    const Finding& f = all[0];
    EXPECT_EQ(f.rule, kUnrecognised);
    EXPECT_TRUE(f.manifested);
    EXPECT_EQ(f.events, (std::vector<uint64_t>{1, 4}));
    EXPECT_EQ(f.threads, (std::vector<uint32_t>{3, 2}));
    EXPECT_NE(f.explanation.find("at #4"), std::string::npos) << f.explanation;
    EXPECT_NE(f.explanation.find("T2 block_write (write) at #1"), std::string::npos)
        << f.explanation;
    EXPECT_NE(f.explanation.find("unrecognised ordering"), std::string::npos);
  }
  History clean;  // the same steps without the failure: nothing at all
  clean.Add(2, K::kBlockLock);
  clean.Add(2, K::kBlockWrite);
  clean.Add(2, K::kBlockUnlock);
  EXPECT_TRUE(clean.Analyze().empty());
}

}  // namespace
}  // namespace ordo::analyze
