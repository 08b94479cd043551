// Crash recovery: a child process writes and fsyncs through the engine and is
// killed with SIGKILL at a random moment, many times over the same directory.
// After each kill, every write the child had seen fsynced must read back
// intact, and every block of the file must pass read-verify.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "engine_test_util.h"

namespace ordo::engine {
namespace {

using ordo::testing::Pattern;
using ordo::testing::TempDir;

constexpr uint64_t kRecord = 3001;  // misaligned records, each spanning blocks

// The child: appends records i = start, start+1, ... (record i at offset
// i * kRecord, contents Pattern(.., i)), fsyncs every few records and then
// tells the parent through `fd` how many records are durable.
[[noreturn]] void Child(const std::string& dir, uint64_t start, int fd) {
  EngineOptions o;
  o.segment_blocks = 8;
  o.compaction_interval_ms = 1;
  auto e = Engine::Open(dir, o);
  if (!e.ok()) _exit(3);
  for (uint64_t i = start;; ++i) {
    if (!(*e)->Write("log", i * kRecord, Pattern(i * kRecord, kRecord, static_cast<uint32_t>(i)))
             .ok())
      _exit(4);
    // Rewrite an earlier record too, so blocks have many versions.
    if (i > 4) {
      uint64_t j = i / 2;
      if (!(*e)->Write("log", j * kRecord, Pattern(j * kRecord, kRecord, static_cast<uint32_t>(j)))
               .ok())
        _exit(4);
    }
    if (i % 3 == 0) {
      if (!(*e)->Fsync("log").ok()) _exit(5);
      uint64_t durable = i + 1;
      if (write(fd, &durable, sizeof(durable)) != sizeof(durable)) _exit(6);
    }
  }
}

TEST(CrashRecovery, KillNineAtRandomMomentsLosesNothingFsynced) {
  TempDir dir(/*memory=*/false);  // a real file system: fsync must mean something
  std::mt19937_64 rng(2026);
  uint64_t durable = 0;  // records acknowledged durable so far
  for (int round = 0; round < 25; ++round) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(p[0]);
      Child(dir.path(), durable, p[1]);
    }
    close(p[1]);
    usleep(static_cast<useconds_t>(2000 + rng() % 60000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own with " << WEXITSTATUS(status);
    uint64_t n;
    while (read(p[0], &n, sizeof(n)) == sizeof(n)) durable = std::max(durable, n);
    close(p[0]);

    auto e = Engine::Open(dir.path(), {});
    ASSERT_TRUE(e.ok()) << "round " << round << ": " << e.status().ToString();
    if (durable == 0) continue;
    auto size = (*e)->Size("log");
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    ASSERT_GE(size.value(), durable * kRecord);
    std::string all;
    Status s = (*e)->Read("log", 0, size.value(), &all);
    ASSERT_TRUE(s.ok()) << "round " << round << ": " << s.ToString();
    for (uint64_t i = 0; i < durable; ++i) {
      ASSERT_EQ(all.compare(i * kRecord, kRecord,
                            Pattern(i * kRecord, kRecord, static_cast<uint32_t>(i))),
                0)
          << "round " << round << ": fsynced record " << i << " of " << durable << " is damaged";
    }
    ASSERT_TRUE((*e)->Close().ok());
  }
  EXPECT_GT(durable, 20u);
}

}  // namespace
}  // namespace ordo::engine
