// ordo analyze: the FPRE004 rules on hand-built histories (each ordering,
// its fixed form, and its lock-ordered form) and on real replay histories.
#include <fmt/core.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "analyze_test_util.h"
#include "engine_test_util.h"
#include "ordo/analyze/analyzer.h"
#include "ordo/engine/engine.h"
#include "ordo/replay/replayer.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/writer.h"

namespace ordo::analyze {
namespace {

using trace::EngineEventKind;
using K = EngineEventKind;

using testing::History;
using testing::kBlock;

// The same occurrences: rule, block, threads, manifested, count.
void ExpectSameOccurrences(const std::vector<Finding>& native, const std::vector<Finding>& other) {
  auto key = [](const std::vector<Finding>& fs) {
    std::vector<std::string> out;
    for (const auto& f : fs) {
      out.push_back(fmt::format("{} block {:#x} threads {}/{} manifested {} count {}", f.rule,
                                f.block, f.threads[0], f.threads[1], f.manifested, f.count));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(key(native), key(other));
}

TEST(Analyze, StaleCleanWhileTheWriteLockIsHeldIsFlaggedAndManifests) {
  History h;
  h.Add(1, K::kPrefetchIssue);          // #0 reader asks for block 7 ahead
  h.Add(2, K::kBlockLock);              // #1 writer locks block 7
  h.Add(3, K::kPrefetchFill);           // #2 prefetch reads the old bytes
  h.Add(3, K::kPrefetchMarkClean);      // #3 and marks them clean
  h.Add(2, K::kBlockWrite);             // #4
  h.Add(2, K::kBlockUnlock);            // #5
  h.Add(1, K::kVerifyCheckCacheReady);  // #6
  h.Add(1, K::kVerifyCheckPending);     // #7
  h.Add(1, K::kVerifyFail, 1);          // #8 checksum mismatch
  auto f = h.Analyze();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "FPRE004-A");
  EXPECT_TRUE(f[0].manifested);
  EXPECT_EQ(f[0].block, kBlock);
  EXPECT_EQ(f[0].offset, 7u * 4096);
  EXPECT_EQ(f[0].events, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(f[0].threads, (std::vector<uint32_t>{2, 3}));
  EXPECT_NE(
      f[0].explanation.find("T2 acquired block 7 of file 1 (offset 28672) at #1 and wrote it"),
      std::string::npos)
      << f[0].explanation;
  EXPECT_NE(f[0].explanation.find("marked the buffer clean at #3, while T2 held it"),
            std::string::npos);
}

// The read-miss form: a reader caches the old version while the write holds
// the lock; legacy's publish keeps it (it replaces only what was cached when
// it locked), fixed's replaces whatever is cached.
TEST(Analyze, ReadMissCachedInsideALegacyWriteIsFlaggedAndAFixedOneIsNot) {
  for (int replaces_any = 0; replaces_any < 2; ++replaces_any) {
    History h;
    h.Add(2, K::kBlockLock);                   // #0 writer locks block 7
    h.Add(2, K::kBlockWrite);                  // #1
    h.Add(3, K::kCacheFill);                   // #2 a read miss caches the old bytes
    h.Add(2, K::kCachePublish, replaces_any);  // #3 the write publishes its checksum
    h.Add(2, K::kBlockUnlock);                 // #4
    if (replaces_any == 0) {
      h.Add(1, K::kVerifyCheckCacheReady);  // #5
      h.Add(1, K::kVerifyCheckPending);     // #6
      h.Add(1, K::kVerifyFail, 1);          // #7 checksum mismatch
    }
    auto f = h.Analyze();
    if (replaces_any == 1) {
      EXPECT_TRUE(f.empty()) << f[0].explanation;
      continue;
    }
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].rule, "FPRE004-A");
    EXPECT_TRUE(f[0].manifested);
    EXPECT_EQ(f[0].events, (std::vector<uint64_t>{0, 2}));  // the lock and the fill inside it
    EXPECT_NE(
        f[0].explanation.find(
            "T3 missed the cache and cached the object's old data at #2 (fill_clean), while T2 "
            "held it"),
        std::string::npos)
        << f[0].explanation;
  }
}

TEST(Analyze, StaleCleanIsPredictedEvenWhenTheRunPassed) {
  History h;
  h.Add(2, K::kBlockLock);
  h.Add(2, K::kBlockWrite);
  h.Add(2, K::kBlockUnlock);   // the write is done...
  h.Add(3, K::kPrefetchFill);  // ...before prefetch runs, but nothing orders them
  h.Add(3, K::kPrefetchMarkClean);
  auto f = h.Analyze();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "FPRE004-A");
  EXPECT_FALSE(f[0].manifested);
  EXPECT_NE(f[0].explanation.find("after T2's release at #2 but not ordered after it"),
            std::string::npos);
}

TEST(Analyze, PrefetchThatTakesTheBlockLockIsOrderedAndClean) {
  History h;  // the fixed engine: prefetch fills under the block lock
  h.Add(2, K::kBlockLock);
  h.Add(2, K::kBlockWrite);
  h.Add(2, K::kBlockUnlock);
  h.Add(3, K::kBlockLock, 1);
  h.Add(3, K::kPrefetchFill);
  h.Add(3, K::kPrefetchMarkClean);
  h.Add(3, K::kBlockUnlock, 1);
  h.Add(2, K::kBlockLock);  // and a later write is ordered after the mark too
  h.Add(2, K::kBlockUnlock);
  EXPECT_TRUE(h.Analyze().empty());
}

History Compaction(bool legacy_order, bool ordered_by_lock) {
  History h;
  h.Add(5, K::kBlockLock, 2);
  h.Add(5, K::kCompactBegin);
  h.Add(5, K::kCompactLastWritePending);  // #2
  if (legacy_order) {
    h.Add(1, K::kVerifyCheckCacheReady);  // #3 sees "not ready"
  } else {  // the fixed order is a sequence lock: generation, flags, generation
    h.Add(1, K::kVerifyCheckGeneration);
    h.Add(1, K::kVerifyCheckPending);
  }
  h.Add(5, K::kCompactCacheReady);  // #4
  h.Add(5, K::kCompactEnd);
  h.Add(5, K::kBlockUnlock, 2);
  if (ordered_by_lock) {  // the reader synchronizes with compaction first
    h.Add(1, K::kBlockLock);
    h.Add(1, K::kBlockUnlock);
    h.Add(1, K::kVerifyCheckCacheReady);
    h.Add(1, K::kVerifyCheckPending);
  } else if (legacy_order) {
    h.Add(1, K::kVerifyCheckPending);  // #7 sees "not pending"
    h.Add(1, K::kVerifyFail, 2);
  } else {
    h.Add(1, K::kVerifyCheckCacheReady);
    h.Add(1, K::kVerifyCheckGeneration);
    h.Add(1, K::kVerifyOk);
  }
  return h;
}

TEST(Analyze, VerifyOrderDuringCompactionIsFlaggedAndManifests) {
  auto f = Compaction(true, false).Analyze();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "FPRE004-B");
  EXPECT_TRUE(f[0].manifested);
  EXPECT_EQ(f[0].events, (std::vector<uint64_t>{2, 3, 4, 7}));
  EXPECT_NE(f[0].explanation.find("T1 read the object's flags at #3 and again at #7 in one check"),
            std::string::npos)
      << f[0].explanation;
}

