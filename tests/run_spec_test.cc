// The seams replay owns: the command line of one run (RunSpec), the JSON
// document of a replay's report, and replay from records held in memory.
#include "ordo/replay/run_spec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine_test_util.h"
#include "ordo/replay/replayer.h"
#include "ordo/replay/report.h"
#include "ordo/replay/summary_json.h"
#include "ordo/trace/reader.h"

namespace ordo::replay {
namespace {

using ordo::testing::TempDir;

const std::string kWriterReader = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";

void ExpectSameSpec(const RunSpec& a, const RunSpec& b) {
  EXPECT_EQ(a.trace, b.trace);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.engine, b.engine);
  EXPECT_EQ(a.strategy, b.strategy);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.depth, b.depth);
  ASSERT_EQ(a.focus.size(), b.focus.size());
  for (size_t i = 0; i < a.focus.size(); ++i)
    EXPECT_EQ(engine::FocusString(a.focus[i]), engine::FocusString(b.focus[i]));
  EXPECT_EQ(a.runs, b.runs);
}

RunSpec Targeted() {
  RunSpec s;
  s.trace = "/traces/my trace's copy.ordo";  // a space and a quote
  s.target = "/tmp/t dir";
  s.engine = "/opt/engines/wb cache.so:cache_blocks=64,mode=legacy";
  s.strategy = sched::Strategy::kTargeted;
  s.seed = UINT64_MAX;
  engine::Focus a, b;
  EXPECT_TRUE(engine::ParseFocus("FPRE004-A:0:12:3", &a));
  EXPECT_TRUE(engine::ParseFocus("FPRE004-B:1:7:*", &b));
  s.focus = {a, b};
  return s;
}

TEST(RunSpec, ArgsReadBackAsTheSameSpec) {
  RunSpec pct;
  pct.trace = "t.ordo";
  pct.target = "out/t";
  pct.engine = "legacy";
  pct.seed = 42;
  pct.depth = 3;
  RunSpec file;
  file.trace = "-";
  file.target = "t";
  file.backend = Backend::kFile;
  file.runs = 7;
  for (const RunSpec& s : {pct, Targeted(), file}) {
    auto back = RunSpec::Parse(s.ToArgs());
    ASSERT_TRUE(back.ok()) << back.status().message();
    ExpectSameSpec(back.value(), s);
  }
  EXPECT_EQ(pct.ToCommand(),
            "ordo replay t.ordo --target out/t --backend engine --engine legacy --explore pct "
            "--seed 42 --depth 3 --runs 1");
  EXPECT_EQ(file.ToCommand(), "ordo replay - --target t --backend file --runs 7");
}

TEST(RunSpec, CommandQuotesPathsAShellWouldSplitAndReadsThemBack) {
  const RunSpec s = Targeted();
  const std::string cmd = s.ToCommand();
  EXPECT_NE(cmd.find("'/traces/my trace'\\''s copy.ordo'"), std::string::npos) << cmd;
  // "*" (any thread) is a glob to a shell.
  EXPECT_NE(cmd.find("--focus FPRE004-A:0:12:3 --focus 'FPRE004-B:1:7:*'"), std::string::npos)
      << cmd;
  auto back = RunSpec::ParseCommand(cmd);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectSameSpec(back.value(), s);
  // Any path to ordo, and the forms a person types.
  auto typed = RunSpec::ParseCommand(
      "/usr/local/bin/ordo replay \"a b.ordo\" --target=t\\ 1 --seed 9 --explore pos");
  ASSERT_TRUE(typed.ok()) << typed.status().message();
  EXPECT_EQ(typed->trace, "a b.ordo");
  EXPECT_EQ(typed->target, "t 1");
  EXPECT_EQ(typed->seed, 9u);
  EXPECT_EQ(typed->strategy, sched::Strategy::kPos);
}

// A trace whose name starts with '-' is written as ./NAME, so the command
// (pasted, or read back from a history's header) does not take it for an
// option.
TEST(RunSpec, ATraceNamedLikeAnOptionIsWrittenAsAPath) {
  RunSpec s;
  s.trace = "--tr ace.ordo";
  s.target = "t";
  s.seed = 1002;
  const std::string cmd = s.ToCommand();
  EXPECT_NE(cmd.find("ordo replay './--tr ace.ordo' --target t"), std::string::npos) << cmd;
  auto back = RunSpec::ParseCommand(cmd);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->trace, "./--tr ace.ordo");
  EXPECT_EQ(back->seed, 1002u);
}

