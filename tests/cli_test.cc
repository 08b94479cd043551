// The `ordo trace` commands as a user runs them: exit codes, messages, JSON.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_test_util.h"
#include "trace_test_util.h"

namespace ordo {
namespace {

namespace fs = std::filesystem;

std::string SmallTrace(size_t n = 500) {
  trace::WriterOptions o;
  o.max_chunk_records = 100;
  return ordo::testing::WriteTrace(ordo::testing::RandomRecords(21, n), o);
}

TEST_F(Cli, InfoJsonCarriesTheDesignFields) {
  std::string bytes = SmallTrace();
  auto p = WriteFile("t.ordo", bytes);
  CmdResult r = Ordo("trace info --json " + p);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  trace::SummaryBuilder b;
  for (const auto& rec : ordo::testing::RandomRecords(21, 500)) b.Add(rec);
  EXPECT_EQ(j["events"], b.summary().events);
  EXPECT_EQ(j["lost_events"], b.summary().lost_events);
  EXPECT_EQ(j["threads"], b.summary().threads);
  EXPECT_EQ(j["files"], b.summary().files);
  EXPECT_EQ(j["chunks"], 5);
  EXPECT_EQ(j["bytes"], bytes.size());
  EXPECT_DOUBLE_EQ(j["bytes_per_event"].get<double>(),
                   static_cast<double>(bytes.size()) / static_cast<double>(b.summary().events));
  EXPECT_EQ(j["duration_ns"], b.summary().duration_ns());
  EXPECT_EQ(j["truncated"], false);
}

// A Linux path is any bytes: --json writes bytes that are not UTF-8 as
// U+FFFD and still prints the result (it used to fail with exit 2).
TEST_F(Cli, JsonOfAFileNamedInBytesThatAreNotUtf8IsStillPrinted) {
  auto p = WriteFile("a\xff\xfe.ordo", SmallTrace());
  for (const char* command : {"trace info --json ", "trace stat --json "}) {
    CmdResult r = Ordo(command + std::string("'") + p + "'");
    ASSERT_EQ(r.code, 0) << command << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_NE(j["file"].get<std::string>().find("a\xEF\xBF\xBD\xEF\xBF\xBD.ordo"),
              std::string::npos)
        << command << j["file"];
  }
}

TEST_F(Cli, StatJsonScansTheWholeTrace) {
  auto p = WriteFile("t.ordo", SmallTrace());
  CmdResult r = Ordo("trace stat --json " + p);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const char* key :
       {"events", "lost_events", "chunks", "bytes", "bytes_per_event", "threads", "files",
        "duration_ns", "truncated", "ops", "misaligned_spanning_reads"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  uint64_t op_total = 0;
  for (auto& [name, v] : j["ops"].items()) op_total += v["count"].get<uint64_t>();
  EXPECT_EQ(op_total, j["io_events"].get<uint64_t>());
}

TEST_F(Cli, TruncatedTraceExitsTwoAndKeepsCompleteChunks) {
  std::string bytes = SmallTrace();
  auto p = WriteFile("cut.ordo", bytes.substr(0, bytes.size() * 3 / 4));
  CmdResult r = Ordo("trace cat " + p);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(p + ": byte "), std::string::npos) << r.err;
  size_t lines = std::count(r.out.begin(), r.out.end(), '\n');
  EXPECT_GE(lines, 300u);  // at least 3 of the 5 chunks of 100 records were complete
  EXPECT_EQ(lines % 100, 0u);
  CmdResult info = Ordo("trace info --json " + p);
  EXPECT_EQ(info.code, 2);
  auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["truncated"], true);
  EXPECT_EQ(j["events"].get<uint64_t>() > 0, true);
}

TEST_F(Cli, CorruptChunkExitsTwoNamingTheOffset) {
  std::string bytes = SmallTrace();
  bytes[bytes.size() / 2] ^= 0x10;
  auto p = WriteFile("bad.ordo", bytes);
  CmdResult r = Ordo("trace stat " + p);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.ordo: byte "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CRC32C"), std::string::npos) << r.err;
}

