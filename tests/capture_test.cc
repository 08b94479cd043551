// ordo capture with real eBPF: what a traced process did, exactly; fio's own
// iolog as independent ground truth; lost events counted; filters; stops by
// duration and size (engines, kills and privilege: capture_engine_test.cc).
// Needs root (CI runs as root); without BPF the tests say why they skip.
#include "capture_test_util.h"

namespace ordo::capture {
namespace {

// Per thread, in order: "op path offset length" of every read, write and
// sync capture recorded in files under `dir`.
std::map<std::string, std::vector<std::string>> IoByThread(const Captured& c,
                                                           const std::string& dir) {
  std::map<std::string, std::vector<std::string>> got;
  for (const auto& io : c.ios) {
    if (!trace::IsReadOp(io.op) && !trace::IsWriteOp(io.op) && !trace::IsSyncOp(io.op)) continue;
    const std::string& p = c.paths.at(io.file);
    if (p.rfind(dir, 0) != 0) continue;  // the loader's own reads of libraries
    got[std::to_string(io.tid)].push_back(std::string(trace::IoOpName(io.op)) + " " + p + " " +
                                          std::to_string(io.offset) + " " +
                                          std::to_string(io.length));
  }
  return got;
}

// The workload's "tid op path offset length" lines, per thread in order.
std::map<std::string, std::vector<std::string>> ExpectedByThread(
    const std::vector<std::string>& lines) {
  std::map<std::string, std::vector<std::string>> want;
  for (const auto& line : lines) {
    std::istringstream ls(line);
    std::string tid, rest;
    ls >> tid;
    std::getline(ls, rest);
    want[tid].push_back(rest.substr(1));
  }
  return want;
}

void ExpectSameIo(const std::map<std::string, std::vector<std::string>>& want,
                  std::map<std::string, std::vector<std::string>> got) {
  for (const auto& [tid, ops] : want) {
    if (got[tid].size() != ops.size()) {
      for (const auto& g : got[tid]) std::printf("got  %s\n", g.c_str());
      for (const auto& g : ops) std::printf("want %s\n", g.c_str());
    }
    ASSERT_EQ(got[tid].size(), ops.size()) << "thread " << tid;
    EXPECT_EQ(got[tid], ops) << "thread " << tid;
  }
  EXPECT_EQ(got.size(), want.size());
}

// Runs the capture workload in `mode` under capture (only files under
// `path_filter` inside its directory, if given); returns what it expected and
// what was captured, per thread.
void CaptureWorkload(const std::string& mode, long n,
                     std::map<std::string, std::vector<std::string>>* want,
                     std::map<std::string, std::vector<std::string>>* got,
                     const std::string& path_filter = "") {
  TempDir dir(false);
  CaptureOptions o;
  o.tick_ns = 1;
  if (!path_filter.empty()) o.path_prefixes = {dir.path() + "/" + path_filter};
  CapturedRun run = RunUnderCapture(dir.path(), mode, n, o);
  ASSERT_TRUE(run.result.ok()) << run.result.status().ToString();
  EXPECT_EQ(run.result->lost, 0u);
  *want = ExpectedByThread(run.lines);
  *got = IoByThread(Load(run.output), dir.path());
}

TEST(Capture, TracedThreadsIoIsRecordedExactly) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  std::map<std::string, std::vector<std::string>> want, got;
  CaptureWorkload("mixed", 0, &want, &got);
  // The 64 KiB initial writes of pre-* happened before capture began.
  ASSERT_EQ(want.size(), 3u);
  ExpectSameIo(want, got);
}

// Records are gathered per CPU in the kernel, and a syscall's state stays
// with its CPU unless its task switches out: a thread that moves between CPUs
// (here every 7 reads, 4 threads on however many CPUs there are) or sleeps in
// a syscall (fdatasync) still has every record, in the order it made them.
TEST(Capture, ThreadsMovingBetweenCpusKeepTheirOrder) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  std::map<std::string, std::vector<std::string>> want, got;
  CaptureWorkload("migrate", 3000, &want, &got);
  ASSERT_EQ(want.size(), 4u);
  for (const auto& [tid, ops] : want) ASSERT_EQ(ops.size(), 3000u + 2 * 30);
  ExpectSameIo(want, got);
}

// Files opened with open(2), creat(2) and openat2(2) are named when they are
// opened, like openat's: a file's I/O is decoded after it is closed (records
// wait in their CPU's batch) and a --path filter still keeps all of it.
TEST(Capture, FilesOpenedByEveryOpenSyscallAreNamedAndFiltered) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  std::map<std::string, std::vector<std::string>> want, got;
  CaptureWorkload("opens", 12, &want, &got, "o-");
  ASSERT_EQ(want.size(), 1u);
  ASSERT_EQ(want.begin()->second.size(), 36u);
  ExpectSameIo(want, got);
}

// An io_uring request completed by an io-wq worker while its submitter made
// syscalls (whose records wait in the submitter's CPU's batch) still goes
// into the submitter's records where it ended: every thread's records are in
// the order they ended.
TEST(Capture, IoUringCompletionsKeepTheirPlaceAmongTheSubmittersSyscalls) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  CaptureOptions o;
  o.tick_ns = 1;
  CapturedRun run = RunUnderCapture(dir.path(), "uring", 300, o);
  ASSERT_TRUE(run.result.ok()) << run.result.status().ToString();
  Captured c = Load(run.output);
  uint64_t preads = 0, uring = 0, backwards = 0;
  std::map<uint32_t, uint64_t> last_end;
  for (const auto& io : c.ios) {
    if (c.paths[io.file].rfind(dir.path(), 0) != 0) continue;
    preads += io.op == trace::IoOp::kPread;
    uring += io.op == trace::IoOp::kUringRead;
    if (io.end_ns < last_end[io.tid]) ++backwards;
    last_end[io.tid] = io.end_ns;
  }
  EXPECT_EQ(preads, 3000u);
  EXPECT_EQ(uring, 300u);
  EXPECT_EQ(backwards, 0u);
}

// A thread still running when capture stops has its last records in its
// CPU's batch, not yet in the ring: they are read after detaching.
TEST(Capture, RecordsStillInACpusBatchWhenCaptureStopsAreKept) {
  if (SkipWithoutBpf()) GTEST_SKIP() << "not root: BPF unavailable";
  TempDir dir(false);
  CapturedRun run = RunUnderCapture(dir.path(), "spin", 5, {}, /*stop_while_running=*/true);
  ASSERT_TRUE(run.result.ok()) << run.result.status().ToString();
  std::vector<uint64_t> offsets;
  Captured c = Load(run.output);
  for (const auto& io : c.ios)
    if (io.op == trace::IoOp::kPread && c.paths[io.file] == dir.path() + "/pre-0")
      offsets.push_back(io.offset);
  EXPECT_EQ(offsets, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
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
  const long n = 200000;
  CaptureOptions o;
  o.ring_bytes = 4096;
  CapturedRun run = RunUnderCapture(dir.path(), "burst", n, o);
  ASSERT_TRUE(run.result.ok()) << run.result.status().ToString();
  Captured c = Load(run.output);
  uint64_t preads = 0;
  for (const auto& io : c.ios) preads += io.op == trace::IoOp::kPread;
  std::printf("tiny ring: %llu preads recorded, %llu lost, of %ld\n",
              static_cast<unsigned long long>(preads), static_cast<unsigned long long>(c.lost), n);
  EXPECT_GT(c.lost, 0u);
  EXPECT_EQ(c.lost, run.result->lost);
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

}  // namespace
}  // namespace ordo::capture
