// The hostile user, end to end: outputs planted with symlinks or naming an
// input, targets with symlinks at every depth, a target in use, a disk too
// small, importers fed impossible numbers, damaged chunks and streamed input.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli_test_util.h"
#include "trace_test_util.h"

namespace ordo {
namespace {

namespace fs = std::filesystem;

const std::string kSample = std::string(ORDO_SOURCE_DIR) + "/traces/fio-writer-reader.ordo";

class Hostile : public Cli {
 protected:
  std::string Copy(const std::string& name) {
    std::string p = dir_ + "/" + name;
    fs::copy_file(kSample, p);
    return p;
  }
  // A trace of one thread writing once to one file declaring `size` bytes.
  std::string BigFileTrace(const std::string& name, uint64_t size) {
    trace::FileRecord f;
    f.file = 1;
    f.size = size;
    f.path = "/data/big";
    trace::IoRecord io;
    io.op = trace::IoOp::kPwrite;
    io.pid = io.tid = 7;
    io.file = 1;
    io.offset = 0;
    io.length = 4096;
    io.result = 4096;
    io.start_ns = 1000;
    io.end_ns = 2000;
    return WriteFile(name,
                     ordo::testing::WriteTrace({trace::Record::File(f), trace::Record::Io(io)}));
  }
  size_t Entries(const std::string& d) {
    return static_cast<size_t>(std::distance(fs::directory_iterator(d), {}));
  }
};

TEST_F(Hostile, EveryWritingCommandRefusesAnOutputThatIsItsInput) {
  const std::string original = Slurp(kSample);
  std::string t = Copy("t.ordo");
  CmdResult r = Ordo("trace export --format jsonl " + t + " -o " + t);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("same file as the input"), std::string::npos) << r.err;
  r = Ordo("replay " + t + " --target " + dir_ + "/tg --backend file --history " + t);
  EXPECT_EQ(r.code, 2) << r.err;
  r = Ordo("minimize " + t + " -o " + t);
  EXPECT_EQ(r.code, 2) << r.err;
  std::string md = dir_ + "/t.md";
  ASSERT_EQ(link(t.c_str(), md.c_str()), 0);  // same inode under a name report accepts
  r = Ordo("report " + t + " -o " + md);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(Slurp(t), original) << "an input was destroyed";
  std::string log = WriteFile("w.log", "fio version 2 iolog\nf add\nf open\nf write 0 4096\n");
  r = Ordo("trace import --format fio " + log + " -o " + log);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(Slurp(log), "fio version 2 iolog\nf add\nf open\nf write 0 4096\n");
}

TEST_F(Hostile, SymlinkAtAnOutputIsNeverFollowed) {
  std::string victim = WriteFile("victim", "precious");
  chmod(victim.c_str(), 0644);
  std::string link = dir_ + "/link.out";
  ASSERT_EQ(symlink(victim.c_str(), link.c_str()), 0);
  for (const std::string& cmd :
       {"trace export --format jsonl " + kSample + " -o " + link,
        "trace import --format fio " + WriteFile("w.log", "fio version 2 iolog\nf add\n") + " -o " +
            link,
        "capture --pid 1 --duration 1s -o " + link}) {
    CmdResult r = Ordo(cmd);
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.err;
    EXPECT_NE(r.err.find("symlink"), std::string::npos) << cmd << "\n" << r.err;
  }
  EXPECT_EQ(Slurp(victim), "precious");
  struct stat st;
  ASSERT_EQ(stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(Hostile, FailedImportLeavesThePreviousFileAndNoTemporary) {
  std::string out = WriteFile("out.ordo", "previous");
  std::string log = WriteFile("bad.log", "fio version 2 iolog\nf add\nf open\nf write -1 4096\n");
  CmdResult r = Ordo("trace import --format fio " + log + " -o " + out);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("bad.log:4"), std::string::npos) << r.err;
  EXPECT_EQ(Slurp(out), "previous");
  EXPECT_EQ(Entries(dir_), 4u) << "out, err, out.ordo, bad.log and nothing else";
}

TEST_F(Hostile, BlkparseSectorThatOverflowsIsBadInput) {
  std::string in = WriteFile(
      "blk.txt", "  8,0    3        1     0.000000000   697  Q   R 36028797018963968 + 8 [x]\n");
  CmdResult r = Ordo("trace import --format blkparse " + in + " -o " + dir_ + "/b.ordo");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("blk.txt:1"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/b.ordo"));
}

TEST_F(Hostile, DashIsStandardOutputAndNeverAFile) {
  CmdResult r = Ordo("trace export --format jsonl " + kSample + " -o -");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("{"), std::string::npos);
  EXPECT_FALSE(fs::exists("-"));
}

TEST_F(Hostile, TargetThatIsASymlinkIsRefusedWithOrWithoutASlash) {
  fs::create_directory(dir_ + "/real");
  ASSERT_EQ(symlink((dir_ + "/real").c_str(), (dir_ + "/link").c_str()), 0);
  for (const char* suffix : {"", "/", "//"}) {
    CmdResult r = Ordo("replay " + kSample + " --backend file --target " + dir_ + "/link" + suffix);
    EXPECT_EQ(r.code, 2) << suffix << r.err;
    EXPECT_NE(r.err.find("symlink"), std::string::npos) << r.err;
  }
  EXPECT_EQ(Entries(dir_ + "/real"), 0u);
}

TEST_F(Hostile, MissingParentsOfATargetAreCreatedAsMkdirP) {
  const std::string t = dir_ + "/a/b/c";
  CmdResult r = Ordo("replay " + kSample + " --backend file --target " + t);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::is_directory(t + "/files"));
  // A symlink or a file anywhere on the way is refused, naming it, and
  // nothing is created through it or beyond it.
  fs::create_directory(dir_ + "/elsewhere");
  ASSERT_EQ(symlink((dir_ + "/elsewhere").c_str(), (dir_ + "/a/link").c_str()), 0);
  r = Ordo("replay " + kSample + " --backend file --target " + dir_ + "/a/link/new/t");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(dir_ + "/a/link: is a symlink"), std::string::npos) << r.err;
  EXPECT_EQ(Entries(dir_ + "/elsewhere"), 0u);
  std::ofstream(dir_ + "/a/plain") << "x";
  r = Ordo("replay " + kSample + " --backend file --target " + dir_ + "/a/plain/t");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(dir_ + "/a/plain: exists and is not a directory"), std::string::npos)
      << r.err;
  // An existing target reached through a symlinked parent is refused too.
  fs::create_directory(dir_ + "/elsewhere/t");
  r = Ordo("replay " + kSample + " --backend file --target " + dir_ + "/a/link/t");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(Entries(dir_ + "/elsewhere/t"), 0u);
}

