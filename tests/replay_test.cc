// ordo replay: reproduction of FPRE004 from a fio-derived trace, the same
// failure from the same seed, timing by absolute deadlines, and hostile
// traces and targets refused with clear errors.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine_test_util.h"
#include "ordo/replay/replayer.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/writer.h"

namespace ordo::replay {
namespace {

namespace fs = std::filesystem;
using ordo::testing::TempDir;

const std::string kWriterReader = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";

ReplayOptions EngineRun(const std::string& target, engine::EngineMode mode, uint64_t seed,
                        int runs) {
  ReplayOptions o;
  o.target = target;
  o.engine_mode = mode;
  o.strategy = sched::Strategy::kPct;
  o.seed = seed;
  o.runs = runs;
  o.until_fail = true;
  return o;
}

TEST(Replay, FioWriterAndMisalignedReaderReproducesFpre004OnLegacyUnderPct) {
  TempDir dir;
  auto res =
      Replay(kWriterReader, EngineRun(dir.path() + "/t", engine::EngineMode::kLegacy, 1, 60));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_TRUE(res->first_failure.has_value()) << "no FPRE004 in " << res->runs << " PCT runs";
  const RunOutcome& first = *res->first_failure;
  EXPECT_NE(first.message.find("FPRE004"), std::string::npos);
  EXPECT_GE(first.history_seq, 0);
  std::printf("FPRE004 after %d PCT runs (seed %llu): %s\n", first.run + 1,
              static_cast<unsigned long long>(first.seed), first.message.c_str());

  // The same seed again: the same failure, at the same operation and event.
  auto again = Replay(kWriterReader,
                      EngineRun(dir.path() + "/t", engine::EngineMode::kLegacy, first.seed, 1));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->failures, 1);
  EXPECT_EQ(again->first_failure->message, first.message);
  EXPECT_EQ(again->first_failure->thread, first.thread);
  EXPECT_EQ(again->first_failure->op_index, first.op_index);
  EXPECT_EQ(again->first_failure->history_seq, first.history_seq);
}

TEST(Replay, FixedEnginePassesHundredsOfSeeds) {
  TempDir dir;
  ReplayOptions o = EngineRun(dir.path() + "/t", engine::EngineMode::kFixed, 1, 200);
  auto res = Replay(kWriterReader, o);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->runs, 200);
  EXPECT_EQ(res->failures, 0) << res->first_failure->message;
  EXPECT_EQ(res->errors, 0u);
}

TEST(Replay, HistoryOfTheSameSeedIsByteIdentical) {
  TempDir dir;
  std::string bytes[2];
  for (int i = 0; i < 2; ++i) {
    ReplayOptions o = EngineRun(dir.path() + "/t", engine::EngineMode::kLegacy, 5, 1);
    o.history_path = dir.path() + "/h" + std::to_string(i) + ".ordo";
    ASSERT_TRUE(Replay(kWriterReader, o).ok());
    std::ifstream in(o.history_path, std::ios::binary);
    bytes[i].assign((std::istreambuf_iterator<char>(in)), {});
  }
  EXPECT_GT(bytes[0].size(), 1000u);
  EXPECT_EQ(bytes[0], bytes[1]);
}

// Writes a trace of I/O records (and file records) for hostile-input tests.
std::string WriteTrace(const std::string& path, const std::vector<trace::Record>& records) {
  auto w = trace::TraceWriter::Create(path, trace::TraceHeader{});
  EXPECT_TRUE(w.ok());
  for (const auto& r : records) EXPECT_TRUE((*w)->Add(r).ok());
  EXPECT_TRUE((*w)->Close().ok());
  return path;
}

trace::Record Io(trace::IoOp op, uint32_t tid, uint32_t file, uint64_t offset, uint64_t length,
                 uint64_t t_ns) {
  trace::IoRecord io;
  io.op = op;
  io.pid = 1;
  io.tid = tid;
  io.file = file;
  io.offset = offset;
  io.length = length;
  io.result = static_cast<int64_t>(length);
  io.start_ns = io.end_ns = t_ns;
  return trace::Record::Io(io);
}

trace::Record File(uint32_t id, const std::string& path) {
  trace::FileRecord f;
  f.file = id;
  f.path = path;
  return trace::Record::File(f);
}

TEST(Replay, PathsFromTheTraceCannotEscapeTheTarget) {
  TempDir dir;
  std::string outside = dir.path() + "/outside";
  fs::create_directory(outside);
  std::string t = WriteTrace(
      dir.path() + "/evil.ordo",
      {File(1, "../../outside/pwned"), File(2, "/etc/passwd"), File(3, outside + "/x"),
       Io(trace::IoOp::kPwrite, 1, 1, 0, 100, 0), Io(trace::IoOp::kPwrite, 1, 2, 0, 100, 1),
       Io(trace::IoOp::kPwrite, 1, 3, 0, 100, 2)});
  ReplayOptions o;
  o.target = dir.path() + "/target";
  o.backend = Backend::kFile;
  auto res = Replay(t, o);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->ops, 3u);
  EXPECT_TRUE(fs::is_empty(outside));
  for (const auto& e : fs::recursive_directory_iterator(o.target)) {
    EXPECT_EQ(e.path().string().rfind(o.target + "/", 0), 0u) << e.path();
    EXPECT_FALSE(e.is_symlink());
  }
  EXPECT_TRUE(fs::exists(o.target + "/files/f0-pwned"));
  EXPECT_TRUE(fs::exists(o.target + "/files/f1-passwd"));
}

