// ordo capture with real eBPF: what a traced process did, exactly; fio's own
// iolog as independent ground truth; lost events counted; filters; and the
// clear refusal without privilege. Needs root (CI runs as root); without BPF
// the tests say why they skip.
#include "ordo/capture/capture.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "engine_test_util.h"
#include "ordo/analyze/analyzer.h"
#include "ordo/trace/reader.h"

namespace ordo::capture {
namespace {

using ordo::testing::TempDir;

// A traced child: started, made to wait, released on Go().
struct Workload {
  pid_t pid = -1;
  FILE* in = nullptr;   // its stdin
  FILE* out = nullptr;  // its stdout
  void Start(const std::string& dir, const std::string& mode, long n = 0) {
    int to[2], from[2];
    ASSERT_EQ(pipe(to), 0);
    ASSERT_EQ(pipe(from), 0);
    pid = fork();
    if (pid == 0) {
      dup2(to[0], 0);
      dup2(from[1], 1);
      close(to[1]);
      close(from[0]);
      std::string ns = std::to_string(n);
      execl(CAPTURE_WORKLOAD, CAPTURE_WORKLOAD, dir.c_str(), mode.c_str(), ns.c_str(), nullptr);
      _exit(127);
    }
    close(to[0]);
    close(from[1]);
    in = fdopen(to[1], "w");
    out = fdopen(from[0], "r");
    char line[64] = {};
    ASSERT_NE(fgets(line, sizeof(line), out), nullptr);
    ASSERT_EQ(std::string(line).rfind("ready", 0), 0u);
  }
  void Go() {
    fputs("go\n", in);
    fflush(in);
  }
  std::vector<std::string> Finish() {
    std::vector<std::string> lines;
    char line[512];
    while (fgets(line, sizeof(line), out)) lines.push_back(std::string(line, strcspn(line, "\n")));
    int st;
    waitpid(pid, &st, 0);
    fclose(in);
    fclose(out);
    return lines;
  }
};

// Runs a capture on a thread until Stop().
struct Capturing {
  std::atomic<bool> stop{false};
  std::thread thread;
  Result<CaptureResult> result = Status::Unsupported("not run");
  void Start(CaptureOptions o) {
    o.stop = &stop;
    thread = std::thread([this, o] { result = Run(o); });
    usleep(300000);  // attached well before the workload goes
  }
  void Stop() {
    usleep(200000);
    stop = true;
    thread.join();
  }
};

struct Captured {
  std::map<uint32_t, std::string> paths;
  std::vector<trace::IoRecord> ios;
  std::vector<trace::EngineRecord> engine;
  uint64_t lost = 0;
};

Captured Load(const std::string& path) {
  Captured c;
  auto r = trace::TraceReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  trace::Record rec;
  while ((*r)->Next(&rec)) {
    if (rec.kind == trace::RecordKind::kFile) c.paths[rec.file.file] = rec.file.path;
    if (rec.kind == trace::RecordKind::kIo) c.ios.push_back(rec.io);
    if (rec.kind == trace::RecordKind::kEngine) c.engine.push_back(rec.engine);
    if (rec.kind == trace::RecordKind::kLost) c.lost += rec.lost.count;
  }
  EXPECT_TRUE((*r)->status().ok()) << (*r)->status().ToString();
  return c;
}

bool SkipWithoutBpf() {
  if (geteuid() != 0) {
    std::printf("SKIPPED: capture tests need root for BPF (CI runs as root)\n");
    return true;
  }
  return false;
}

// preads recorded from `pid`, checking that nothing came from `excluded`
// (sanitizer builds add short-lived helper tasks of the traced process, so
// "only from pid" would be too strict).
uint64_t PreadsFrom(const Captured& c, pid_t pid, std::vector<pid_t> excluded) {
  excluded.push_back(getpid());  // the test itself writes the trace
  uint64_t preads = 0;
  for (const auto& io : c.ios) {
    for (pid_t x : excluded)
      EXPECT_NE(io.pid, static_cast<uint32_t>(x)) << "I/O from a filtered-out process";
    if (io.pid == static_cast<uint32_t>(pid)) preads += io.op == trace::IoOp::kPread;
  }
  return preads;
}

TEST(Capture, TracedThreadsIoIsRecordedExactly) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  Workload w;
  w.Start(dir.path(), "mixed");
  Capturing cap;
  CaptureOptions o;
  o.pids = {static_cast<uint32_t>(w.pid)};
  o.output = dir.path() + "/t.ordo";
  o.tick_ns = 1;
  cap.Start(o);
  w.Go();
  auto expected = w.Finish();
  cap.Stop();
  ASSERT_TRUE(cap.result.ok()) << cap.result.status().ToString();
  EXPECT_EQ(cap.result->lost, 0u);
  Captured c = Load(o.output);
  // Per thread, in order: op, path, offset, length of every read/write.
  std::map<std::string, std::vector<std::string>> want, got;
  for (const auto& line : expected) {
    std::istringstream ls(line);
    std::string tid, rest;
    ls >> tid;
    std::getline(ls, rest);
    want[tid].push_back(rest.substr(1));
  }
  for (const auto& io : c.ios) {
    if (!trace::IsReadOp(io.op) && !trace::IsWriteOp(io.op)) continue;
    const std::string& p = c.paths[io.file];
    if (p.rfind(dir.path(), 0) != 0) continue;  // the loader's own reads of libraries
    got[std::to_string(io.tid)].push_back(std::string(trace::IoOpName(io.op)) + " " + p + " " +
                                          std::to_string(io.offset) + " " +
                                          std::to_string(io.length));
  }
  // The 64 KiB initial writes of pre-* happened before capture began.
  ASSERT_EQ(want.size(), 3u);
  for (const auto& [tid, ops] : want) {
    if (got[tid].size() != ops.size()) {
      for (const auto& g : got[tid]) std::printf("got  %s\n", g.c_str());
      for (const auto& g : ops) std::printf("want %s\n", g.c_str());
    }
    ASSERT_EQ(got[tid].size(), ops.size()) << "thread " << tid;
    EXPECT_EQ(got[tid], ops) << "thread " << tid;
  }
  EXPECT_EQ(got.size(), 3u);
}

TEST(Capture, FioRunMatchesFiosOwnIologExactly) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  if (system("fio --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "fio is not installed (make test installs it)";
  TempDir dir(false);
  std::string data = dir.path() + "/data";
  CaptureOptions o;
  o.output = dir.path() + "/fio.ordo";
  o.path_prefixes = {data};
  o.tick_ns = 1;
  o.command = {"fio",
               "--output=/dev/null",
               "--ioengine=psync",
               "--blockalign=1",
               "--bsrange=512-12k",
               "--size=4M",
               "--number_ios=400",
               "--filename=" + data,
               "--name=a",
               "--rw=randrw",
               "--write_iolog=" + dir.path() + "/a.log",
               "--name=b",
               "--rw=read",
               "--write_iolog=" + dir.path() + "/b.log"};
  auto r = capture::Run(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->command_status, 0);
  EXPECT_EQ(r->lost, 0u);
  Captured c = Load(o.output);
  std::multiset<std::string> want, got;
  for (const char* log : {"/a.log", "/b.log"}) {
    std::ifstream in(dir.path() + log);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string ts, file, verb, off, len;
      ls >> ts >> file >> verb >> off >> len;
      if (verb == "read" || verb == "write") want.insert(verb + " " + off + " " + len);
    }
  }
  for (const auto& io : c.ios) {
    if (trace::IsReadOp(io.op) || trace::IsWriteOp(io.op)) {
      got.insert(std::string(trace::IsReadOp(io.op) ? "read" : "write") + " " +
                 std::to_string(io.offset) + " " + std::to_string(io.length));
    }
  }
  // fio lays out the file before the jobs run (writes not in its iolog).
  std::multiset<std::string> layout;
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                      std::inserter(layout, layout.end()));
  for (const auto& extra : layout)
    EXPECT_EQ(extra.rfind("write ", 0), 0u) << "unexpected " << extra;
  std::multiset<std::string> missing;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                      std::inserter(missing, missing.end()));
  EXPECT_TRUE(missing.empty()) << missing.size() << " of fio's I/Os were not captured, e.g. "
                               << *missing.begin();
  EXPECT_GT(want.size(), 500u);
}