TEST(Analyze, FixedVerifyOrderAndOrderedReadsAreClean) {
  EXPECT_TRUE(Compaction(false, false).Analyze().empty());
  EXPECT_TRUE(Compaction(true, true).Analyze().empty());
}

// Fixed verify retries while compaction moves the block: (generation,)
// pending, ready, (generation,) and again. The "ready" then "pending" in the middle belongs to two
// fixed-order attempts, not to one legacy pair.
TEST(Analyze, FixedVerifyRetryIsNotTheLegacyOrder) {
  History h;
  h.Add(5, K::kBlockLock, 2);
  h.Add(5, K::kCompactBegin);
  h.Add(5, K::kCompactLastWritePending);
  h.Add(1, K::kVerifyCheckGeneration);
  h.Add(1, K::kVerifyCheckPending);
  h.Add(1, K::kVerifyCheckCacheReady);
  h.Add(5, K::kCompactCacheReady);
  h.Add(1, K::kVerifyCheckGeneration);  // the generation moved: retry
  h.Add(1, K::kVerifyCheckGeneration);
  h.Add(1, K::kVerifyCheckPending);
  h.Add(1, K::kVerifyCheckCacheReady);
  h.Add(1, K::kVerifyCheckGeneration);
  h.Add(1, K::kVerifyOk);
  h.Add(5, K::kCompactEnd);
  h.Add(5, K::kBlockUnlock, 2);
  auto f = h.Analyze();
  EXPECT_TRUE(f.empty()) << f[0].explanation;
}

