// Capture outputs on hostile file systems: a full disk and a read-only one
// are exit 2 naming the path; what was flushed before the disk filled is kept
// in OUT.partial and reads back chunk by chunk.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine_test_util.h"
#include "ordo/trace/reader.h"

namespace ordo {
namespace {

using ordo::testing::TempDir;

struct Ran {
  int code = -1;
  std::string err;
};

Ran Capture(const std::string& dir, const std::string& args) {
  const std::string err = dir + "/capture.err";
  std::string cmd = std::string(ORDO_BIN) + " capture " + args + " 2>" + err + " >/dev/null";
  int st = system(cmd.c_str());
  std::ifstream in(err);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128,
          std::string((std::istreambuf_iterator<char>(in)), {})};
}

// A small tmpfs under `dir`, unmounted when the test ends.
class SmallFs {
 public:
  SmallFs(const std::string& path, const char* options) : path_(path) {
    std::filesystem::create_directories(path);
    ok_ = mount("tmpfs", path.c_str(), "tmpfs", 0, options) == 0;
    error_ = ok_ ? "" : strerror(errno);
  }
  ~SmallFs() {
    if (ok_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool ok_ = false;
  std::string error_;
};

TEST(CaptureOutput, FullDiskIsExitTwoWithThePathAndKeepsWhatWasFlushed) {
  if (geteuid() != 0) GTEST_SKIP() << "not root: BPF and mount unavailable";
  if (system("fio --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "fio is not installed";
  TempDir dir(false);
  // A chunk closes at 128 Ki records (~450 KB here): the disk fills during the second.
  SmallFs fs(dir.path() + "/small", "size=640k");
  if (!fs.ok()) GTEST_SKIP() << "cannot mount tmpfs: " << fs.error();
  const std::string data = dir.path() + "/data";
  {
    std::ofstream f(data, std::ios::binary);
    std::string block(1 << 20, 'x');
    for (int i = 0; i < 16; ++i) f << block;
  }
  const std::string out = dir.path() + "/small/out.ordo";
  // Random 512-byte reads compress to ~3.5 bytes each; the capture stops
  // when the disk is full, long before fio's minute is over.
  Ran r = Capture(dir.path(), "-o " + out + " -- fio --name=r --filename=" + data +
                                  " --rw=randread --bs=512 --time_based --runtime=60 "
                                  "--ioengine=psync --output=/dev/null");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out)) << "a failed capture must not look complete";
  auto reader = trace::TraceReader::Open(out + ".partial");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  trace::Record rec;
  uint64_t n = 0;
  while ((*reader)->Next(&rec)) ++n;
  EXPECT_GT(n, 1000u);
  EXPECT_FALSE((*reader)->status().ok()) << "the partial trace has no footer";
  // The traced fio outlives the capture (a workload is never killed): stop it.
  (void)!system(("pkill -f 'filename=" + data + "' >/dev/null 2>&1").c_str());
}

TEST(CaptureOutput, ReadOnlyOutputIsExitTwoWithThePath) {
  if (geteuid() != 0) GTEST_SKIP() << "not root: BPF and mount unavailable";
  TempDir dir(false);
  SmallFs fs(dir.path() + "/ro", "size=1m,ro");
  if (!fs.ok()) GTEST_SKIP() << "cannot mount tmpfs: " << fs.error();
  const std::string out = dir.path() + "/ro/out.ordo";
  Ran r = Capture(dir.path(), "-o " + out + " -- true");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(out), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ordo
