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

  // A missing shard is said, in the report and by the exit code (never a
  // clean pass); a shard given twice and bad --shard values are errors.
  CmdResult part =
      Ordo("report " + dir_ + "/shard1.json " + dir_ + "/shard2.json -o " + dir_ + "/part.md");
  EXPECT_EQ(part.code, 2) << part.err;
  EXPECT_NE(part.err.find("incomplete: shards 3, 4 of 4 gave no result"), std::string::npos)
      << part.err;
  std::string part_md = Slurp(dir_ + "/part.md");
  EXPECT_NE(part_md.find("2 of 4 shards (missing: 3, 4)"), std::string::npos) << part_md;
  EXPECT_NE(part_md.find("**incomplete: shards 3, 4 of 4 gave no result"), std::string::npos)
      << part_md;
  // Also when the shards present found nothing: the HTML says incomplete, not pass.
  CmdResult part_html = Ordo("report " + dir_ + "/shard1.json -o " + dir_ + "/part.html");
  EXPECT_EQ(part_html.code, 2);
  std::string page = Slurp(dir_ + "/part.html");
  EXPECT_NE(page.find("1 of 4 shards (missing: 2, 3, 4)"), std::string::npos) << page;
  CmdResult twice =
      Ordo("report " + dir_ + "/shard1.json " + dir_ + "/shard1.json -o " + dir_ + "/x.md");
  EXPECT_EQ(twice.code, 2);
  EXPECT_NE(twice.err.find("both shard 1/4"), std::string::npos) << twice.err;
  EXPECT_EQ(Ordo("replay " + trace + " --target " + dir_ + "/t --shard 5/4").code, 2);
  EXPECT_EQ(Ordo("replay " + trace + " --target " + dir_ + "/t --shard 1").code, 2);
}

// A shard that failed (its task died, its result never written) leaves the
// merge incomplete: even when the shards present found nothing, the report
// and the exit code say so instead of "pass".
TEST_F(Cli, MissingShardIsIncompleteNeverAPass) {
  auto result = [&](int k) {
    return WriteFile(fmt::format("s{}.json", k),
                     fmt::format(R"({{"trace": "t.ordo", "engine": "fixed", "strategy": "pct",
                       "depth": 10, "seed": 1, "runs": 2, "runs_planned": 6, "shard": "{}/3",
                       "failing_runs": []}})",
                                 k));
  };
  std::string s1 = result(1), s3 = result(3);
  CmdResult all = Ordo("report " + s1 + " " + result(2) + " " + s3 + " -o " + dir_ + "/all.html");
  EXPECT_EQ(all.code, 0) << all.err;
  EXPECT_NE(Slurp(dir_ + "/all.html").find("class=\"pass\">none<"), std::string::npos);

  CmdResult part = Ordo("report " + s1 + " " + s3 + " -o " + dir_ + "/part.html");
  EXPECT_EQ(part.code, 2);
  EXPECT_NE(
      part.err.find("incomplete: shard 2 of 3 gave no result, so 2 of the 6 runs were not made"),
      std::string::npos)
      << part.err;
  std::string page = Slurp(dir_ + "/part.html");
  EXPECT_EQ(page.find("class=\"pass\""), std::string::npos) << page;
  EXPECT_NE(page.find("class=\"incomplete\">INCOMPLETE: none in the shards present"),
            std::string::npos)
      << page;
  CmdResult md = Ordo("report " + s1 + " " + s3 + " -o " + dir_ + "/part.md");
  EXPECT_EQ(md.code, 2);
  EXPECT_NE(Slurp(dir_ + "/part.md").find("2 of 3 shards (missing: 2)"), std::string::npos);
}

// `--shard auto` inside a Slurm array task or a Kubernetes Indexed Job pod:
// the same runs as the explicit K/N, and a clear exit 2 outside of one.
TEST_F(Cli, ShardAutoReadsTheSchedulersIndex) {
  const std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  const std::string common =
      trace + " --engine legacy --explore pct --seed 990 --runs 6 --json --target " + dir_;
  CmdResult expl = Ordo("replay " + common + "/a --shard 2/3");
  ASSERT_LE(expl.code, 1) << expl.err;
  auto want = nlohmann::json::parse(expl.out);

  struct Env {
    const char* name;
    const char* value;
  };
  auto with_env = [&](std::initializer_list<Env> env, const std::string& target) {
    for (const auto& e : env) setenv(e.name, e.value, 1);
    CmdResult r = Ordo("replay " + common + target + " --shard auto");
    for (const auto& e : env) unsetenv(e.name);
    return r;
  };
  // sbatch --array=5-7: task 6 is shard 2 of 3.
  CmdResult slurm = with_env({{"SLURM_ARRAY_TASK_ID", "6"},
                              {"SLURM_ARRAY_TASK_MIN", "5"},
                              {"SLURM_ARRAY_TASK_MAX", "7"},
                              {"SLURM_ARRAY_TASK_COUNT", "3"}},
                             "/b");
  ASSERT_LE(slurm.code, 1) << slurm.err;
  auto got = nlohmann::json::parse(slurm.out);
  EXPECT_EQ(got["shard"], "2/3");
  EXPECT_EQ(FailingSeeds(got), FailingSeeds(want));
  EXPECT_FALSE(FailingSeeds(want).empty());  // seeds 990..995: shard 2 makes run 1, which fails
  EXPECT_EQ(got["runs"], want["runs"]);
  // An Indexed Job pod with index 1 of 3.
  CmdResult k8s = with_env({{"JOB_COMPLETION_INDEX", "1"}, {"ORDO_SHARD_COUNT", "3"}}, "/c");
  ASSERT_LE(k8s.code, 1) << k8s.err;
  EXPECT_EQ(nlohmann::json::parse(k8s.out)["shard"], "2/3");

  CmdResult none = with_env({}, "/d");
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--shard auto needs SLURM_ARRAY_TASK_ID"), std::string::npos) << none.err;
  CmdResult no_count = with_env({{"JOB_COMPLETION_INDEX", "1"}}, "/e");
  EXPECT_EQ(no_count.code, 2);
  EXPECT_NE(no_count.err.find("ORDO_SHARD_COUNT is not set"), std::string::npos) << no_count.err;
}

}  // namespace
}  // namespace ordo

