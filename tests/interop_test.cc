// fio iolog import/export and JSON lines, checked against real fio where it
// matters: fio must replay what ordo exports, I/O for I/O.
#include "ordo/trace/interop.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "trace_test_util.h"

namespace ordo::trace {
namespace {

namespace fs = std::filesystem;

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ordo-interop-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }

  // Imports logs into a trace file; returns its path.
  std::string Import(const std::vector<std::string>& logs, Status* status) {
    TraceHeader h = ordo::testing::TestHeader();
    h.tick_ns = kFioTickNs;
    h.clock = kRelativeClock;
    std::string out = dir_ + "/imported.ordo";
    auto w = TraceWriter::Create(out, h);
    EXPECT_TRUE(w.ok());
    *status = ImportFioLogs(logs, w->get(), nullptr);
    EXPECT_TRUE((*w)->Close().ok());
    return out;
  }

  std::vector<Record> ReadAll(const std::string& path) {
    auto r = TraceReader::Open(path);
    EXPECT_TRUE(r.ok());
    std::vector<Record> out;
    Record rec;
    while ((*r)->Next(&rec)) out.push_back(rec);
    EXPECT_TRUE((*r)->status().ok()) << (*r)->status().ToString();
    return out;
  }

  std::string Export(const std::string& trace, const FioExportOptions& o = {}) {
    auto r = TraceReader::Open(trace);
    EXPECT_TRUE(r.ok());
    std::string text;
    auto sink = StringSink(&text);
    EXPECT_TRUE(ExportFioLog(r->get(), sink.get(), o, nullptr).ok());
    return text;
  }

  std::string dir_;
};

// The lines of a fio log that name I/O (not add/open/close), without timestamps.
std::vector<std::string> IoLines(const std::string& text, bool v3) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string ts, file, verb, off, len;
    if (v3) ls >> ts;
    ls >> file >> verb >> off >> len;
    if (verb == "read" || verb == "write" || verb == "trim" || verb == "sync" || verb == "datasync")
      out.push_back(verb + " " + off + " " + len);
  }
  return out;
}

