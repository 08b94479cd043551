// `ordo demo` end to end, as `make demo` runs it: with eBPF (root, as CI runs)
// capturing loadgen live, and with the privileges dropped, where it must say
// so and go on from the committed sample trace.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <string>

#include "engine_test_util.h"

namespace ordo {
namespace {

struct DemoRun {
  int code = -1;
  std::string out;
};

DemoRun RunDemo(const std::string& prefix, const std::string& workdir) {
  std::string cmd = prefix + std::string(ORDO_BIN) + " demo --workdir " + workdir +
                    " --fixed-runs 5 --minimize-time 30m --minimize-runs 4000 >" + workdir +
                    ".out 2>&1";
  int st = system(cmd.c_str());
  DemoRun r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  std::ifstream in(workdir + ".out");
  r.out.assign(std::istreambuf_iterator<char>(in), {});
  return r;
}

// The summary table's value for `key`.
std::string Row(const std::string& out, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("\n   " + key + " +([^\n]*)")))
    return "<no row " + key + ">";
  return m[1];
}

// `small`: the minimized trace must have at most 50 operations. Minimization
// is bounded by replay runs (not time), so on the committed sample the result
// is the same on any machine; a live capture differs each time, and is only
// required to shrink.
void ExpectTheWholeStory(const DemoRun& r, const std::string& workdir, bool small) {
  ASSERT_EQ(r.code, 0) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m,
      std::regex("runs to reproduce, auto +([0-9]+) \\((pos|targeted) run, seed [0-9]+\\)")))
      << r.out;
  EXPECT_LE(std::stoul(m[1]), 2u) << r.out;
  EXPECT_NE(Row(r.out, "predicted / confirmed").find("confirmed (run "), std::string::npos)
      << r.out;
  EXPECT_EQ(Row(r.out, "same seed, same failure"), "yes");
  EXPECT_NE(Row(r.out, "findings by rule").find("(manifested: FPRE004-"), std::string::npos)
      << r.out;
  EXPECT_EQ(Row(r.out, "fixed engine"), "5 of 5 runs clean");
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("minimized +([0-9]+) of ([0-9]+) operations")))
      << r.out;
  EXPECT_GT(std::stoul(m[2]), 1000u);
  EXPECT_LT(std::stoul(m[1]), std::stoul(m[2]));
  if (small) EXPECT_LE(std::stoul(m[1]), 50u);
  for (const char* f : {"/report.html", "/report.md", "/min.ordo", "/fail.ordo", "/fixed.ordo"}) {
    struct stat st;
    EXPECT_EQ(stat((workdir + f).c_str(), &st), 0) << f;
  }
  std::ifstream md(workdir + "/report.md");
  std::string text((std::istreambuf_iterator<char>(md)), {});
  EXPECT_NE(text.find("**FPRE004-"), std::string::npos);
}

TEST(Demo, CapturesLoadgenLiveAndTellsTheWholeStory) {
  if (geteuid() != 0) GTEST_SKIP() << "not root: the live capture needs BPF (CI runs as root)";
  ordo::testing::TempDir dir(false);
  DemoRun r = RunDemo("", dir.path() + "/demo");
  EXPECT_NE(Row(r.out, "trace").find("(live eBPF capture)"), std::string::npos) << r.out;
  EXPECT_EQ(Row(r.out, "lost events"), "0");
  ExpectTheWholeStory(r, dir.path() + "/demo", false);
}

TEST(Demo, WithoutPrivilegeSaysSoAndUsesTheSampleTrace) {
  if (geteuid() != 0) GTEST_SKIP() << "not root: cannot drop privileges to test this";
  if (system("setpriv --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "setpriv (util-linux) is not installed";
  ordo::testing::TempDir dir(false);
  chmod(dir.path().c_str(), 0777);
  DemoRun r = RunDemo("setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all ",
                      dir.path() + "/demo");
  EXPECT_NE(r.out.find("capture is not possible here"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CAP_BPF"), std::string::npos) << r.out;
  EXPECT_NE(Row(r.out, "trace").find("loadgen-a.ordo (committed sample (no eBPF privilege))"),
            std::string::npos)
      << r.out;
  ExpectTheWholeStory(r, dir.path() + "/demo", true);
}

}  // namespace
}  // namespace ordo
