// ordo capture with real eBPF of engines (USDT points and site tables, an
// engine of your own under loadgen), a killed capture, the status line, and
// the refusal without privilege. Needs root; without BPF the tests say why
// they skip.
#include "capture_test_util.h"

namespace ordo::capture {
namespace {

TEST(Capture, EngineUsdtProbesGiveAnAnalyzableHistory) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  CaptureOptions o;
  o.output = dir.path() + "/lg.ordo";
  o.usdt_binary = ORDO_BIN;
  o.command = {ORDO_BIN,     "loadgen", "--target", dir.path() + "/engine",
               "--duration", "1s",      "--engine", "legacy"};
  auto r = capture::Run(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lost, 0u);
  Captured c = Load(o.output);
  uint64_t api = 0;
  for (const auto& io : c.ios)
    api += io.op == trace::IoOp::kEngineRead || io.op == trace::IoOp::kEngineWrite;
  EXPECT_GT(api, 1000u);                     // ordo:request
  auto a = analyze::AnalyzeTrace(o.output);  // ordo:point events
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_GT(a->events, 10000u);
  bool stale_clean = false;
  for (const auto& f : a->findings) stale_clean |= f.rule == "FPRE004-A";
  EXPECT_TRUE(stale_clean) << "the legacy engine's orderings were not seen in its own probes";
}

// The same for an engine of a team's own driven by loadgen through the
// engine ABI: ordo's host fires ordo:site and ordo:point for it, so the
// capture carries the engine's own site names and is analyzed.
TEST(Capture, AnEngineOfYourOwnUnderLoadgenIsCapturedWithItsSitesAndAnalyzed) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  CaptureOptions o;
  o.output = dir.path() + "/wb.ordo";
  o.usdt_binary = ORDO_BIN;
  o.command = {ORDO_BIN,     "loadgen", "--target", dir.path() + "/engine",
               "--duration", "2s",      "--engine", std::string(WRITEBACK_SO) + ":mode=legacy"};
  auto r = capture::Run(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lost, 0u);
  std::map<std::string, uint8_t> sites;
  auto reader = trace::TraceReader::Open(o.output);
  ASSERT_TRUE(reader.ok());
  trace::Record rec;
  while ((*reader)->Next(&rec)) {
    if (rec.kind == trace::RecordKind::kSite) sites[rec.site.name] = rec.site.access;
  }
  EXPECT_EQ(sites["readahead.fill"], static_cast<uint8_t>(sched::Access::kFill));
  EXPECT_EQ(sites["readahead.mark_clean"], static_cast<uint8_t>(sched::Access::kMarkClean));
  auto a = analyze::AnalyzeTrace(o.output);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_GT(a->events, 10000u);
  bool stale_fill = false;
  for (const auto& f : a->findings) stale_fill |= f.rule == "FPRE004-A";
  EXPECT_TRUE(stale_fill) << "the example engine's legacy read-ahead was not seen";
}

// An engine of a team's own, built for production with ordo/engine_point.h
// (-DORDO_POINTS_USDT): its ordering points are USDT probes only, and its
// site registrations too, so the capture carries the site table and is
// analyzed as a replay's history is.
TEST(Capture, AProductionBuildOfAnEnginesPointsIsRecordedWithItsSiteTable) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  CaptureOptions o;
  o.output = dir.path() + "/points.ordo";
  o.usdt_binary = USDT_POINTS_BIN;
  o.command = {USDT_POINTS_BIN, "500"};
  auto r = capture::Run(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lost, 0u);
  Captured c = Load(o.output);
  std::map<uint16_t, uint64_t> by_kind;
  for (const auto& e : c.engine) ++by_kind[e.kind];
  for (uint16_t site = 1; site <= 5; ++site) {
    EXPECT_EQ(by_kind[trace::kSiteEventBase + site], 500u) << "site " << site;
  }
  bool object_seen = false;
  for (const auto& e : c.engine) object_seen |= e.block == ((uint64_t{1} << 32) | 7);
  EXPECT_TRUE(object_seen);
  // The site table, as the program registered it.
  std::map<uint32_t, trace::SiteRecord> sites;
  auto reader = trace::TraceReader::Open(o.output);
  ASSERT_TRUE(reader.ok());
  trace::Record rec;
  while ((*reader)->Next(&rec)) {
    if (rec.kind == trace::RecordKind::kSite) sites[rec.site.site] = rec.site;
  }
  ASSERT_EQ(sites.size(), 5u);
  EXPECT_EQ(sites[1].name, "write.lock");
  EXPECT_EQ(sites[1].access, static_cast<uint8_t>(sched::Access::kAcquire));
  EXPECT_EQ(sites[5].name, "readahead.mark_clean");
  EXPECT_EQ(sites[5].access, static_cast<uint8_t>(sched::Access::kMarkClean));
  // Nothing orders the read-ahead's fills and marks with the writer's
  // locked writes: the analysis predicts FPRE004-A from the capture alone.
  auto a = analyze::AnalyzeTrace(o.output);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_FALSE(a->findings.empty());
  EXPECT_EQ(a->findings[0].rule, "FPRE004-A");
  EXPECT_FALSE(a->findings[0].manifested);
}