TEST_F(Cli, MissingFileAndBadUsageExitTwo) {
  EXPECT_EQ(Ordo("trace info " + dir_ + "/nope.ordo").code, 2);
  EXPECT_EQ(Ordo("trace info --frobnicate x").code, 2);
  EXPECT_EQ(Ordo("trace export --format pdf x -o y").code, 2);
  CmdResult r = Ordo("trace info " + WriteFile("text.log", "hello\n"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not an ordo trace"), std::string::npos);
}

TEST_F(Cli, ReadsFromStdin) {
  auto p = WriteFile("t.ordo", SmallTrace(100));
  CmdResult r = Ordo("trace cat --json -", p);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.size(), 100u);
}

TEST_F(Cli, ImportThenExportGivesBackTheFioLog) {
  std::string log =
      "fio version 3 iolog\n0 /d/x add\n3 /d/x open\n9 /d/x read 4097 8190\n"
      "12 /d/x write 12 4096\n15 /d/x sync\n20 /d/x close\n";
  auto in = WriteFile("in.log", log);
  CmdResult imp = Ordo("trace import --format fio " + in + " -o " + dir_ + "/x.ordo");
  ASSERT_EQ(imp.code, 0) << imp.err;
  CmdResult exp = Ordo("trace export --format fio " + dir_ + "/x.ordo -o " + dir_ + "/out.log");
  ASSERT_EQ(exp.code, 0) << exp.err;
  std::string back = Slurp(dir_ + "/out.log");
  EXPECT_EQ(back,
            "fio version 3 iolog\n3 /d/x add\n3 /d/x open\n9 /d/x read 4097 8190\n"
            "12 /d/x write 12 4096\n15 /d/x sync\n20 /d/x close\n");
  CmdResult jl = Ordo("trace export --format jsonl " + dir_ + "/x.ordo -o -");
  ASSERT_EQ(jl.code, 0);
  EXPECT_EQ(std::count(jl.out.begin(), jl.out.end(), '\n'), 7);  // thread, file, 5 I/Os
}

TEST_F(Cli, CommittedSampleTraceIsReadable) {
  CmdResult r =
      Ordo(std::string("trace info --json ") + ORDO_SOURCE_DIR + "/traces/fio-misaligned-mix.ordo");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["events"].get<uint64_t>(), 1000u);
  EXPECT_EQ(j["truncated"], false);
}

TEST_F(Cli, ReplayExitsOneOnFpre004AndPrintsACommandThatReproducesIt) {
  std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  CmdResult r = Ordo("replay " + trace + " --target " + dir_ +
                     "/t --engine legacy --explore pct --runs 60 --until-fail --json");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"runs", "failures", "first_failure", "outcome", "seed", "strategy", "ops",
                          "ops_per_s", "p50_us", "p99_us", "p999_us"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["outcome"], "FPRE004");
  EXPECT_EQ(j["strategy"], "pct");
  std::string cmd = j["first_failure"]["reproduce"];
  ASSERT_EQ(cmd.rfind("ordo replay ", 0), 0u) << cmd;
  CmdResult again = Ordo(cmd.substr(5) + " --json");
  ASSERT_EQ(again.code, 1) << cmd;
  auto j2 = nlohmann::json::parse(again.out);
  EXPECT_EQ(j2["first_failure"]["message"], j["first_failure"]["message"]);
  EXPECT_EQ(j2["first_failure"]["history_event"], j["first_failure"]["history_event"]);
}

TEST_F(Cli, ReplayOfTheFixedEngineExitsZero) {
  std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  CmdResult r = Ordo("replay " + trace + " --target " + dir_ + "/t --engine fixed --runs 20");
  EXPECT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("outcome: pass"), std::string::npos) << r.out;
  EXPECT_EQ(Ordo("replay " + trace + " --target " + dir_ + "/t --timing scale:zero").code, 2);
  EXPECT_EQ(Ordo("replay " + dir_ + "/missing.ordo --target " + dir_ + "/t").code, 2);
}

