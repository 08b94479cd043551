// The cache engine on disk: reads and writes at any offset, persistence,
// read-verify, and the two FPRE004 orderings under directed schedules.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine_test_util.h"
#include "ordo/plugin/plugin.h"

namespace ordo::engine {
namespace {

// Printed when a scenario does not end as expected, to show the schedule taken.
void DumpHistory(const MemoryHistory& h) {
  for (const auto& e : h.events()) {
    std::fprintf(
        stderr, "#%llu t%u %s block %llx arg %llu\n", static_cast<unsigned long long>(e.seq), e.tid,
        trace::EngineEventKindName(static_cast<uint16_t>(ordo::testing::KindOf(e))).c_str(),
        static_cast<unsigned long long>(e.block), static_cast<unsigned long long>(e.arg));
  }
}

using ordo::testing::L;
using ordo::testing::Pattern;
using ordo::testing::TempDir;
using trace::EngineEventKind;

TEST(Engine, MisalignedWritesAndReadsRoundTrip) {
  TempDir dir;
  EngineOptions o;
  auto e = Engine::Open(dir.path(), o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_TRUE((*e)->Write("a", 100, Pattern(100, 10000, 1)).ok());
  ASSERT_TRUE((*e)->Write("a", 5000, Pattern(5000, 3, 2)).ok());
  std::string out;
  ASSERT_TRUE((*e)->Read("a", 0, 20000, &out).ok());
  ASSERT_EQ(out.size(), 10100u);
  EXPECT_EQ(out.substr(0, 100), std::string(100, '\0'));
  EXPECT_EQ(out.substr(100, 4900), Pattern(100, 4900, 1));
  EXPECT_EQ(out.substr(5000, 3), Pattern(5000, 3, 2));
  EXPECT_EQ(out.substr(5003), Pattern(5003, 10100 - 5003, 1));
  EXPECT_EQ((*e)->Size("a").value(), 10100u);
  EXPECT_EQ((*e)->Read("nope", 0, 1, &out).code(), StatusCode::kNotFound);
}

TEST(Engine, DataSurvivesCloseAndReopen) {
  TempDir dir;
  {
    auto e = Engine::Open(dir.path(), {});
    ASSERT_TRUE(e.ok());
    for (uint32_t v = 1; v <= 3; ++v)
      ASSERT_TRUE((*e)->Write("f", 4000, Pattern(4000, 9000, v)).ok());
    ASSERT_TRUE((*e)->Close().ok());
  }
  auto e = Engine::Open(dir.path(), {});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  std::string out;
  ASSERT_TRUE((*e)->Read("f", 4000, 9000, &out).ok());
  EXPECT_EQ(out, Pattern(4000, 9000, 3));
}

TEST(Engine, CompactionRelocatesBlocksAndFreesSegments) {
  TempDir dir;
  EngineOptions o;
  o.segment_blocks = 4;
  o.compaction_interval_ms = 1;
  auto e = Engine::Open(dir.path(), o);
  ASSERT_TRUE(e.ok());
  // Rewrite the same blocks so old segments hold mostly garbage.
  for (uint32_t v = 1; v <= 20; ++v) ASSERT_TRUE((*e)->Write("g", 0, Pattern(0, 4096 * 3, v)).ok());
  for (int i = 0; i < 20; ++i) {
    (*e)->RequestCompaction();
    (*e)->Quiesce();
  }
  EXPECT_GT((*e)->stats().segments_dropped, 0u);
  std::string out;
  ASSERT_TRUE((*e)->Read("g", 0, 4096 * 3, &out).ok());
  EXPECT_EQ(out, Pattern(0, 4096 * 3, 20));
  ASSERT_TRUE((*e)->Close().ok());
  auto again = Engine::Open(dir.path(), o);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Read("g", 0, 4096 * 3, &out).ok());
  EXPECT_EQ(out, Pattern(0, 4096 * 3, 20));
}

TEST(Engine, UsdtProbesAreInTheBinaryWithSemaphores) {
  // The engine's probes are what `ordo capture --usdt` attaches to.
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  FILE* p = popen(("readelf -n '" + self + "' 2>/dev/null").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string notes;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) notes.append(buf, n);
  pclose(p);
  if (notes.empty()) GTEST_SKIP() << "readelf (binutils) is not installed";
  EXPECT_NE(notes.find("Provider: ordo\n    Name: point"), std::string::npos) << notes;
  EXPECT_NE(notes.find("Provider: ordo\n    Name: request"), std::string::npos);
  EXPECT_EQ(notes.find("Semaphore: 0x0000000000000000"), std::string::npos);
}

// A run of the engine under a controlled scheduler: the test thread takes
// part as thread 0; background threads follow (prefetch workers, then
// compaction); then the scenario's own threads.
struct ScenarioRun {
  Status reader;  // what the scenario's reader saw
  MemoryHistory history;
  EngineStats stats;
};

// FPRE004-A: a reader's sequential misaligned reads make the prefetcher read
// block 3 ahead while a writer holds block 3's lock; the reader then reads
// block 3.
void RunStaleClean(EngineMode mode, const sched::SchedulerOptions& so, ScenarioRun* run) {
  TempDir dir;
  sched::Scheduler s(so);
  s.Attach("main");  // 0
  EngineOptions o;
  o.mode = mode;
  o.prefetch_workers = 1;  // thread 1
  o.prefetch_depth = 1;
  o.compaction = false;
  plugin::SchedulerHost host(&s, &run->history, 0);
  o.host = host.abi();
  auto e = Engine::Open(dir.path(), o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Engine& engine = **e;
  ASSERT_TRUE(engine.Write("f", 0, Pattern(0, 8 * 4096, 1)).ok());
  int w = s.Spawn("writer", [&] {
    ASSERT_TRUE(engine.Write("f", 3 * 4096 + 10, Pattern(3 * 4096 + 10, 100, 2)).ok());
  });
  int r = s.Spawn("reader", [&] {
    std::string out;
    ASSERT_TRUE(engine.Read("f", 100, 4096, &out).ok());
    ASSERT_TRUE(engine.Read("f", 4196, 4096, &out).ok());  // sequential: prefetch block 3
    run->reader = engine.Read("f", 3 * 4096, 4096, &out);
    if (run->reader.ok() && out.substr(10, 100) != Pattern(3 * 4096 + 10, 100, 2)) {
      run->reader = Status::Corruption("reader saw old data without a verify failure");
    }
  });
  s.Join(w);
  s.Join(r);
  run->stats = engine.stats();
  ASSERT_TRUE(engine.Close().ok());
  s.Detach();
}

sched::SchedulerOptions StaleCleanPlan() {
  sched::SchedulerOptions so;
  so.strategy = sched::Strategy::kDirected;
  const int prefetch = 1, writer = 2, reader = 3;
  so.directed = {
      {reader, L(EngineEventKind::kReadEnd), 1},  // two reads; prefetch of block 3 issued
      {writer, L(EngineEventKind::kBlockWrite)},  // writer holds block 3's lock, saw it uncached
      {prefetch, 0},                              // prefetch fills block 3 and marks it clean
      {writer, 0},                                // writer updates data and checksum, unlocks
      {reader, 0},                                // reader reads block 3
  };
  return so;
}

TEST(Fpre004, StaleCleanReproducesOnLegacyUnderItsDirectedSchedule) {
  ScenarioRun run;
  RunStaleClean(EngineMode::kLegacy, StaleCleanPlan(), &run);
  if (run.reader.code() != StatusCode::kVerifyFailed) DumpHistory(run.history);
  ASSERT_EQ(run.reader.code(), StatusCode::kVerifyFailed) << run.reader.ToString();
  EXPECT_NE(run.reader.message().find("FPRE004: checksum mismatch on block 3"), std::string::npos)
      << run.reader.message();
  EXPECT_EQ(run.stats.verify_failures, 1u);
}

TEST(Fpre004, StaleCleanScheduleIsCleanOnFixed) {
  ScenarioRun run;
  RunStaleClean(EngineMode::kFixed, StaleCleanPlan(), &run);
  EXPECT_TRUE(run.reader.ok()) << run.reader.ToString();
  EXPECT_EQ(run.stats.prefetch_skipped, 1u);  // it met the writer's lock
}

// FPRE004-B: compaction relocates block 5 while a reader verifies its cached copy.
void RunVerifyOrder(EngineMode mode, const sched::SchedulerOptions& so, ScenarioRun* run) {
  TempDir dir;
  sched::Scheduler s(so);
  s.Attach("main");  // 0
  EngineOptions o;
  o.mode = mode;
  o.prefetch_workers = 0;
  o.compaction = true;  // thread 1
  plugin::SchedulerHost host(&s, &run->history, 0);
  o.host = host.abi();
  auto e = Engine::Open(dir.path(), o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Engine& engine = **e;
  ASSERT_TRUE(engine.Write("f", 0, Pattern(0, 8 * 4096, 1)).ok());
  std::string out;
  ASSERT_TRUE(engine.Read("f", 5 * 4096, 10, &out).ok());  // block 5 now cached
  engine.RequestCompaction("f", 5);
  int r = s.Spawn("reader", [&] {
    std::string got;
    run->reader = engine.Read("f", 5 * 4096 + 7, 5000, &got);
    if (run->reader.ok() && got != Pattern(5 * 4096 + 7, 5000, 1)) {
      run->reader = Status::Corruption("reader saw wrong data");
    }
  });
  s.Join(r);
  engine.Quiesce();
  run->stats = engine.stats();
  ASSERT_TRUE(engine.Close().ok());
  s.Detach();
}

sched::SchedulerOptions VerifyOrderPlan() {
  sched::SchedulerOptions so;
  so.strategy = sched::Strategy::kDirected;
  const int compaction = 1, reader = 2;
  so.directed = {
      {compaction, L(EngineEventKind::kCompactCacheReady)},  // "pending", not "ready"
      {reader, L(EngineEventKind::kVerifyCheckPending)},     // legacy read "ready" = false
      {compaction, 0},                                       // "ready" again, not pending
      {reader, 0},                                           // reads "pending" = false
  };
  return so;
}

TEST(Fpre004, VerifyOrderReproducesOnLegacyUnderItsDirectedSchedule) {
  ScenarioRun run;
  RunVerifyOrder(EngineMode::kLegacy, VerifyOrderPlan(), &run);
  if (run.reader.code() != StatusCode::kVerifyFailed) DumpHistory(run.history);
  ASSERT_EQ(run.reader.code(), StatusCode::kVerifyFailed) << run.reader.ToString();
  EXPECT_NE(run.reader.message().find("neither \"cache ready\" nor \"last write pending\""),
            std::string::npos)
      << run.reader.message();
  EXPECT_EQ(run.stats.blocks_relocated, 1u);
}

TEST(Fpre004, VerifyOrderScheduleIsCleanOnFixed) {
  ScenarioRun run;
  RunVerifyOrder(EngineMode::kFixed, VerifyOrderPlan(), &run);
  EXPECT_TRUE(run.reader.ok()) << run.reader.ToString();
  EXPECT_EQ(run.stats.blocks_relocated, 1u);
}

}  // namespace
}  // namespace ordo::engine