TEST(Capture, LostEventsAreCountedExactlyWithATinyRing) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  Workload w;
  const long n = 200000;
  w.Start(dir.path(), "burst", n);
  Capturing cap;
  CaptureOptions o;
  o.pids = {static_cast<uint32_t>(w.pid)};
  o.output = dir.path() + "/t.ordo";
  o.ring_bytes = 4096;
  cap.Start(o);
  w.Go();
  w.Finish();
  cap.Stop();
  ASSERT_TRUE(cap.result.ok()) << cap.result.status().ToString();
  Captured c = Load(o.output);
  uint64_t preads = 0;
  for (const auto& io : c.ios) preads += io.op == trace::IoOp::kPread;
  std::printf("tiny ring: %llu preads recorded, %llu lost, of %ld\n",
              static_cast<unsigned long long>(preads), static_cast<unsigned long long>(c.lost), n);
  EXPECT_GT(c.lost, 0u);
  EXPECT_EQ(c.lost, cap.result->lost);
  EXPECT_EQ(preads + c.lost, static_cast<uint64_t>(n));
}

TEST(Capture, OtherProcessesAreFilteredOut) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  Workload traced, other;
  std::filesystem::create_directory(dir.path() + "/o");
  traced.Start(dir.path(), "burst", 1000);
  other.Start(dir.path() + "/o", "burst", 5000);
  Capturing cap;
  CaptureOptions o;
  o.pids = {static_cast<uint32_t>(traced.pid)};
  o.output = dir.path() + "/t.ordo";
  cap.Start(o);
  traced.Go();
  other.Go();
  traced.Finish();
  other.Finish();
  cap.Stop();
  ASSERT_TRUE(cap.result.ok());
  EXPECT_EQ(PreadsFrom(Load(o.output), traced.pid, {other.pid}), 1000u);
}

