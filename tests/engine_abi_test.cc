// Engines of other teams through the engine ABI (ordo/engine_abi.h), as a
// user runs them: `ordo replay TRACE --engine PATH.so[:config]`. The fixture
// engines (tests/engines) test loading, versions and crash isolation; the
// example engine (examples/writeback_cache) a race of its own, end to end.
#include "ordo/engine_abi.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace ordo {
namespace {

using json = nlohmann::json;

const std::string kFioTrace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";

std::string Fixture(const std::string& variant) {
  return std::string(FIXTURE_DIR) + "/abi_fixture_" + variant + ".so";
}

class EngineAbi : public Cli {
 protected:
  CmdResult ReplayWith(const std::string& engine, const std::string& more = "") {
    return Ordo("replay " + kFioTrace + " --target " + dir_ + "/t --engine " + engine + " " + more);
  }
};

TEST_F(EngineAbi, AnEngineOfThisMajorRunsUnderTheScheduler) {
  CmdResult r = ReplayWith(Fixture("plain"), "--explore pos --runs 3 --json");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["outcome"], "pass");
  EXPECT_EQ(j["runs"], 3);
  EXPECT_GT(j["ops"].get<uint64_t>(), 0u);
}

TEST_F(EngineAbi, AnEngineBuiltForANewerMinorLoads) {
  CmdResult r = ReplayWith(Fixture("minor9"), "--explore pos --runs 1");
  EXPECT_EQ(r.code, 0) << r.err << r.out;
}

// ABI 1.1 added host services and access kinds: an engine built for 1.0 runs.
TEST_F(EngineAbi, AnEngineBuiltForTheFirstMinorStillLoads) {
  CmdResult r = ReplayWith(Fixture("minor0"), "--explore pos --runs 1");
  EXPECT_EQ(r.code, 0) << r.err << r.out;
}

TEST_F(EngineAbi, AnotherMajorIsRefusedNamingBothVersions) {
  const std::string so = Fixture("major2");
  CmdResult r = ReplayWith(so, "--runs 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find(so), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(fmt::format("engine ABI 2.{}", ORDO_ENGINE_ABI_MINOR)), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(fmt::format("engine ABI 1.{}", ORDO_ENGINE_ABI_MINOR)), std::string::npos)
      << r.err;
}

TEST_F(EngineAbi, WhatIsNotAnOrdoEngineIsRefusedWithItsPath) {
  const std::string nosym = Fixture("nosymbol");
  CmdResult r = ReplayWith(nosym, "--runs 1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(nosym), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ordo_engine_get"), std::string::npos) << r.err;

  const std::string text = WriteFile("notelf.so", "this is not an ELF file\n");
  r = ReplayWith(text, "--runs 1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a loadable shared object"), std::string::npos) << r.err;

  r = ReplayWith(dir_ + "/missing.so", "--runs 1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(dir_ + "/missing.so"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/t/engine")) << "nothing laid out for a bad engine";
}

TEST_F(EngineAbi, AnEngineThatCannotOpenIsAnErrorWithItsMessage) {
  const std::string so = Fixture("openfails");
  CmdResult r = ReplayWith(so + ":size=7", "--runs 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find(so), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("config 'size=7' refused"), std::string::npos) << r.err;
}

TEST_F(EngineAbi, ASegfaultInTheEngineIsACrashFindingNotOrdoDying) {
  const std::string so = Fixture("crash");
  CmdResult r = ReplayWith(so, "--explore pos --seed 4 --runs 2 --json");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["outcome"], "crash");
  EXPECT_EQ(j["runs"], 2) << "the crash ends its run, not the replay";
  ASSERT_EQ(j["failing_runs"].size(), 2u);
  EXPECT_EQ(j["failing_runs"][0]["kind"], "crash");
  std::string cmd = j["failing_runs"][0]["reproduce"];
  EXPECT_NE(cmd.find("--engine " + so), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("--seed 4"), std::string::npos) << cmd;
  // The text summary says so too, and ordo itself exits normally.
  r = ReplayWith(so, "--explore pos --runs 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("crash"), std::string::npos) << r.out;
}

TEST_F(EngineAbi, AHangIsAFindingAfterTheRunTimeoutAndLeavesNoProcessBehind) {
  const std::string so = Fixture("hang");
  CmdResult r = ReplayWith(so, "--explore pos --runs 1 --run-timeout 1 --json");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["failing_runs"][0]["kind"], "hang");
  EXPECT_NE(j["failing_runs"][0]["reproduce"].get<std::string>().find(so), std::string::npos);
  // The killed child holds nothing: the same target is free at once.
  r = ReplayWith(Fixture("plain"), "--explore pos --runs 1");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(EngineAbi, ADeadlockUnderTheSchedulerIsAFindingNamingTheBlockedThreads) {
  const std::string so = Fixture("deadlock");
  CmdResult r = ReplayWith(so, "--explore pos --runs 1 --json");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["failing_runs"][0]["kind"], "deadlock");
  std::string message = j["failing_runs"][0]["message"];
  EXPECT_NE(message.find("every live thread is blocked"), std::string::npos) << message;
  EXPECT_NE(message.find("replay-"), std::string::npos) << message;
  // Free-running there is no scheduler to see it: the run timeout does.
  r = ReplayWith(so, "--explore none --runs 1 --run-timeout 1 --json");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  EXPECT_EQ(json::parse(r.out)["failing_runs"][0]["kind"], "hang");
}