TEST_F(Interop, V3LogsBecomeOneThreadEachMergedInTimeOrder) {
  auto a = Write(
      "a.log",
      "fio version 3 iolog\n0 /d/x add\n5 /d/x open\n10 /d/x read 4095 8193\n30 /d/x write 1 2\n");
  auto b = Write("b.log", "fio version 3 iolog\n0 /d/y add\n20 /d/y read 7 9\n40 /d/y sync\n");
  Status s;
  auto recs = ReadAll(Import({a, b}, &s));
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<IoRecord> ios;
  for (const auto& r : recs) {
    if (r.kind == RecordKind::kIo) ios.push_back(r.io);
  }
  ASSERT_EQ(ios.size(), 5u);
  EXPECT_EQ(ios[0].op, IoOp::kOpen);
  EXPECT_EQ(ios[1].op, IoOp::kPread);
  EXPECT_EQ(ios[1].offset, 4095u);
  EXPECT_EQ(ios[1].length, 8193u);
  EXPECT_EQ(ios[1].start_ns, 10'000u);
  EXPECT_EQ(ios[1].tid, 1u);
  EXPECT_EQ(ios[2].tid, 2u);  // b's read at 20 us comes between a's at 10 and 30
  EXPECT_EQ(ios[2].start_ns, 20'000u);
  EXPECT_EQ(ios[3].op, IoOp::kPwrite);
  EXPECT_EQ(ios[4].op, IoOp::kFsync);
  EXPECT_NE(ios[1].file, ios[2].file);
}

TEST_F(Interop, V2LogsTakeTheirTimeFromWaits) {
  auto a = Write(
      "v2.log",
      "fio version 2 iolog\n/d/x add\n/d/x open\n/d/x read 0 10\n/d/x wait 250\n/d/x read 10 10\n");
  Status s;
  auto recs = ReadAll(Import({a}, &s));
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<uint64_t> starts;
  for (const auto& r : recs) {
    if (r.kind == RecordKind::kIo && r.io.op == IoOp::kPread) starts.push_back(r.io.start_ns);
  }
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[1] - starts[0], 250'000u);
}

TEST_F(Interop, MalformedLogNamesFileAndLine) {
  auto a = Write("bad.log", "fio version 3 iolog\n0 /d/x add\n7 /d/x read twelve 4\n");
  Status s;
  Import({a}, &s);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("bad.log:3:"), std::string::npos) << s.message();
  auto v1 = Write("v1.log", "/d/x read 0 4\n");
  Import({v1}, &s);
  EXPECT_NE(s.message().find("v1.log:1: not a fio v2/v3 iolog"), std::string::npos) << s.message();
}

bool HaveFio() { return system("fio --version >/dev/null 2>&1") == 0; }

// Runs fio: mixed random and sequential misaligned I/O from two jobs, each
// writing its own v3 iolog.
void RunFio(const std::string& dir) {
  std::string cmd = "cd " + dir +
                    " && fio --output=/dev/null --ioengine=psync --blockalign=1 --bsrange=512-12k "
                    "--size=4M --number_ios=600 --filename=" +
                    dir +
                    "/data "
                    "--name=rand --rw=randrw --write_iolog=" +
                    dir +
                    "/rand.log "
                    "--name=seq --rw=read --write_iolog=" +
                    dir + "/seq.log";
  ASSERT_EQ(system(cmd.c_str()), 0) << cmd;
}

TEST_F(Interop, FioToOrdoToFioKeepsEveryIo) {
  if (!HaveFio()) GTEST_SKIP() << "fio is not installed (make test installs it)";
  RunFio(dir_);
  Status s;
  std::string trace = Import({dir_ + "/rand.log"}, &s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::ifstream in(dir_ + "/rand.log");
  std::string original((std::istreambuf_iterator<char>(in)), {});
  std::string back = Export(trace);
  // Every I/O line, timestamp included, comes back as fio wrote it.
  auto timed = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream ls(text);
    std::string line;
    while (std::getline(ls, line)) {
      if (line.find(" add") == std::string::npos) out.push_back(line);
    }
    return out;
  };
  auto want = timed(original), got = timed(back);
  ASSERT_GT(want.size(), 100u);
  EXPECT_EQ(want, got);
}

TEST_F(Interop, FioReplaysTheExportedLogIoForIo) {
  if (!HaveFio()) GTEST_SKIP() << "fio is not installed (make test installs it)";
  RunFio(dir_);
  Status s;
  std::string trace = Import({dir_ + "/seq.log"}, &s);
  ASSERT_TRUE(s.ok());
  fs::create_directory(dir_ + "/target");
  FioExportOptions o;
  o.target_dir = dir_ + "/target";
  std::ofstream(dir_ + "/export.log") << Export(trace, o);
  // fio needs the file to exist at a size covering the I/O.
  ASSERT_EQ(system(("truncate -s 8M " + dir_ + "/target/file1").c_str()), 0);
  // fio ignores --write_iolog while replaying, so its per-I/O latency log
  // (with offsets) is the record of what it did.
  std::string cmd =
      "fio --output=/dev/null --name=replay --ioengine=psync --replay_no_stall=1 "
      "--read_iolog=" +
      dir_ + "/export.log --write_lat_log=" + dir_ +
      "/replay "
      "--log_offset=1";
  ASSERT_EQ(system(cmd.c_str()), 0) << cmd;
  std::ifstream a(dir_ + "/seq.log"), b(dir_ + "/replay_clat.1.log");
  std::string original((std::istreambuf_iterator<char>(a)), {});
  auto want = IoLines(original, true);
  std::vector<std::string> got;
  std::string line;
  while (std::getline(b, line)) {
    // "msec, latency, ddir, bs, offset, prio"
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream ls(line);
    uint64_t ms, lat, ddir, bs, off;
    ls >> ms >> lat >> ddir >> bs >> off;
    got.push_back(std::string(ddir == 0   ? "read"
                              : ddir == 1 ? "write"
                                          : "trim") +
                  " " + std::to_string(off) + " " + std::to_string(bs));
  }
  ASSERT_GT(want.size(), 100u);
  EXPECT_EQ(want, got);
}

// blkparse's default output: Q starts a request, C completes it (matched by
// device, sector and length, possibly out of order); other actions and the
// summary lines are skipped.
TEST_F(Interop, BlkparseRequestsBecomeIoWithTheirCompletionTimes) {
  auto in = Write("trace.txt",
                  "  8,0    3        1     0.000000000   697  Q  WS 3417048 + 8 [kjournald]\n"
                  "  8,0    3        2     0.000001500   697  G  WS 3417048 + 8 [kjournald]\n"
                  "  8,0    3        3     0.000002000   697  P   N [kjournald]\n"
                  "  8,0    1        4     0.000010000  4242  Q   R 2048 + 24 [fio]\n"
                  "  8,0    1        5     0.000011000  4242  D   R 2048 + 24 [fio]\n"
                  "  8,16   0        1     0.000020000  4242  Q  RA 100 + 8 [fio]\n"
                  "  8,0    1        6     0.000500000     0  C   R 2048 + 24 [0]\n"
                  "  8,0    3        7     0.000700000     0  C  WS 3417048 + 8 [0]\n"
                  "  8,0    1        8     0.000800000  4242  Q  FWS 0 + 0 [fio]\n"
                  "  8,0    1        9     0.000900000  4242  Q   D 4096 + 8 [fstrim]\n"
                  "CPU0 (8,0):\n Reads Queued:           1,       12KiB\n"
                  "Total (8,0):\n Reads Queued:           1,       12KiB\n");
  std::string out = dir_ + "/blk.ordo";
  auto w = TraceWriter::Create(out, ordo::testing::TestHeader());
  ASSERT_TRUE(w.ok());
  BlkparseImportStats st;
  Status s = ImportBlkparse({in}, w->get(), &st);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(st.ios, 5u);
  EXPECT_EQ(st.completed, 2u);
  EXPECT_EQ(st.unmatched, 3u);
  EXPECT_EQ(st.devices, 2u);
  std::vector<IoRecord> ios;
  std::map<uint32_t, std::string> files;
  for (const auto& r : ReadAll(out)) {
    if (r.kind == RecordKind::kIo) ios.push_back(r.io);
    if (r.kind == RecordKind::kFile) files[r.file.file] = r.file.path;
  }
  ASSERT_EQ(ios.size(), 5u);  // in the order they were queued
  EXPECT_EQ(ios[0].op, IoOp::kPwrite);
  EXPECT_EQ(ios[0].offset, 3417048u * 512);
  EXPECT_EQ(ios[0].length, 8u * 512);
  EXPECT_EQ(ios[0].pid, 697u);
  EXPECT_EQ(ios[0].end_ns, 700'000u);  // completed after the read that was queued later
  EXPECT_EQ(ios[1].op, IoOp::kPread);
  EXPECT_EQ(ios[1].offset, 2048u * 512);
  EXPECT_EQ(ios[1].length, 24u * 512);
  EXPECT_EQ(ios[1].start_ns, 10'000u);
  EXPECT_EQ(ios[1].end_ns, 500'000u);
  EXPECT_EQ(files[ios[1].file], "blkdev:8,0");
  EXPECT_EQ(files[ios[2].file], "blkdev:8,16");
  EXPECT_EQ(ios[3].op, IoOp::kFsync);  // a flush with no data
  EXPECT_EQ(ios[4].op, IoOp::kTrim);
  EXPECT_EQ(ios[4].end_ns, ios[4].start_ns);  // never completed in the input

  auto empty = Write("empty.txt", "nothing here\n");
  auto w2 = TraceWriter::Create(dir_ + "/e.ordo", ordo::testing::TestHeader());
  Status bad = ImportBlkparse({empty}, w2->get(), nullptr);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("no blkparse events"), std::string::npos);
}

TEST_F(Interop, JsonLinesHaveOneObjectPerRecord) {
  auto records = ordo::testing::RandomRecords(4, 300);
  std::string bytes = ordo::testing::WriteTrace(records);
  auto r = TraceReader::Open(MemorySource(bytes));
  ASSERT_TRUE(r.ok());
  std::string text;
  auto sink = StringSink(&text);
  uint64_t n = 0;
  ASSERT_TRUE(ExportJsonl(r->get(), sink.get(), &n).ok());
  EXPECT_EQ(n, records.size());
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), records.size());
  EXPECT_EQ(text.substr(0, 1), "{");
  EXPECT_NE(RecordToJson(records[0]).find("\"type\""), std::string::npos);
}

}  // namespace
}  // namespace ordo::trace