TEST(Capture, KilledCaptureLeavesAReadableTrace) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  std::string out = dir.path() + "/killed.ordo";
  pid_t pid = fork();
  if (pid == 0) {
    execl(ORDO_BIN, ORDO_BIN, "capture", "-o", out.c_str(), "--", ORDO_BIN, "loadgen", "--target",
          (dir.path() + "/engine").c_str(), "--duration", "30s", nullptr);
    _exit(127);
  }
  sleep(3);  // at least two flushes
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  // The traced loadgen outlives its killed parent: stop it too.
  std::string stop = "pkill -9 -f 'loadgen --target " + dir.path() + "/engine' >/dev/null 2>&1";
  (void)!system(stop.c_str());
  // The capture never got to rename its partial over the output: the events
  // up to the last flush are in OUT.partial, and OUT was not created.
  EXPECT_FALSE(std::filesystem::exists(out));
  out += ".partial";
  auto r = trace::TraceReader::Open(out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  trace::Record rec;
  uint64_t n = 0;
  while ((*r)->Next(&rec)) ++n;
  EXPECT_GT(n, 1000u);
  EXPECT_EQ((*r)->status().code(), StatusCode::kTruncated) << (*r)->status().ToString();
  EXPECT_NE((*r)->status().message().find("without its footer"), std::string::npos);
  struct stat st;
  ASSERT_EQ(stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// On a terminal a status line (events/s, lost, bytes written) is redrawn
// about once a second; in a pipe or file there is none.
TEST(Capture, ShowsALiveStatusLineOnATerminalOnly) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  if (system("script --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "script (util-linux) is not installed";
  TempDir dir(false);
  const std::string workload =
      "-- sh -c 'for i in 1 2 3; do cat /etc/passwd >/dev/null; sleep 1; done'";
  std::string tty_cmd = "script -qc \"" + std::string(ORDO_BIN) + " capture -o " + dir.path() +
                        "/a.ordo " + workload + "\" /dev/null >" + dir.path() + "/tty.out 2>&1";
  ASSERT_EQ(system(tty_cmd.c_str()), 0);
  std::ifstream tty(dir.path() + "/tty.out");
  std::string out((std::istreambuf_iterator<char>(tty)), {});
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(out, m,
                        std::regex("\rcapture: [0-9]+ s, ([0-9]+) events \\([0-9]+/s\\), 0 lost, "
                                   "[0-9]+ written")))
      << out;
  EXPECT_GT(std::stoul(m[1]), 0u);
  std::string pipe_cmd = std::string(ORDO_BIN) + " capture -o " + dir.path() + "/b.ordo " +
                         workload + " 2>" + dir.path() + "/pipe.err";
  ASSERT_EQ(system(pipe_cmd.c_str()), 0);
  std::ifstream pipe(dir.path() + "/pipe.err");
  std::string err((std::istreambuf_iterator<char>(pipe)), {});
  EXPECT_EQ(err.find("\rcapture:"), std::string::npos) << err;
  EXPECT_NE(err.find("b.ordo: "), std::string::npos) << err;  // the closing summary is always there
}

TEST(Capture, WithoutPrivilegeExitsThreeNamingWhatIsMissing) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: cannot drop privileges to test this";
  if (system("setpriv --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "setpriv (util-linux) is not installed";
  TempDir dir(false);
  chmod(dir.path().c_str(), 0777);
  std::string cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " +
                    std::string(ORDO_BIN) + " capture --pid 1 -o " + dir.path() + "/x.ordo 2>" +
                    dir.path() + "/err";
  int st = system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 3);
  std::ifstream err(dir.path() + "/err");
  std::string msg((std::istreambuf_iterator<char>(err)), {});
  EXPECT_NE(msg.find("CAP_BPF"), std::string::npos) << msg;
}

}  // namespace
}  // namespace ordo::capture