TEST(Analyze, FindingsAreDeduplicatedBySignatureWithCounts) {
  History h;
  for (uint64_t b = 0; b < 10; ++b) {
    h.Add(2, K::kBlockLock, 0, b);
    h.Add(3, K::kPrefetchFill, 0, b);
    h.Add(3, K::kPrefetchMarkClean, 0, b);
    h.Add(2, K::kBlockWrite, 0, b);
    h.Add(2, K::kBlockUnlock, 0, b);
  }
  auto f = h.Analyze();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].count, 10u);
}

// Real histories: the replay of the fio-derived trace.
Result<AnalyzeResult> ReplayAndAnalyze(engine::EngineMode mode, uint64_t seed, bool* failed) {
  ordo::testing::TempDir dir;
  replay::ReplayOptions o;
  o.target = dir.path() + "/t";
  o.engine_mode = mode;
  o.seed = seed;
  o.history_path = dir.path() + "/h.ordo";
  auto r = replay::Replay(std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo", o);
  if (!r.ok()) return r.status();
  *failed = r->failures > 0;
  return AnalyzeTrace(o.history_path);
}

// A replay history (site events of the built-in engine) rewritten as a
// history from before site tables: the engine's own kinds, no site table.
std::string AsEngineKinds(const std::string& history) {
  const std::string out = history + ".kinds";
  auto r = trace::TraceReader::Open(history);
  EXPECT_TRUE(r.ok());
  auto w = trace::TraceWriter::Create(out, (*r)->header());
  EXPECT_TRUE(w.ok());
  trace::Record rec;
  while ((*r)->Next(&rec)) {
    if (rec.kind == trace::RecordKind::kSite) continue;
    if (rec.kind == trace::RecordKind::kEngine) {
      EXPECT_TRUE(trace::IsSiteEvent(rec.engine.kind));
      rec.engine.kind = static_cast<uint16_t>(rec.engine.kind - trace::kSiteEventBase - 1);
    }
    EXPECT_TRUE((*w)->Add(rec).ok());
  }
  EXPECT_TRUE((*w)->Close().ok());
  return out;
}

// Old histories keep their meaning: the built-in engine's histories, legacy
// and fixed, read as its own kinds give the findings their site events give.
TEST(Analyze, HistoriesFromBeforeSiteTablesAreJudgedAsTheBuiltInEnginesSites) {
  int with_findings = 0;
  for (auto mode : {engine::EngineMode::kLegacy, engine::EngineMode::kFixed}) {
    for (auto strategy : {sched::Strategy::kPos, sched::Strategy::kPct}) {
      for (uint64_t seed = 1000; seed < 1002; ++seed) {
        ordo::testing::TempDir dir;
        replay::ReplayOptions o;
        o.target = dir.path() + "/t";
        o.engine_mode = mode;
        o.strategy = strategy;
        o.seed = seed;
        o.history_path = dir.path() + "/h.ordo";
        auto r = replay::Replay(std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo", o);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        auto sites = AnalyzeTrace(o.history_path);
        auto kinds = AnalyzeTrace(AsEngineKinds(o.history_path));
        ASSERT_TRUE(sites.ok() && kinds.ok());
        SCOPED_TRACE(fmt::format("{} {} seed {}", engine::EngineModeName(mode),
                                 sched::StrategyName(strategy), seed));
        ExpectSameOccurrences(sites->findings, kinds->findings);
        EXPECT_EQ(sites->events, kinds->events);
        with_findings += !sites->findings.empty();
        if (mode == engine::EngineMode::kFixed) EXPECT_TRUE(sites->findings.empty());
      }
    }
  }
  EXPECT_EQ(with_findings, 4);  // every legacy run predicts or manifests FPRE004
}

TEST(Analyze, ReplayHistoriesLegacyFlaggedFixedClean) {
  bool failed = false;
  auto legacy = ReplayAndAnalyze(engine::EngineMode::kLegacy, 1002, &failed);
  ASSERT_TRUE(legacy.ok()) << legacy.status().ToString();
  ASSERT_TRUE(failed);
  ASSERT_FALSE(legacy->findings.empty());
  bool manifested = false;
  for (const auto& f : legacy->findings) manifested |= f.manifested;
  EXPECT_TRUE(manifested);
  for (uint64_t seed : {1000u, 1001u, 1002u}) {
    auto fixed = ReplayAndAnalyze(engine::EngineMode::kFixed, seed, &failed);
    ASSERT_TRUE(fixed.ok());
    EXPECT_FALSE(failed);
    EXPECT_TRUE(fixed->findings.empty()) << fixed->findings[0].explanation;
    EXPECT_GT(fixed->events, 1000u);
  }
  // Predictive: a legacy run that passed still shows the orderings.
  for (uint64_t seed = 2000; seed < 2020; ++seed) {
    auto run = ReplayAndAnalyze(engine::EngineMode::kLegacy, seed, &failed);
    ASSERT_TRUE(run.ok());
    if (failed) continue;
    ASSERT_FALSE(run->findings.empty()) << "seed " << seed;
    for (const auto& f : run->findings) EXPECT_FALSE(f.manifested);
    return;
  }
  FAIL() << "every legacy seed failed: no passing run to predict from";
}

TEST(Analyze, CleanControlTraceNeverFailsAndYieldsNoFinding) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    ordo::testing::TempDir dir;
    replay::ReplayOptions o;
    o.target = dir.path() + "/t";
    o.engine_mode = engine::EngineMode::kLegacy;
    o.strategy = seed % 2 ? sched::Strategy::kPct : sched::Strategy::kRandom;
    o.seed = seed;
    o.history_path = dir.path() + "/h.ordo";
    auto r = replay::Replay(std::string(ORDO_SOURCE_DIR) + "/traces/fio-clean-control.ordo", o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->failures, 0) << "seed " << seed;
    EXPECT_GT(r->ops, 100u);
    auto a = AnalyzeTrace(o.history_path);
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(a->findings.empty()) << "seed " << seed << ": " << a->findings[0].explanation;
  }
}

}  // namespace
}  // namespace ordo::analyze

