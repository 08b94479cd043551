// ordo capture of io_uring requests with real eBPF: fio's io_uring engine
// writes its own iolog, which must match the capture I/O for I/O (op, offset,
// length; fsyncs by count), with the results, submitter and times of every
// request.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>

#include "engine_test_util.h"
#include "ordo/capture/capture.h"
#include "ordo/trace/reader.h"

namespace ordo::capture {
namespace {

using ordo::testing::TempDir;

std::multiset<std::string> FioLog(const std::string& path) {
  std::multiset<std::string> want;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // "fio version 2 iolog"
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string ts, file, verb, off, len;
    ls >> ts >> file >> verb >> off >> len;
    if (verb == "read" || verb == "write") want.insert(verb + " " + off + " " + len);
    if (verb == "sync") want.insert("sync");  // its offset is a leftover of the io_u
  }
  return want;
}

void RunFio(const std::string& dir, const std::vector<std::string>& extra,
            std::multiset<std::string>* want, std::vector<trace::IoRecord>* uring, uint64_t* lost,
            uint64_t* fsyncs = nullptr) {
  std::string data = dir + "/data";
  CaptureOptions o;
  o.output = dir + "/uring.ordo";
  o.path_prefixes = {data};
  o.tick_ns = 1;
  o.command = {"fio",
               "--output=/dev/null",
               "--ioengine=io_uring",
               "--iodepth=8",
               "--size=4M",
               "--number_ios=400",
               "--filename=" + data,
               "--name=a",
               "--rw=randrw",
               "--bsrange=512-12k",
               "--blockalign=512",
               "--write_iolog=" + dir + "/a.log"};
  o.command.insert(o.command.end(), extra.begin(), extra.end());
  auto r = Run(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->command_status, 0);
  *lost = r->lost;
  *want = FioLog(dir + "/a.log");
  auto reader = trace::TraceReader::Open(o.output);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  trace::Record rec;
  while ((*reader)->Next(&rec)) {
    if (rec.kind != trace::RecordKind::kIo) continue;
    if (rec.io.op == trace::IoOp::kUringRead || rec.io.op == trace::IoOp::kUringWrite ||
        rec.io.op == trace::IoOp::kUringFsync)
      uring->push_back(rec.io);
    if (rec.io.op == trace::IoOp::kUringFsync && fsyncs) ++*fsyncs;
  }
  ASSERT_TRUE((*reader)->status().ok()) << (*reader)->status().ToString();
}

void ExpectSame(const std::multiset<std::string>& want, const std::vector<trace::IoRecord>& uring) {
  std::multiset<std::string> got;
  for (const auto& io : uring) {
    if (io.op == trace::IoOp::kUringFsync)
      got.insert("sync");
    else
      got.insert(std::string(io.op == trace::IoOp::kUringRead ? "read" : "write") + " " +
                 std::to_string(io.offset) + " " + std::to_string(io.length));
    // Page-cache I/O inside a 4 MiB file: every request is served whole.
    EXPECT_EQ(io.result, static_cast<int64_t>(io.length)) << "offset " << io.offset;
    EXPECT_LE(io.start_ns, io.end_ns);
    EXPECT_NE(io.pid, 0u);
    EXPECT_NE(io.tid, 0u);
  }
  std::multiset<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                      std::inserter(missing, missing.end()));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                      std::inserter(extra, extra.end()));
  EXPECT_TRUE(missing.empty()) << missing.size() << " of fio's I/Os were not captured, e.g. "
                               << *missing.begin();
  EXPECT_TRUE(extra.empty()) << extra.size() << " captured io_uring I/Os fio did not log, e.g. "
                             << *extra.begin();
  EXPECT_GE(want.size(), 400u);
}

bool Skip() {
  if (geteuid() != 0) {
    std::printf("SKIPPED: capture tests need root for BPF (CI runs as root)\n");
    return true;
  }
  if (system("fio --version >/dev/null 2>&1") != 0) {
    std::printf("SKIPPED: fio is not installed (make test installs it)\n");
    return true;
  }
  std::ifstream disabled("/proc/sys/kernel/io_uring_disabled");
  int d = 0;
  if (disabled >> d && d != 0) {
    std::printf("SKIPPED: io_uring is disabled on this host (kernel.io_uring_disabled=%d)\n", d);
    return true;
  }
  return false;
}

TEST(CaptureUring, FioIoUringRunMatchesFiosOwnIologExactly) {
  if (Skip()) GTEST_SKIP() << "no root, fio or io_uring";
  TempDir dir(false);
  std::multiset<std::string> want;
  std::vector<trace::IoRecord> uring;
  uint64_t lost = 0;
  RunFio(dir.path(), {}, &want, &uring, &lost);
  EXPECT_EQ(lost, 0u);
  ExpectSame(want, uring);
}

TEST(CaptureUring, VectoredRequestsRegisteredFilesAndFsyncsAreCapturedToo) {
  if (Skip()) GTEST_SKIP() << "no root, fio or io_uring";
  TempDir dir(false);
  std::multiset<std::string> want;
  std::vector<trace::IoRecord> uring;
  uint64_t lost = 0;
  uint64_t fsyncs = 0;
  // READV/WRITEV through files registered with the ring (fd is an index),
  // and an IORING_OP_FSYNC after every 16 writes.
  RunFio(dir.path(), {"--nonvectored=0", "--registerfiles=1", "--fsync=16"}, &want, &uring, &lost,
         &fsyncs);
  EXPECT_EQ(lost, 0u);
  ExpectSame(want, uring);
  EXPECT_GT(fsyncs, 0u) << "no io_uring fsync recorded";
}

}  // namespace
}  // namespace ordo::capture