TEST(Capture, CommAndCgroupFiltersRunInTheKernel) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  // --comm
  {
    Workload w;
    w.Start(dir.path(), "burst", 500);
    Capturing cap;
    CaptureOptions o;
    o.comm = "capture_workload";  // the kernel keeps 15 characters; capture compares those
    o.output = dir.path() + "/comm.ordo";
    cap.Start(o);
    w.Go();
    w.Finish();
    cap.Stop();
    ASSERT_TRUE(cap.result.ok()) << cap.result.status().ToString();
    EXPECT_EQ(PreadsFrom(Load(o.output), w.pid, {}), 500u);
  }
  // --cgroup: a cgroup v2 holding only the workload (this machine mounts
  // cgroup v1 at /sys/fs/cgroup, so mount the v2 hierarchy beside it).
  std::string mnt = dir.path() + "/cg2";
  std::filesystem::create_directory(mnt);
  if (mount("none", mnt.c_str(), "cgroup2", 0, nullptr) != 0)
    GTEST_SKIP() << "cannot mount cgroup2: " << strerror(errno);
  struct Unmount {
    std::string m;
    ~Unmount() { umount2(m.c_str(), MNT_DETACH); }
  } unmount{mnt};
  std::string cg = mnt + "/ordo-test";
  ASSERT_EQ(mkdir(cg.c_str(), 0755), 0) << strerror(errno);
  Workload w;
  w.Start(dir.path(), "burst", 700);
  {
    std::ofstream procs(cg + "/cgroup.procs");
    procs << w.pid;
  }
  Workload other;
  std::filesystem::create_directory(dir.path() + "/o");
  other.Start(dir.path() + "/o", "burst", 300);
  Capturing cap;
  CaptureOptions o;
  o.cgroup = cg;
  o.output = dir.path() + "/cg.ordo";
  cap.Start(o);
  w.Go();
  other.Go();
  w.Finish();
  other.Finish();
  cap.Stop();
  ASSERT_TRUE(cap.result.ok()) << cap.result.status().ToString();
  {
    std::ofstream back(mnt + "/cgroup.procs");  // leave the cgroup empty so it can go
  }
  rmdir(cg.c_str());
  EXPECT_EQ(PreadsFrom(Load(o.output), w.pid, {other.pid}), 700u);
}

TEST(Capture, DurationAndMaxSizeStopTheCapture) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  CaptureOptions o;
  o.output = dir.path() + "/d.ordo";
  o.duration_ns = 1500000000;
  o.command = {"sleep", "30"};
  auto r = capture::Run(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Stopped by --duration: the command was still running (no exit status).
  EXPECT_EQ(r->command_status, -1);
  CaptureOptions m;
  m.output = dir.path() + "/m.ordo";
  m.max_size = 20000;
  m.command = {ORDO_BIN, "loadgen", "--target", dir.path() + "/engine", "--duration", "60s"};
  m.usdt_binary = ORDO_BIN;
  auto rm = capture::Run(m);
  ASSERT_TRUE(rm.ok()) << rm.status().ToString();
  EXPECT_GE(rm->bytes, 20000u);
  EXPECT_EQ(rm->command_status, -1);  // stopped by --max-size, not by the command
  auto reader = trace::TraceReader::Open(m.output);
  ASSERT_TRUE(reader.ok());
  trace::Record rec;
  while ((*reader)->Next(&rec)) {
  }
  EXPECT_TRUE((*reader)->complete());  // a clean stop writes the footer
  // The commands keep running after the capture stops; this test ends them.
  std::string stop = "pkill -9 -f 'loadgen --target " + dir.path() +
                     "/engine' >/dev/null 2>&1; pkill -9 -x -f 'sleep 30'";
  (void)!system(stop.c_str());
}

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