namespace ordo::analyze {
namespace {

// A history of an engine's own sites: `blocks` stale fills inside writes,
// then (when `redefine`) entries that redefine the fill and mark sites as
// no access. A site entry judges only the events after it.
std::string SiteHistory(const std::string& path, uint64_t blocks, bool redefine, bool table) {
  auto w = trace::TraceWriter::Create(path, trace::TraceHeader{});
  EXPECT_TRUE(w.ok());
  using A = sched::Access;
  const std::pair<const char*, A> sites[] = {{"write.lock", A::kAcquire},
                                             {"write.update", A::kWrite},
                                             {"write.unlock", A::kRelease},
                                             {"readahead.fill", A::kFill},
                                             {"readahead.mark_clean", A::kMarkClean}};
  for (uint32_t i = 0; table && i < 5; ++i) {
    EXPECT_TRUE((*w)->Add(trace::Record::Site(
                              {i + 1, static_cast<uint8_t>(sites[i].second), sites[i].first}))
                    .ok());
  }
  uint64_t seq = 0;
  auto event = [&](uint32_t tid, uint16_t site, uint64_t block) {
    trace::EngineRecord e;
    e.kind = static_cast<uint16_t>(trace::kSiteEventBase + site);
    e.tid = tid;
    e.block = block;
    e.seq = seq++;
    EXPECT_TRUE((*w)->Add(trace::Record::Engine(e)).ok());
  };
  for (uint64_t b = 0; b < blocks; ++b) {
    event(1, 1, b);
    event(1, 2, b);
    event(2, 4, b);
    event(2, 5, b);
    event(1, 3, b);
  }
  if (redefine) {
    EXPECT_TRUE((*w)->Add(trace::Record::Site({4, 0, "readahead.fill"})).ok());
    EXPECT_TRUE((*w)->Add(trace::Record::Site({5, 0, "readahead.mark_clean"})).ok());
  }
  EXPECT_TRUE((*w)->Close().ok());
  return path;
}

TEST(AnalyzeSites, AnEntryJudgesOnlyTheEventsAfterItWhateverTheBatching) {
  ordo::testing::TempDir dir;
  AnalyzerOptions o;
  o.deduplicate = false;
  const std::string plain = SiteHistory(dir.path() + "/a.ordo", 3000, false, true);
  const std::string later = SiteHistory(dir.path() + "/b.ordo", 3000, true, true);
  for (int i = 0; i < 3; ++i) {
    auto a = AnalyzeTrace(plain, o);
    auto b = AnalyzeTrace(later, o);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->findings.size(), 3000u);
    EXPECT_EQ(b->findings.size(), 3000u) << "a site entry changed how earlier events were judged";
    EXPECT_EQ(b->unknown_site_events, 0u);
  }
}

TEST(AnalyzeSites, EventsOfSitesWithNoEntryAreCountedNotGuessed) {
  ordo::testing::TempDir dir;
  auto r = AnalyzeTrace(SiteHistory(dir.path() + "/c.ordo", 10, false, false));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->findings.empty());
  EXPECT_EQ(r->unknown_site_events, 50u);
  EXPECT_EQ(r->events, 50u);
}

}  // namespace
}  // namespace ordo::analyze
