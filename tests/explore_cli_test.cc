// Exploration as teams run it: split across machines with --shard and merged
// by `ordo report`.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "cli_test_util.h"

namespace ordo {
namespace {

std::set<uint64_t> FailingSeeds(const nlohmann::json& j) {
  std::set<uint64_t> seeds;
  for (const auto& f : j["failing_runs"]) seeds.insert(f["seed"].get<uint64_t>());
  return seeds;
}

TEST_F(Cli, ShardsTogetherFindWhatOneRunFinds) {
  const std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  const std::string common = trace + " --engine legacy --explore pct --seed 990 --runs 30 --json";
  CmdResult one = Ordo("replay " + common + " --target " + dir_ + "/t");
  ASSERT_EQ(one.code, 1) << one.err;
  auto j = nlohmann::json::parse(one.out);
  std::set<uint64_t> expected = FailingSeeds(j);
  ASSERT_GE(expected.size(), 2u);  // several failing seeds, so the split is tested

  const int n = 4;
  std::set<uint64_t> found;
  std::string shard_files;
  int runs = 0;
  for (int k = 1; k <= n; ++k) {
    CmdResult r =
        Ordo(fmt::format("replay {} --target {}/t{} --shard {}/{}", common, dir_, k, k, n));
    ASSERT_LE(r.code, 1) << r.err;
    auto s = nlohmann::json::parse(r.out);
    EXPECT_EQ(s["shard"], fmt::format("{}/{}", k, n));
    runs += s["runs"].get<int>();
    for (const auto& f : s["failing_runs"]) {
      EXPECT_EQ(f["run"].get<int>() % n, k - 1) << "shard " << k << " made a run of another shard";
      EXPECT_EQ(f["seed"].get<uint64_t>(), 990u + f["run"].get<uint64_t>());
    }
    std::set<uint64_t> mine = FailingSeeds(s);
    for (uint64_t seed : mine)
      EXPECT_TRUE(found.insert(seed).second) << "seed " << seed << " in two shards";
    std::string path = fmt::format("{}/shard{}.json", dir_, k);
    std::ofstream(path) << r.out;
    shard_files += " " + path;
  }
  EXPECT_EQ(runs, 30);
  EXPECT_EQ(found, expected);

  // Merged, the report names the same first failure and its command.
  ASSERT_EQ(Ordo("report" + shard_files + " -o " + dir_ + "/merged.md").code, 0);
  std::string md = Slurp(dir_ + "/merged.md");
  EXPECT_NE(md.find("all 4 shards, 30 runs made, FPRE004 in " + std::to_string(expected.size())),
            std::string::npos)
      << md;
  uint64_t first = *expected.begin();
  EXPECT_NE(md.find(fmt::format("(seed {}), {} runs to reproduce", first, first - 990 + 1)),
            std::string::npos)
      << md;
  EXPECT_NE(md.find(fmt::format("--seed {} --depth 10 --runs 1", first)), std::string::npos) << md;

  // With --until-fail each shard stops at its own first failure; the earliest
  // of them is still the first failure of the whole seed space.
  std::string until_files;
  for (int k = 1; k <= n; ++k) {
    CmdResult r = Ordo(
        fmt::format("replay {} --until-fail --target {}/t{} --shard {}/{}", common, dir_, k, k, n));
    std::string path = fmt::format("{}/until{}.json", dir_, k);
    std::ofstream(path) << r.out;
    until_files += " " + path;
  }
  ASSERT_EQ(Ordo("report" + until_files + " -o " + dir_ + "/until.md").code, 0);
  EXPECT_NE(Slurp(dir_ + "/until.md")
                .find(fmt::format("first failure: run {} (seed {})", first - 990, first)),
            std::string::npos);

  // A missing shard is said; a shard given twice and bad --shard values are errors.
  ASSERT_EQ(
      Ordo("report " + dir_ + "/shard1.json " + dir_ + "/shard2.json -o " + dir_ + "/part.md").code,
      0);
  EXPECT_NE(Slurp(dir_ + "/part.md").find("2 of 4 shards (missing: 3, 4)"), std::string::npos);
  CmdResult twice =
      Ordo("report " + dir_ + "/shard1.json " + dir_ + "/shard1.json -o " + dir_ + "/x.md");
  EXPECT_EQ(twice.code, 2);
  EXPECT_NE(twice.err.find("both shard 1/4"), std::string::npos) << twice.err;
  EXPECT_EQ(Ordo("replay " + trace + " --target " + dir_ + "/t --shard 5/4").code, 2);
  EXPECT_EQ(Ordo("replay " + trace + " --target " + dir_ + "/t --shard 1").code, 2);
}

}  // namespace
}  // namespace ordo