TEST_F(Cli, AnalyzeNamesTheOrderingOfAFailingReplayAndPassesAFixedOne) {
  std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  ASSERT_EQ(Ordo("replay " + trace + " --target " + dir_ +
                 "/t --engine legacy --seed 1000 --history " + dir_ + "/fail.ordo")
                .code,
            1);
  CmdResult r = Ordo("analyze --json " + dir_ + "/fail.ordo");
  ASSERT_EQ(r.code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["events"].get<uint64_t>(), 1000u);
  EXPECT_TRUE(j.contains("seconds"));
  ASSERT_GE(j["findings"].size(), 1u);
  // The default exploration (auto) confirms either rule first; the failing
  // run's history shows the one that manifested.
  bool manifested = false;
  for (const auto& f : j["findings"]) {
    for (const char* key : {"rule", "block", "threads", "events", "manifested", "explanation"}) {
      EXPECT_TRUE(f.contains(key)) << key;
    }
    manifested |= f["manifested"] == true;
  }
  EXPECT_TRUE(manifested);
  ASSERT_EQ(Ordo("replay " + trace + " --target " + dir_ +
                 "/t --engine fixed --seed 1000 --history " + dir_ + "/ok.ordo")
                .code,
            0);
  CmdResult ok = Ordo("analyze " + dir_ + "/ok.ordo");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("no ordering found"), std::string::npos);
  EXPECT_EQ(Ordo("analyze " + dir_ + "/missing.ordo").code, 2);
}

// --rules selects what runs: the committed history manifests FPRE004-A only.
TEST_F(Cli, AnalyzeRunsOnlyTheSelectedRules) {
  const std::string h = std::string(ORDO_SOURCE_DIR) + "/traces/writeback-legacy-history.ordo";
  CmdResult a = Ordo("analyze --json --rules FPRE004-A " + h);
  ASSERT_EQ(a.code, 1) << a.err;
  auto j = nlohmann::json::parse(a.out);
  EXPECT_EQ(j["rules"], "FPRE004-A");
  ASSERT_GE(j["findings"].size(), 1u);
  for (const auto& f : j["findings"]) EXPECT_EQ(f["rule"], "FPRE004-A");
  // The history's run failed: with the rule that explains it left out, the
  // failure is still reported (unrecognised), never a clean exit 0.
  CmdResult b = Ordo("analyze --json --rules FPRE004-B " + h);
  EXPECT_EQ(b.code, 1) << b.err;
  auto jb = nlohmann::json::parse(b.out);
  EXPECT_EQ(jb["verdict"], "unrecognised ordering");
  ASSERT_EQ(jb["findings"].size(), 1u);
  EXPECT_EQ(jb["findings"][0]["rule"], "UNRECOGNISED");
  EXPECT_TRUE(jb["findings"][0]["manifested"]);
  EXPECT_EQ(Ordo("analyze --rules FPRE004-B,FPRE004-A " + h).code, 1);
  // Ids as typed (any case, blanks, repeats) are reported as the rules' own.
  CmdResult typed = Ordo("analyze --json --rules ' fpre004-a,,FPRE004-A' " + h);
  ASSERT_EQ(typed.code, 1) << typed.err;
  EXPECT_EQ(nlohmann::json::parse(typed.out)["rules"], "FPRE004-A");
  CmdResult bad = Ordo("analyze --json --rules FPRE004-A,FPRE005 " + h);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--rules: unknown rule \"FPRE005\""), std::string::npos) << bad.err;
  EXPECT_EQ(nlohmann::json::parse(bad.out)["exit_code"], 2);
}