TEST(RunSpec, MalformedCommandsAreRefusedNamingTheWord) {
  auto words = [](std::string cmd) {
    auto r = RunSpec::ParseCommand(cmd);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(words("ordo replay t --target d --sed 3").find("--sed"), std::string::npos);
  EXPECT_NE(words("ordo replay t --target d --seed x3").find("'x3'"), std::string::npos);
  EXPECT_NE(words("ordo replay t --target d --seed").find("--seed needs a value"),
            std::string::npos);
  EXPECT_NE(words("ordo replay t u --target d").find("'u'"), std::string::npos);
  EXPECT_NE(words("ordo replay t").find("--target"), std::string::npos);
  EXPECT_NE(words("ordo replay --target d").find("no trace"), std::string::npos);
  EXPECT_NE(words("ordo replay t --target d --explore auto").find("auto"), std::string::npos);
  EXPECT_NE(words("ordo replay t --target d --engine mystery").find("mystery"), std::string::npos);
  EXPECT_NE(words("ordo replay t --target d --focus FPRE004-C:1:2:3").find("FPRE004-C"),
            std::string::npos);
  EXPECT_NE(words("ordo trace info t").find("not an `ordo replay` command"), std::string::npos);
  EXPECT_NE(words("ordo replay 't --target d").find("unterminated"), std::string::npos);
}

TEST(RunSpec, ShellWordsSplitAsAShellDoes) {
  auto w = SplitShellWords("a 'b c' \"d \\\"e\\\" $\" f\\ g '' h\\\\");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w.value(), (std::vector<std::string>{"a", "b c", "d \"e\" $", "f g", "", "h\\"}));
  EXPECT_FALSE(SplitShellWords("a\\").ok());
  EXPECT_FALSE(SplitShellWords("\"a").ok());
}

TEST(RunSpec, ReproduceCommandIsTheRunsSpec) {
  ReplayOptions o;
  o.target = "/tmp/t";
  o.engine_mode = engine::EngineMode::kLegacy;
  o.depth = 4;
  RunOutcome run;
  run.strategy = sched::Strategy::kPct;
  run.seed = 17;
  const std::string cmd = ReproduceCommand("my.ordo", o, run);
  EXPECT_EQ(cmd,
            "ordo replay my.ordo --target /tmp/t --backend engine --engine legacy --explore pct "
            "--seed 17 --depth 4 --runs 1");
  auto back = RunSpec::ParseCommand(cmd);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->seed, 17u);
  EXPECT_EQ(back->engine, "legacy");
}

ReplayReport SampleReport() {
  ReplayReport r;
  r.request.trace = "t.ordo";
  r.request.engine = "legacy";
  r.request.strategy = "pct";
  r.request.seed = 990;
  r.request.runs_planned = 6;
  r.request.shard_index = 1;
  r.request.shard_count = 3;
  r.request.until_fail = true;
  r.run_spec.trace = "t.ordo";
  r.run_spec.target = "dir";
  r.run_spec.engine = "legacy";
  r.summary.runs = 2;
  RunOutcome pass, fail;
  pass.run = 1;
  pass.seed = 991;
  fail.run = 4;
  fail.seed = 994;
  fail.failed = true;
  fail.failure_kind = ORDO_FAILURE_VERIFY;
  fail.message = "FPRE004: stale";
  r.summary.outcomes = {pass, fail};
  r.summary.failures = 1;
  r.summary.first_failure = fail;
  r.exit_code = 1;
  return r;
}

