// Outputs that never clobber and damage that is always detected, at the
// library level: AtomicFile, CheckOutput and the footer index check.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "container.h"
#include "ordo/file_io.h"
#include "ordo/util/atomic_output.h"
#include "trace_test_util.h"

namespace ordo {
namespace {

namespace fs = std::filesystem;

class Outputs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ordo-outputs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string Slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  size_t Entries() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }
  std::string dir_;
};

TEST_F(Outputs, FileAppearsOnlyAtCommitAndOldContentSurvivesAFailure) {
  std::string out = dir_ + "/out";
  std::ofstream(out) << "old";
  {
    auto sink = CreateSink(out);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    ASSERT_TRUE((*sink)->Write("new", 3).ok());
    EXPECT_EQ(Slurp(out), "old");  // nothing replaced until Commit
  }                                // dropped without Commit: a failed command
  EXPECT_EQ(Slurp(out), "old");
  EXPECT_EQ(Entries(), 1u) << "the temporary was left behind";
  auto sink = CreateSink(out);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("new", 3).ok());
  ASSERT_TRUE((*sink)->Commit().ok());
  EXPECT_EQ(Slurp(out), "new");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(Outputs, SymlinkAtTheOutputIsRefusedAndItsTargetUntouched) {
  std::string victim = dir_ + "/victim";
  std::ofstream(victim) << "precious";
  chmod(victim.c_str(), 0644);
  std::string link = dir_ + "/link.ordo";
  ASSERT_EQ(symlink(victim.c_str(), link.c_str()), 0);
  auto sink = CreateSink(link, 0600);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("symlink"), std::string::npos);
  EXPECT_EQ(Slurp(victim), "precious");
  struct stat st;
  ASSERT_EQ(stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(Outputs, OutputThatIsAnInputIsRefusedByInode) {
  std::string in = dir_ + "/in";
  std::ofstream(in) << "x";
  std::string hard = dir_ + "/hard";
  ASSERT_EQ(link(in.c_str(), hard.c_str()), 0);
  Status s = CheckOutput(hard, {in});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("same file as the input"), std::string::npos) << s.message();
  EXPECT_TRUE(CheckOutput(dir_ + "/other", {in}).ok());
  EXPECT_TRUE(CheckOutput("-", {in}).ok());
}

TEST_F(Outputs, VisiblePartialNamesASecondWriterAndIsKeptOnFailure) {
  std::string out = dir_ + "/cap.ordo";
  OutputOptions o;
  o.mode = 0600;
  o.visible_partial = true;
  auto first = AtomicFile::Create(out, o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(write((*first)->fd(), "abc", 3), 3);
  pid_t child = fork();
  if (child == 0) {  // locks are per process: ask from another one
    auto second = AtomicFile::Create(out, o);
    bool named = !second.ok() && second.status().message().find(
                                     "pid " + std::to_string(getppid())) != std::string::npos;
    _exit(named ? 0 : 1);
  }
  int st = 0;
  waitpid(child, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "the second writer was not refused by pid";
  (*first)->Abandon();
  first.value().reset();
  EXPECT_EQ(Slurp(out + ".partial"), "abc");  // kept: it may be the only copy
  EXPECT_FALSE(fs::exists(out));
  auto third = AtomicFile::Create(out, o);
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.status().message().find("interrupted"), std::string::npos);
}

TEST_F(Outputs, TemporariesAreRemovedBySignalCleanup) {
  std::string out = dir_ + "/x";
  auto f = AtomicFile::Create(out);
  ASSERT_TRUE(f.ok());
  std::string work = dir_ + "/work";
  fs::create_directories(work + "/a/b");
  std::ofstream(work + "/a/b/f") << "x";
  RegisterTemporaryDir(work);
  RemoveTemporariesNow();
  UnregisterTemporaryDir(work);
  EXPECT_FALSE(fs::exists((*f)->temp_path()));
  EXPECT_FALSE(fs::exists(work));
}

// The record chunks of a trace: [begin, end) byte ranges.
std::vector<std::pair<size_t, size_t>> Chunks(const std::string& bytes) {
  std::vector<std::pair<size_t, size_t>> out;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  uint32_t body = 0;
  std::memcpy(&body, p + 12, 4);
  size_t at = trace::kFileHeaderFixedSize + body + 4;
  while (at + trace::kChunkHeaderSize <= bytes.size()) {
    trace::ChunkHeader h;
    if (!trace::ParseChunkHeader(p + at, &h).ok()) break;
    if (h.kind != trace::kChunkRecords) break;
    out.emplace_back(at, at + trace::kChunkHeaderSize + h.stored_size);
    at = out.back().second;
  }
  return out;
}

class ChunkDamage : public ::testing::Test {
 protected:
  void SetUp() override {
    trace::WriterOptions o;
    o.max_chunk_records = 100;
    bytes_ = ordo::testing::WriteTrace(ordo::testing::RandomRecords(5, 500), o);
    chunks_ = Chunks(bytes_);
    ASSERT_EQ(chunks_.size(), 5u);
  }
  std::string Piece(size_t i) const {
    return bytes_.substr(chunks_[i].first, chunks_[i].second - chunks_[i].first);
  }
  std::string Head() const { return bytes_.substr(0, chunks_[0].first); }
  std::string Tail() const { return bytes_.substr(chunks_.back().second); }
  void ExpectDamage(const std::string& damaged, const char* what) {
    auto r = ordo::testing::ReadTrace(damaged);
    ASSERT_TRUE(r.open.ok());
    EXPECT_FALSE(r.complete) << what;
    EXPECT_EQ(r.status.code(), StatusCode::kCorruption) << what << ": " << r.status.ToString();
    EXPECT_NE(r.status.message().find("byte "), std::string::npos) << r.status.message();
    EXPECT_NE(r.status.message().find("footer index"), std::string::npos) << r.status.message();
  }
  std::string bytes_;
  std::vector<std::pair<size_t, size_t>> chunks_;
};

TEST_F(ChunkDamage, IntactTraceIsComplete) {
  auto r = ordo::testing::ReadTrace(bytes_);
  EXPECT_TRUE(r.complete) << r.status.ToString();
}

TEST_F(ChunkDamage, SwappedChunksAreDamage) {
  ExpectDamage(Head() + Piece(0) + Piece(2) + Piece(1) + Piece(3) + Piece(4) + Tail(), "swap");
}

TEST_F(ChunkDamage, DroppedChunkIsDamage) {
  ExpectDamage(Head() + Piece(0) + Piece(1) + Piece(3) + Piece(4) + Tail(), "drop");
}

TEST_F(ChunkDamage, DuplicatedChunkIsDamage) {
  ExpectDamage(Head() + Piece(0) + Piece(1) + Piece(1) + Piece(2) + Piece(3) + Piece(4) + Tail(),
               "duplicate");
}

}  // namespace
}  // namespace ordo