TEST_F(Hostile, SymlinksBelowTheTargetAreNeverFollowed) {
  std::string t = dir_ + "/t";
  ASSERT_EQ(Ordo("replay " + kSample + " --backend file --target " + t).code, 0);
  std::string outside = dir_ + "/outside";
  fs::create_directory(outside);
  std::string victim = outside + "/victim";
  std::ofstream(victim) << "precious";
  // Depth 2: a file under files/ replaced by a link.
  std::string name = fs::directory_iterator(t + "/files")->path().filename();
  fs::remove(t + "/files/" + name);
  ASSERT_EQ(symlink(victim.c_str(), (t + "/files/" + name).c_str()), 0);
  CmdResult r = Ordo("replay " + kSample + " --backend file --target " + t);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("symlink"), std::string::npos) << r.err;
  // Depth 1: files/ itself a link to a directory holding a same-named file.
  fs::remove_all(t + "/files");
  std::ofstream(outside + "/" + name) << "precious";
  ASSERT_EQ(symlink(outside.c_str(), (t + "/files").c_str()), 0);
  r = Ordo("replay " + kSample + " --backend file --target " + t);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(Slurp(outside + "/" + name), "precious");
  // The engine's directory: a planted link is removed, not written through.
  fs::remove(t + "/files");
  ASSERT_EQ(symlink(outside.c_str(), (t + "/engine").c_str()), 0);
  r = Ordo("replay " + kSample + " --target " + t);
  EXPECT_LE(r.code, 1) << r.err;
  EXPECT_EQ(Slurp(victim), "precious");
  EXPECT_EQ(Entries(outside), 2u);
}