TEST_F(EngineAbi, ACrashWhileLoadingIsAnErrorNamingTheEngine) {
  const std::string so = Fixture("crashinget");
  CmdResult r = ReplayWith(so, "--runs 1 --json");
  EXPECT_EQ(r.code, 2) << r.out;
  json j = json::parse(r.out);  // one document, even so
  std::string message = j["error"]["message"];
  EXPECT_NE(message.find(so), std::string::npos) << message;
  EXPECT_NE(message.find("crashed while loading"), std::string::npos) << message;
}

TEST_F(EngineAbi, WhatAnEngineWritesToStdoutStaysOutOfTheSummary) {
  CmdResult r = ReplayWith(Fixture("prints"), "--explore pos --runs 2 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);  // throws if the engine's chatter got in
  EXPECT_EQ(j["outcome"], "pass");
  EXPECT_NE(r.err.find("engine chatter on stdout"), std::string::npos);
}

TEST_F(EngineAbi, AReproduceCommandWithSpacesInPathsRunsAsPrinted) {
  std::filesystem::create_directories(dir_ + "/sp ace");
  const std::string so = dir_ + "/sp ace/crash.so";
  std::filesystem::copy_file(Fixture("crash"), so);
  CmdResult r = Ordo("replay " + kFioTrace + " --target '" + dir_ + "/t t' --engine '" + so +
                     "' --explore pos --seed 3 --runs 1 --json");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  std::string cmd = json::parse(r.out)["failing_runs"][0]["reproduce"];
  EXPECT_NE(cmd.find("'" + so + "'"), std::string::npos) << cmd;
  r = Ordo(cmd.substr(5) + " --json");  // through the shell, as pasted
  ASSERT_EQ(r.code, 1) << cmd << "\n" << r.err;
  EXPECT_EQ(json::parse(r.out)["failing_runs"][0]["kind"], "crash");
}

TEST_F(EngineAbi, APathMayHoldDotSoAndAVersionSuffix) {
  std::filesystem::create_directories(dir_ + "/my.soft");
  std::filesystem::copy_file(Fixture("plain"), dir_ + "/my.soft/engine.so.1");
  CmdResult r = ReplayWith(dir_ + "/my.soft/engine.so.1:a=b:c", "--explore pos --runs 1");
  EXPECT_EQ(r.code, 0) << r.err << r.out;
}

// The example engine (examples/writeback_cache), a third party's write-back
// cache in C: its legacy read-ahead installs a buffer it filled before a
// write, over the write's dirty buffer.
class ExampleEngine : public EngineAbi {
 protected:
  static std::string Engine(const std::string& mode) {
    return std::string(EXAMPLE_ENGINE) + ":mode=" + mode;
  }
  // The reproduce command of a JSON summary's first failure, run in DIR.
  CmdResult Reproduce(const json& j, const std::string& dir, const std::string& history) {
    std::string cmd = j["first_failure"]["reproduce"];
    size_t at = cmd.find("--target ");
    cmd.replace(at, cmd.find(' ', at + 9) - at, "--target " + dir);
    return Ordo(cmd.substr(5) + " --history " + history);
  }
};

TEST_F(ExampleEngine, ItsRaceReproducesFromAnImportedFioTraceUnderTheDefaultExploration) {
  CmdResult r = ReplayWith(Engine("legacy"), "--json");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["strategy"], "auto");
  EXPECT_EQ(j["outcome"], "FPRE004");
  EXPECT_NE(j["first_failure"]["message"].get<std::string>().find("checksum mismatch"),
            std::string::npos);
  // The analyzer's FPRE004-A, over access kinds, names the failure.
  ASSERT_GE(j["findings"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["findings"][0]["rule"], "FPRE004-A");
  EXPECT_EQ(j["findings"][0]["status"], "confirmed");
  // Same seed, same history, byte for byte; and it fails again alone.
  CmdResult a = Reproduce(j, dir_ + "/again", dir_ + "/a.ordo");
  CmdResult b = Reproduce(j, dir_ + "/again", dir_ + "/b.ordo");
  EXPECT_EQ(a.code, 1) << a.err << a.out;
  EXPECT_EQ(b.code, 1);
  std::string ha = Slurp(dir_ + "/a.ordo");
  EXPECT_GT(ha.size(), 100u);
  EXPECT_EQ(ha, Slurp(dir_ + "/b.ordo"));
  // The failing history manifests the rule; the report renders it with the
  // engine's own site names.
  r = Ordo("analyze --json " + dir_ + "/a.ordo");
  EXPECT_EQ(r.code, 1) << r.err;
  json an = json::parse(r.out);
  bool manifested = false;
  for (const auto& f : an["findings"])
    manifested |= f["rule"] == "FPRE004-A" && f["manifested"] == true;
  EXPECT_TRUE(manifested) << r.out;
  r = Ordo("report " + dir_ + "/a.ordo -o " + dir_ + "/r.html");
  EXPECT_EQ(r.code, 0) << r.err;
  std::string page = Slurp(dir_ + "/r.html");
  EXPECT_NE(page.find("FPRE004-A"), std::string::npos);
  EXPECT_NE(page.find("readahead.mark_clean"), std::string::npos);
}

TEST_F(ExampleEngine, TheCommittedHistoryShowsItsRaceManifestedUnderItsSiteNames) {
  const std::string h = std::string(ORDO_SOURCE_DIR) + "/traces/writeback-legacy-history.ordo";
  CmdResult r = Ordo("analyze --json " + h);
  ASSERT_EQ(r.code, 1) << r.err;
  json j = json::parse(r.out);
  ASSERT_GE(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["rule"], "FPRE004-A");
  EXPECT_EQ(j["findings"][0]["manifested"], true);
  EXPECT_EQ(j["findings"][0]["block"], 24);
  r = Ordo("report " + h + " -o " + dir_ + "/r.md");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string page = Slurp(dir_ + "/r.md");
  EXPECT_NE(page.find("readahead.fill"), std::string::npos) << page;
  EXPECT_NE(page.find("write.update"), std::string::npos) << page;
}

TEST_F(ExampleEngine, PassingRunsPredictTheRaceTheyDidNotHit) {
  int predicted = 0, passing = 0;
  for (int seed = 1; seed <= 12 && passing < 3; ++seed) {
    std::string h = dir_ + "/h" + std::to_string(seed) + ".ordo";
    CmdResult r = ReplayWith(Engine("legacy"), "--explore pos --runs 1 --seed " +
                                                   std::to_string(seed) + " --history " + h);
    if (r.code != 0) continue;
    ++passing;
    r = Ordo("analyze --json " + h);
    ASSERT_EQ(r.code, 1) << "a prediction is a finding: " << r.err << r.out;
    json j = json::parse(r.out);
    for (const auto& f : j["findings"]) {
      if (f["rule"] == "FPRE004-A" && f["manifested"] == false) ++predicted;
    }
  }
  ASSERT_GT(passing, 0) << "no POS seed of 1..12 passed";
  EXPECT_EQ(predicted, passing) << "every passing legacy run predicts FPRE004-A";
}

TEST_F(ExampleEngine, MinimizeShrinksItsFailureByTargetedConfirmation) {
  CmdResult r = Ordo("minimize " + kFioTrace + " --engine " + Engine("legacy") +
                     " --explore pos -o " + dir_ + "/min.ordo");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  json info = json::parse(Ordo("trace info --json " + dir_ + "/min.ordo").out);
  EXPECT_LE(info["io_events"].get<uint64_t>(), 20u) << r.out;
  size_t at = r.out.find("reproduce: ordo ");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string cmd = r.out.substr(at + 16, r.out.find('\n', at) - at - 16);
  EXPECT_NE(cmd.find("--focus 'FPRE004-A:"), std::string::npos) << cmd;
  cmd.replace(cmd.find("DIR"), 3, dir_ + "/t");
  EXPECT_EQ(Ordo(cmd).code, 1) << cmd;
}

TEST_F(ExampleEngine, ItsFixedModeIsCleanOverHundredsOfRuns) {
  for (const std::string explore : {"pos", "random", "pct"}) {
    CmdResult r = ReplayWith(Engine("fixed"), "--explore " + explore + " --runs 100 --json");
    ASSERT_EQ(r.code, 0) << explore << ": " << r.err << r.out;
    json j = json::parse(r.out);
    EXPECT_EQ(j["runs"], 100);
    EXPECT_EQ(j["failures"], 0);
    EXPECT_EQ(j["errors"], 0);
  }
  // And analysis of a fixed run predicts nothing.
  CmdResult r = ReplayWith(Engine("fixed"), "--explore pos --runs 1 --history " + dir_ + "/f.ordo");
  ASSERT_EQ(r.code, 0);
  r = Ordo("analyze " + dir_ + "/f.ordo");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("no ordering found"), std::string::npos) << r.out;
}

TEST_F(ExampleEngine, AConfigItDoesNotKnowIsAnError) {
  CmdResult r = ReplayWith(std::string(EXAMPLE_ENGINE) + ":mode=legacy,colour=blue", "--runs 1");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("colour"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ordo