TEST(SummaryJson, ADocumentReadsBackAsItsRequestRunsAndFailingRuns) {
  const ReplayReport report = SampleReport();
  const std::string text = ToJson(report);
  auto back = FromJson(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  const ReplayRequest& q = back->request;
  EXPECT_EQ(q.trace, "t.ordo");
  EXPECT_EQ(q.engine, "legacy");
  EXPECT_EQ(q.strategy, "pct");
  EXPECT_EQ(q.seed, 990u);
  EXPECT_EQ(q.depth, 10);
  EXPECT_EQ(q.runs_planned, 6);
  EXPECT_EQ(q.shard_index, 1);
  EXPECT_EQ(q.shard_count, 3);
  EXPECT_TRUE(q.until_fail);
  EXPECT_EQ(back->runs, 2);
  ASSERT_EQ(back->failing.size(), 1u);
  EXPECT_EQ(back->failing[0].run, 4);
  EXPECT_EQ(back->failing[0].seed, 994u);
  EXPECT_EQ(back->failing[0].message, "FPRE004: stale");
  EXPECT_EQ(back->failing[0].reproduce, ReproduceCommand(report, report.summary.outcomes[1]));
  auto spec = RunSpec::ParseCommand(back->failing[0].reproduce);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->seed, 994u);

  // The fields in their documented order.
  auto j = nlohmann::ordered_json::parse(text);
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"trace",
                                            "backend",
                                            "engine",
                                            "runs",
                                            "runs_planned",
                                            "interrupted",
                                            "shard",
                                            "until_fail",
                                            "failures",
                                            "first_failure",
                                            "failing_runs",
                                            "outcome",
                                            "fpre004_judged",
                                            "seed",
                                            "strategy",
                                            "depth",
                                            "findings",
                                            "timing",
                                            "threads",
                                            "files",
                                            "api_level",
                                            "ops",
                                            "errors",
                                            "first_error",
                                            "seconds",
                                            "ops_per_s",
                                            "p50_us",
                                            "p99_us",
                                            "p999_us",
                                            "per_op",
                                            "trace_duration_ns",
                                            "issue_error_p99_us",
                                            "history",
                                            "exit_code"}));
  EXPECT_EQ(j["shard"], "2/3");
  EXPECT_EQ(j["outcome"], "FPRE004");
  EXPECT_EQ(j["first_failure"]["kind"], "FPRE004");
}

TEST(SummaryJson, MalformedDocumentsNameTheField) {
  auto why = [](const std::string& text) {
    auto r = FromJson(text);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  const std::string good = ToJson(SampleReport());
  EXPECT_EQ(why(good), "ok");
  auto without = [&](const char* key) {
    auto j = nlohmann::ordered_json::parse(good);
    j.erase(key);
    return j.dump();
  };
  auto with = [&](const char* key, nlohmann::ordered_json v) {
    auto j = nlohmann::ordered_json::parse(good);
    j[key] = v;
    return j.dump();
  };
  EXPECT_EQ(why("[1]"), "not a JSON object");
  EXPECT_EQ(why("{"), "not a JSON object");
  EXPECT_EQ(why(without("engine")), "no field \"engine\"");
  EXPECT_EQ(why(without("failing_runs")), "no field \"failing_runs\"");
  EXPECT_EQ(why(with("seed", -1)), "\"seed\" is not an unsigned integer");
  EXPECT_EQ(why(with("runs", 1e30)), "\"runs\" is not an integer");
  EXPECT_EQ(why(with("runs_planned", 1ull << 40)), "\"runs_planned\" is not an integer");
  EXPECT_EQ(why(with("until_fail", "yes")), "\"until_fail\" is not a boolean");
  EXPECT_NE(why(with("shard", "4/3")).find("is not K/N"), std::string::npos);
  EXPECT_NE(why(with("shard", "1/3x")).find("is not K/N"), std::string::npos);
  EXPECT_NE(why(with("failing_runs", nlohmann::ordered_json::array({{{"run", 1}}})))
                .find("a failing run: no field \"seed\""),
            std::string::npos);
  // Fields a merger does not need may be absent.
  auto j = nlohmann::ordered_json::parse(good);
  for (const char* k : {"backend", "timing", "history", "until_fail", "outcome", "per_op"})
    j.erase(k);
  EXPECT_EQ(why(j.dump()), "ok");
}

TEST(MemoryTrace, ReplaysTheSameRunAsTheFileItWasReadFrom) {
  TempDir dir;
  ReplayOptions o;
  o.target = dir.path() + "/t";
  o.engine_mode = engine::EngineMode::kLegacy;
  o.strategy = sched::Strategy::kPct;
  o.runs = 60;
  o.until_fail = true;
  auto from_file = Replay(kWriterReader, o);
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  ASSERT_TRUE(from_file->first_failure.has_value());
  const RunOutcome& f = *from_file->first_failure;

  auto reader = trace::TraceReader::Open(kWriterReader);
  ASSERT_TRUE(reader.ok());
  std::vector<trace::Record> records;
  trace::Record r;
  while ((*reader)->Next(&r)) records.push_back(r);
  auto memory = MemoryTrace(std::move(records), "fio in memory");
  o.seed = f.seed;
  o.runs = 1;
  auto again = Replay(*memory, o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->failures, 1);
  EXPECT_EQ(again->first_failure->message, f.message);
  EXPECT_EQ(again->first_failure->op_index, f.op_index);
  EXPECT_EQ(again->first_failure->history_seq, f.history_seq);
  EXPECT_NE(ReproduceCommand(memory->name(), o, *again->first_failure).find("'fio in memory'"),
            std::string::npos);
}

}  // namespace
}  // namespace ordo::replay