TEST_F(Cli, ReportRendersInChromiumWithTheTimelineAndFindings) {
  std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  ASSERT_EQ(Ordo("replay " + trace + " --target " + dir_ +
                 "/t --engine legacy --seed 1000 --history " + dir_ + "/fail.ordo")
                .code,
            1);
  ASSERT_EQ(Ordo("replay " + trace + " --target " + dir_ +
                 "/t --engine fixed --seed 1000 --history " + dir_ + "/ok.ordo")
                .code,
            0);
  CmdResult r = Ordo("report " + dir_ + "/fail.ordo " + dir_ + "/ok.ordo -o " + dir_ + "/r.html");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(Ordo("report " + dir_ + "/fail.ordo -o " + dir_ + "/r.md").code, 0);
  std::string md = Slurp(dir_ + "/r.md");
  EXPECT_NE(md.find("**FPRE004-A**"), std::string::npos);
  EXPECT_NE(md.find("--seed 1000"), std::string::npos);
  EXPECT_EQ(Ordo("report " + dir_ + "/fail.ordo -o " + dir_ + "/r.pdf").code, 2);
  // The same history as Chrome trace events, for Perfetto.
  ASSERT_EQ(Ordo("trace export --format chrome " + dir_ + "/fail.ordo -o " + dir_ + "/t.json").code,
            0);
  auto chrome = nlohmann::json::parse(Slurp(dir_ + "/t.json"));
  ASSERT_GT(chrome["traceEvents"].size(), 1000u);
  EXPECT_EQ(chrome["traceEvents"][0]["ph"], "i");
  EXPECT_TRUE(chrome["traceEvents"][0].contains("tid"));
  if (system("chromium --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed (make test installs it)";
  // The page as a browser builds it: no network, inline SVG.
  std::string cmd =
      "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
      dir_ + "/chrome --dump-dom file://" + dir_ + "/r.html > " + dir_ + "/dom.html 2>/dev/null";
  ASSERT_EQ(system(cmd.c_str()), 0);
  std::string dom = Slurp(dir_ + "/dom.html");
  EXPECT_NE(dom.find("<svg id=\"timeline\""), std::string::npos);
  EXPECT_NE(dom.find("class=\"race\""), std::string::npos);  // the racing steps are highlighted
  EXPECT_NE(dom.find("FPRE004-A"), std::string::npos);
  EXPECT_NE(dom.find("manifested"), std::string::npos);
  EXPECT_NE(dom.find("No ordering found."), std::string::npos);  // the fixed run
}

// The history the default exploration keeps is the failing run's: the report
// says its finding is confirmed, with the command that repeats that run, and
// names each lane by its role, not by a bare index.
TEST_F(Cli, ReportOfTheDefaultExplorationSaysConfirmedAndNamesLanesByRole) {
  std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  ASSERT_EQ(Ordo("replay " + trace + " --target " + dir_ + "/t --engine legacy --history " + dir_ +
                 "/h.ordo")
                .code,
            1);
  // The thread table of the history: every scheduler thread by its role.
  CmdResult cat = Ordo("trace cat " + dir_ + "/h.ordo");
  ASSERT_EQ(cat.code, 0) << cat.err;
  EXPECT_NE(cat.out.find("name dispatcher"), std::string::npos);
  EXPECT_NE(cat.out.find("name replay thread of trace thread 1/1"), std::string::npos);
  EXPECT_NE(cat.out.find("name prefetch-0"), std::string::npos);
  ASSERT_EQ(Ordo("report " + dir_ + "/h.ordo -o " + dir_ + "/r.md").code, 0);
  ASSERT_EQ(Ordo("report " + dir_ + "/h.ordo -o " + dir_ + "/r.html").code, 0);
  std::string md = Slurp(dir_ + "/r.md");
  std::string html = Slurp(dir_ + "/r.html");
  EXPECT_NE(md.find("**confirmed**"), std::string::npos) << md;
  EXPECT_NE(md.find("confirmed: the failing run of this history"), std::string::npos) << md;
  // The lanes of the timeline, and the threads of the explanation, by role.
  EXPECT_NE(md.find("replay thread of trace thread 1/"), std::string::npos) << md;
  EXPECT_NE(html.find("<text class=\"lane\" x=\"4\" y=\""), std::string::npos);
  EXPECT_NE(html.find("\">replay thread of trace thread 1/"), std::string::npos) << html;
  EXPECT_NE(html.find("<span class=\"status fail\">confirmed</span>"), std::string::npos);
  EXPECT_EQ(md.find(" T0 "), std::string::npos) << md;  // no bare index where a role is known
  // The command given with "confirmed" repeats the failing run alone.
  const std::string mark = "  - confirmed: `";
  size_t at = md.find(mark);
  ASSERT_NE(at, std::string::npos) << md;
  std::string cmd = md.substr(at + mark.size(), md.find('`', at + mark.size()) - at - mark.size());
  EXPECT_NE(cmd.find("--runs 1"), std::string::npos) << cmd;
  cmd = cmd.substr(cmd.find("replay "));
  size_t target = cmd.find("--target ");
  ASSERT_NE(target, std::string::npos) << cmd;
  cmd.replace(target, cmd.find(' ', target + 9) - target, "--target " + dir_ + "/t2");
  EXPECT_EQ(Ordo(cmd + " --history " + dir_ + "/again.ordo").code, 1) << cmd;
  ASSERT_EQ(Ordo("report " + dir_ + "/again.ordo -o " + dir_ + "/again.md").code, 0);
  EXPECT_NE(Slurp(dir_ + "/again.md").find("**confirmed**"), std::string::npos);
}

// The runs table compares histories by the fields of the run that made each
// (its header's RunSpec), not by their command lines.
TEST_F(Cli, ReportComparesRunsByTheirFields) {
  std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  CmdResult a =
      Ordo("replay " + trace + " --target " + dir_ +
           "/ta --engine legacy --explore pos --seed 3 --runs 1 --history " + dir_ + "/a.ordo");
  ASSERT_LE(a.code, 1) << a.err;
  CmdResult b = Ordo("replay " + trace + " --target " + dir_ +
                     "/tb --engine fixed --explore pct --depth 4 --seed 7 --runs 1 --history " +
                     dir_ + "/b.ordo");
  ASSERT_EQ(b.code, 0) << b.err;
  ASSERT_EQ(Ordo("report " + dir_ + "/a.ordo " + dir_ + "/b.ordo -o " + dir_ + "/r.md").code, 0);
  ASSERT_EQ(Ordo("report " + dir_ + "/a.ordo " + dir_ + "/b.ordo -o " + dir_ + "/r.html").code, 0);
  std::string md = Slurp(dir_ + "/r.md");
  EXPECT_NE(md.find("| history | engine | strategy | seed |"), std::string::npos) << md;
  EXPECT_NE(md.find("/a.ordo` | legacy | pos | 3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("/b.ordo` | fixed | pct depth 4 | 7 |"), std::string::npos) << md;
  std::string html = Slurp(dir_ + "/r.html");
  EXPECT_NE(html.find("<td>fixed</td><td>pct depth 4</td><td>7</td>"), std::string::npos);
}

TEST_F(Cli, MinimizeShrinksTheFioTraceToAFewOperationsThatStillFail) {
  std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";
  CmdResult r = Ordo("minimize " + trace + " --engine legacy --seed 1000 -o " + dir_ + "/min.ordo");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  auto info = nlohmann::json::parse(Ordo("trace info --json " + dir_ + "/min.ordo").out);
  uint64_t ios = info["io_events"];
  EXPECT_LE(ios, 50u);
  EXPECT_GE(ios, 2u);  // a write and a read at least
  // The printed command reproduces it in one run; the fixed engine does not fail on it.
  size_t at = r.out.find("reproduce: ordo ");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string cmd = r.out.substr(at + 16, r.out.find('\n', at) - at - 16);
  size_t dir = cmd.find("DIR");
  ASSERT_NE(dir, std::string::npos);
  cmd.replace(dir, 3, dir_ + "/t");
  EXPECT_EQ(Ordo(cmd).code, 1) << cmd;
  EXPECT_EQ(
      Ordo("replay " + dir_ + "/min.ordo --target " + dir_ + "/t --engine fixed --runs 100").code,
      0);
}

// FPRE004-B needs compaction to relocate the block while a read verifies it:
// judged by targeted runs forcing that ordering on the failing block, each
// verdict is decisive, and the capture shrinks to a few dozen operations.
TEST_F(Cli, MinimizeShrinksAnFpre004BCaptureByTargetedConfirmation) {
  std::string trace = std::string(ORDO_SOURCE_DIR) + "/traces/loadgen-b.ordo";
  // The capture fails FPRE004-A first under most seeds: --rule keeps a B.
  // A run budget, not a time budget: the result (42 operations, ~45 s) does
  // not depend on the machine's speed. The time limit is only a backstop
  // (an AddressSanitizer build needs ~3 minutes for the same runs).
  CmdResult r = Ordo("minimize " + trace + " --engine legacy --rule FPRE004-B --explore random " +
                     "--seed 15 --max-runs 1200 --time 15m -o " + dir_ + "/min.ordo");
  ASSERT_EQ(r.code, 1) << r.err << r.out;
  auto info = nlohmann::json::parse(Ordo("trace info --json " + dir_ + "/min.ordo").out);
  uint64_t ios = info["io_events"];
  EXPECT_LE(ios, 50u) << r.out;
  size_t at = r.out.find("reproduce: ordo ");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string cmd = r.out.substr(at + 16, r.out.find('\n', at) - at - 16);
  EXPECT_NE(cmd.find("--focus 'FPRE004-B:"), std::string::npos) << cmd;
  size_t dir = cmd.find("DIR");
  ASSERT_NE(dir, std::string::npos);
  cmd.replace(dir, 3, dir_ + "/t");
  CmdResult again = Ordo(cmd);
  EXPECT_EQ(again.code, 1) << cmd;
  EXPECT_NE((again.out + again.err).find("neither \"cache ready\""), std::string::npos)
      << again.out << again.err;  // FPRE004-B, not a stale checksum
}

}  // namespace
}  // namespace ordo
