// The committed sample traces (traces/README.md) give what their README line
// says: each is replayed and its history analyzed here.
#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "ordo/analyze/analyzer.h"
#include "ordo/replay/replayer.h"

namespace ordo::analyze {
namespace {

struct Outcome {
  bool failed = false;
  std::vector<Finding> findings;
  uint64_t api_ops = 0;
};

Outcome ReplayOne(const std::string& trace, engine::EngineMode mode, sched::Strategy strategy,
                  uint64_t seed) {
  ordo::testing::TempDir dir;
  replay::ReplayOptions o;
  o.target = dir.path() + "/t";
  o.engine_mode = mode;
  o.strategy = strategy;
  o.seed = seed;
  o.history_path = dir.path() + "/h.ordo";
  Outcome out;
  auto r = replay::Replay(std::string(ORDO_SOURCE_DIR) + "/traces/" + trace, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  out.failed = r->failures > 0;
  out.api_ops = r->api_level ? r->ops : 0;
  auto a = AnalyzeTrace(o.history_path);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  if (a.ok()) out.findings = a->findings;
  return out;
}

std::string Manifested(const Outcome& o) {
  for (const auto& f : o.findings) {
    if (f.manifested) return f.rule;
  }
  return "none";
}

// The fixed engine replays `trace` clean, with no finding, over seeds 1-5.
void ExpectFixedClean(const std::string& trace, sched::Strategy strategy) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Outcome fixed = ReplayOne(trace, engine::EngineMode::kFixed, strategy, seed);
    EXPECT_FALSE(fixed.failed) << "seed " << seed;
    EXPECT_TRUE(fixed.findings.empty()) << "seed " << seed << ": " << fixed.findings[0].explanation;
  }
}

// A capture of `ordo loadgen` (syscalls + USDT): the engine's own API requests
// are replayed; the README's seed manifests FPRE004-A under pct.
TEST(SampleTraces, LoadgenCaptureAReproducesStaleClean) {
  Outcome o = ReplayOne("loadgen-a.ordo", engine::EngineMode::kLegacy, sched::Strategy::kPct, 12);
  EXPECT_TRUE(o.failed);
  EXPECT_GT(o.api_ops, 1000u);
  EXPECT_EQ(Manifested(o), "FPRE004-A");
  ExpectFixedClean("loadgen-a.ordo", sched::Strategy::kPct);
}

// The same kind of capture; under the random walk the README's seed manifests
// FPRE004-B (verify reading the two flags in the legacy order during compaction).
TEST(SampleTraces, LoadgenCaptureBReproducesVerifyOrder) {
  Outcome o =
      ReplayOne("loadgen-b.ordo", engine::EngineMode::kLegacy, sched::Strategy::kRandom, 15);
  EXPECT_TRUE(o.failed);
  EXPECT_EQ(Manifested(o), "FPRE004-B");
  ExpectFixedClean("loadgen-b.ordo", sched::Strategy::kRandom);
}

// The fio-derived burst trace: FPRE004-A at pct seed 1002 in its first run.
TEST(SampleTraces, FioWriterReaderReproducesStaleClean) {
  Outcome o =
      ReplayOne("fio-writer-reader.ordo", engine::EngineMode::kLegacy, sched::Strategy::kPct, 1002);
  EXPECT_TRUE(o.failed);
  EXPECT_EQ(Manifested(o), "FPRE004-A");
}

}  // namespace
}  // namespace ordo::analyze