namespace ordo {
namespace {

// The default exploration (auto) on the committed legacy traces: FPRE004
// within two runs, every predicted rule confirmed by a failing run whose
// reproduce command repeats it alone, byte for byte.
TEST_F(Cli, DefaultExplorationReproducesWithinTwoRunsAndConfirmsWhatItPredicts) {
  for (const char* name : {"fio-writer-reader.ordo", "loadgen-a.ordo", "loadgen-b.ordo"}) {
    const std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/" + name;
    CmdResult r = Ordo("replay " + trace + " --target " + dir_ + "/t --engine legacy --json");
    ASSERT_EQ(r.code, 1) << name << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["strategy"], "auto");
    ASSERT_FALSE(j["first_failure"].is_null()) << name;
    EXPECT_LE(j["first_failure"]["run"].get<int>(), 1) << name;
    ASSERT_GE(j["findings"].size(), 1u) << name;
    for (const auto& f : j["findings"]) {
      EXPECT_EQ(f["status"], "confirmed") << name << " " << f.dump();
      ASSERT_TRUE(f["reproduce"].is_string()) << name;
      // The confirming run, alone: it fails again, with the same history.
      std::string cmd = f["reproduce"].get<std::string>();
      cmd = cmd.substr(cmd.find("replay "));
      CmdResult a = Ordo(cmd + " --history " + dir_ + "/h1.ordo");
      CmdResult b = Ordo(cmd + " --history " + dir_ + "/h2.ordo");
      EXPECT_EQ(a.code, 1) << cmd << a.err;
      EXPECT_EQ(b.code, 1) << cmd << b.err;
      EXPECT_EQ(Slurp(dir_ + "/h1.ordo"), Slurp(dir_ + "/h2.ordo")) << cmd;
      CmdResult an = Ordo("analyze --json " + dir_ + "/h1.ordo");
      EXPECT_EQ(an.code, 1);
      bool manifested = false;
      const auto analysis = nlohmann::json::parse(an.out);
      for (const auto& g : analysis["findings"])
        manifested |= g["rule"] == f["rule"] && g["manifested"] == true;
      EXPECT_TRUE(manifested) << cmd << " does not manifest " << f["rule"];
    }
  }
}

// On the fixed engine nothing is predicted: auto is POS run after run, clean.
TEST_F(Cli, DefaultExplorationOnTheFixedEngineIsCleanPos) {
  const std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  CmdResult r =
      Ordo("replay " + trace + " --target " + dir_ + "/t --engine fixed --runs 200 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["runs"], 200);
  EXPECT_EQ(j["failures"], 0);
  EXPECT_TRUE(j["findings"].empty());
}

// A targeted run names its focus; a bad focus is bad usage.
TEST_F(Cli, TargetedNeedsAWellFormedFocus) {
  const std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  const std::string base = "replay " + trace + " --target " + dir_ + "/t --engine legacy ";
  EXPECT_EQ(Ordo(base + "--explore targeted").code, 2);
  EXPECT_EQ(Ordo(base + "--explore targeted --focus FPRE004-C:1:2:3").code, 2);
  EXPECT_EQ(Ordo(base + "--explore targeted --focus FPRE004-A:1:x:3").code, 2);
  CmdResult ok = Ordo(base + "--explore targeted --focus 'FPRE004-A:1:5:*' --json");
  ASSERT_LE(ok.code, 1) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["strategy"], "targeted");
}

}  // namespace
}  // namespace ordo

namespace ordo {
namespace {

// A passing run still predicts; --confirm turns each prediction into a failing
// run (or says it could not), with the command that repeats it.
TEST_F(Cli, AnalyzeConfirmTurnsPredictionsIntoFailingRuns) {
  const std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/loadgen-a.ordo";
  ASSERT_EQ(
      Ordo("replay " + trace + " --target " + dir_ +
           "/t --engine legacy --explore pos --seed 1 --runs 1 --history " + dir_ + "/pass.ordo")
          .code,
      0);
  CmdResult r =
      Ordo("analyze --json " + dir_ + "/pass.ordo --confirm " + trace + " --target " + dir_ + "/c");
  ASSERT_EQ(r.code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const auto& f : j["findings"]) EXPECT_FALSE(f["manifested"].get<bool>());
  ASSERT_GE(j["confirmation"].size(), 1u);
  int confirmed = 0;
  for (const auto& c : j["confirmation"]) {
    if (c["status"] != "confirmed") continue;
    ++confirmed;
    std::string cmd = c["reproduce"].get<std::string>();
    EXPECT_NE(cmd.find("--explore targeted --seed 1 --focus "), std::string::npos) << cmd;
    EXPECT_EQ(Ordo(cmd.substr(cmd.find("replay "))).code, 1) << cmd;
  }
  EXPECT_GE(confirmed, 1);
  EXPECT_EQ(Ordo("analyze " + dir_ + "/pass.ordo --confirm " + trace).code, 2);  // no --target
}

}  // namespace
}  // namespace ordo