TEST_F(Hostile, ASecondReplayIntoALockedTargetIsRefusedNamingThePid) {
  std::string t = dir_ + "/t";
  ASSERT_EQ(Ordo("replay " + kSample + " --backend file --target " + t).code, 0);
  int fd = open((t + "/.ordo-lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  pid_t holder = fork();  // another process holds the target, as a running replay does
  if (holder == 0) {
    flock(fd, LOCK_EX);
    std::string pid = std::to_string(getpid()) + "\n";
    (void)!pwrite(fd, pid.data(), pid.size(), 0);
    pause();
    _exit(0);
  }
  // The lock is taken once the pid is in the file.
  for (int i = 0; i < 1000 && Slurp(t + "/.ordo-lock") != std::to_string(holder) + "\n"; ++i)
    usleep(10000);
  CmdResult r = Ordo("replay " + kSample + " --backend file --target " + t);
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  close(fd);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("in use by another ordo (pid " + std::to_string(holder) + ")"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Ordo("replay " + kSample + " --backend file --target " + t).code, 0);
}

TEST_F(Hostile, ForceNeverReplacesWhatOrdoDidNotCreate) {
  std::string t = dir_ + "/mine";
  fs::create_directories(t + "/engine");
  std::ofstream(t + "/engine/thesis.tex") << "years of work";
  CmdResult r = Ordo("replay " + kSample + " --force --target " + t);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("deletes only what it created"), std::string::npos) << r.err;
  EXPECT_EQ(Slurp(t + "/engine/thesis.tex"), "years of work");
}

TEST_F(Hostile, DeclaredSizesAboveTheCapOrTheFreeSpaceAreRefused) {
  std::string big = BigFileTrace("big.ordo", 100ull << 20);
  CmdResult r =
      Ordo("replay " + big + " --backend file --max-file-size 1M --target " + dir_ + "/a");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("/data/big"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("104857600 bytes"), std::string::npos) << r.err;
  if (geteuid() != 0) GTEST_SKIP() << "not root: cannot mount a small tmpfs";
  std::string small = dir_ + "/small";
  fs::create_directory(small);
  if (mount("tmpfs", small.c_str(), "tmpfs", 0, "size=4m") != 0)
    GTEST_SKIP() << "cannot mount tmpfs: " << strerror(errno);
  r = Ordo("replay " + big + " --backend file --max-file-size 1G --target " + small + "/t");
  std::string left = fs::exists(small + "/t/files") ? "files laid out" : "";
  umount2(small.c_str(), MNT_DETACH);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("free"), std::string::npos) << r.err;
  EXPECT_EQ(left, "");
}

TEST_F(Hostile, InfoReadsStdinAndFifosOnceAndSaysCompleteOnlyWhenVerified) {
  CmdResult r = Ordo("trace info -", kSample);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("complete      yes"), std::string::npos) << r.out;
  std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string cmd = "cat " + kSample + " > " + fifo + " & " + ORDO_BIN + " trace info " + fifo +
                    " > " + dir_ + "/fifo.out 2>&1; echo $? >> " + dir_ + "/fifo.out";
  ASSERT_EQ(system(cmd.c_str()), 0);
  std::string out = Slurp(dir_ + "/fifo.out");
  EXPECT_NE(out.find("complete      yes"), std::string::npos) << out;
  // A damaged chunk: never "complete".
  std::string bytes = Slurp(kSample);
  bytes[bytes.size() / 2] ^= 0x40;
  r = Ordo("trace info " + WriteFile("bad.ordo", bytes));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.out.find("complete      yes"), std::string::npos) << r.out;
}

TEST_F(Hostile, CaptureOptionErrorsAreBadUsageWithTheReason) {
  std::ifstream max("/proc/sys/kernel/pid_max");
  long pid_max = 4194304;
  max >> pid_max;
  const std::string out = " -o " + dir_ + "/c.ordo";
  struct Case {
    std::string args, says;
  } cases[] = {
      {"--pid 1 --duration 0" + out, "--duration 0"},
      {"--pid " + std::to_string(pid_max + 1) + out, "no such process"},
      {"--pid 1 --usdt " + dir_ + "/nonexistent" + out, "No such file"},
      {"--pid 1 --usdt /bin/true" + out, "no USDT probes"},
      {out + " -- " + dir_ + "/nonexistent-command", "command not found"},
  };
  for (const auto& c : cases) {
    CmdResult r = Ordo("capture " + c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << "\n" << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/c.ordo"));
  EXPECT_FALSE(fs::exists(dir_ + "/c.ordo.partial"));
}

}  // namespace
}  // namespace ordo