TEST(Replay, AbsurdOffsetsLengthsAndThreadCountsAreRefused) {
  TempDir dir;
  ReplayOptions o;
  o.target = dir.path() + "/target";
  o.backend = Backend::kFile;
  auto huge_len = Replay(
      WriteTrace(dir.path() + "/a.ordo", {Io(trace::IoOp::kPread, 1, 1, 0, 1ull << 40, 0)}), o);
  ASSERT_FALSE(huge_len.ok());
  EXPECT_NE(huge_len.status().message().find("exceeds the limit"), std::string::npos);
  auto far = Replay(
      WriteTrace(dir.path() + "/b.ordo", {Io(trace::IoOp::kPread, 1, 1, 1ull << 62, 10, 0)}), o);
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.status().message().find("past the limit"), std::string::npos);
  std::vector<trace::Record> many;
  for (uint32_t t = 0; t < 50; ++t) many.push_back(Io(trace::IoOp::kPread, 100 + t, 1, 0, 10, t));
  o.max_threads = 16;
  auto threads = Replay(WriteTrace(dir.path() + "/c.ordo", many), o);
  ASSERT_FALSE(threads.ok());
  EXPECT_NE(threads.status().message().find("more than 16 threads"), std::string::npos);
  EXPECT_FALSE(fs::exists(o.target));  // refused before touching the target
}

TEST(Replay, ForeignNonEmptyTargetNeedsForceAndSymlinksAreRefused) {
  TempDir dir;
  std::string t = WriteTrace(dir.path() + "/t.ordo", {Io(trace::IoOp::kPwrite, 1, 1, 0, 10, 0)});
  std::string target = dir.path() + "/mine";
  fs::create_directory(target);
  std::ofstream(target + "/precious") << "do not touch";
  ReplayOptions o;
  o.target = target;
  o.backend = Backend::kFile;
  auto refused = Replay(t, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("only with force"), std::string::npos);
  o.force = true;
  EXPECT_TRUE(Replay(t, o).ok());
  o.force = false;
  EXPECT_TRUE(Replay(t, o).ok()) << "a target ordo claimed is reusable";
  fs::create_directory_symlink(target, dir.path() + "/link");
  o.target = dir.path() + "/link";
  auto link = Replay(t, o);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.status().message().find("symlink"), std::string::npos);
}

// A clock that jumps to every deadline it is asked to sleep to.
class FakeClock : public Clock {
 public:
  uint64_t NowNs() override { return now_ += 10; }
  void SleepUntilNs(uint64_t deadline) override {
    deadlines_.push_back(deadline);
    if (deadline > now_) now_ = deadline;
  }
  std::vector<uint64_t> deadlines_;

 private:
  uint64_t now_ = 1000000000;
};

TEST(Replay, OriginalAndScaledTimingUseAbsoluteDeadlinesFromTheTraceStart) {
  TempDir dir;
  std::vector<trace::Record> recs;
  for (uint64_t i = 0; i < 50; ++i)
    recs.push_back(Io(trace::IoOp::kPread, 1, 1, i * 10, 10, 5000 + i * 1000000));
  std::string t = WriteTrace(dir.path() + "/t.ordo", recs);
  for (double speed : {1.0, 4.0}) {
    FakeClock clock;
    ReplayOptions o;
    o.target = dir.path() + "/target";
    o.backend = Backend::kFile;
    o.timing = speed == 1.0 ? Timing::kOriginal : Timing::kScaled;
    o.speed = speed;
    o.clock = &clock;
    auto res = Replay(t, o);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    ASSERT_EQ(clock.deadlines_.size(), 50u);
    // Deadlines are base + (t_i - t_0) / speed: no drift however long the trace.
    uint64_t base = clock.deadlines_[0];
    for (uint64_t i = 0; i < 50; ++i) {
      EXPECT_EQ(clock.deadlines_[i] - base, static_cast<uint64_t>(i * 1000000 / speed)) << i;
    }
  }
}

TEST(Replay, ApiLevelRequestsArePreferredOverTheSyscallsBeneathThem) {
  TempDir dir;
  std::vector<trace::Record> recs;
  for (uint64_t i = 0; i < 10; ++i) {
    recs.push_back(Io(trace::IoOp::kEngineRead, 1, 1, i * 100, 100, i * 10));
    recs.push_back(Io(trace::IoOp::kPread, 1, 7, (i * 100) / 4096 * 4096, 4096, i * 10 + 1));
  }
  ReplayOptions o;
  o.target = dir.path() + "/target";
  o.backend = Backend::kFile;
  auto res = Replay(WriteTrace(dir.path() + "/t.ordo", recs), o);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(res->api_level);
  EXPECT_EQ(res->ops, 10u);
  EXPECT_EQ(res->files, 1u);
}

}  // namespace
}  // namespace ordo::replay
