// The consumer's CPU per event, without BPF: synthetic kernel I/O events
// shaped like fio's 4 KiB random preads (one thread, one file, random aligned
// offsets, ~1.5 us apart), in batches of ORDO_BATCH_MAX as the kernel side
// sends them, fed through capture's decoder into a trace writer, as `ordo
// capture` does after draining its ring. Prints ns/event and
// bytes/event. Deterministic: run under `valgrind --tool=callgrind` to count
// instructions. Usage: capture_consumer [--events N] [--threads T] [-o PATH]
// (ZSTD_LEVEL=N in the environment: another zstd level than capture's 1)
#include <fcntl.h>
#include <linux/types.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "decoder.h"
#include "ordo/trace/writer.h"
#include "syscalls.h"

int main(int argc, char** argv) {
  uint64_t n = 2000000;
  uint32_t threads = 1;
  std::string out = "/tmp/ordo-capture-consumer.ordo";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--events")
      n = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--threads")
      threads = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    else if (a == "-o")
      out = argv[i + 1];
  }
  int fd = open("/proc/self/exe", O_RDONLY);
  struct stat st;
  fstat(fd, &st);
  // Kernel dev_t encoding (major << 20 | minor), as the BPF side sends it.
  uint64_t kdev = (static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev);
  std::vector<ordo_io_batch> batches(2048);
  std::mt19937_64 rng(3);
  uint64_t t = 1000000000;
  // A pid that does not exist: the output is the same from run to run.
  uint32_t pid = 4000000;
  ordo::trace::TraceHeader h;
  h.kind = "capture";
  h.clock = "monotonic";
  h.tick_ns = 1;
  ordo::trace::WriterOptions wo;
  wo.zstd_level = 1;  // as ordo capture writes
  if (const char* z = std::getenv("ZSTD_LEVEL")) wo.zstd_level = std::atoi(z);
  auto w = ordo::trace::TraceWriter::Create(out, h, wo);
  if (!w.ok()) return 1;
  ordo::capture::CaptureOptions o;
  ordo::capture::Decoder d(w->get(), o);
  d.StartSlice(~0ull);
  double s = 0;
  for (uint64_t done = 0; done < n;) {
    size_t k = std::min<uint64_t>(batches.size() * ORDO_BATCH_MAX, n - done);
    for (size_t i = 0; i < k; i++) {
      ordo_io_batch& b = batches[i / ORDO_BATCH_MAX];
      b.type = ORDO_EV_IO_BATCH;
      b.count = static_cast<uint32_t>(
          std::min<size_t>(ORDO_BATCH_MAX, k - i / ORDO_BATCH_MAX * ORDO_BATCH_MAX));
      ordo_io_event& e = b.ev[i % ORDO_BATCH_MAX];
      e = {};
      e.type = ORDO_EV_IO;
      e.op = 2;
      e.pid = pid;
      e.tid = pid + static_cast<uint32_t>((done + i) % threads);
      e.start_ns = t += 1400 + rng() % 300;
      e.end_ns = t += 600 + rng() % 200;
      e.offset = (rng() % 65536) * 4096;
      e.length = 4096;
      e.result = 4096;
      e.dev = kdev;
      e.ino = st.st_ino;
      e.fd = fd;
    }
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < k; i += ORDO_BATCH_MAX) {
      const ordo_io_batch& b = batches[i / ORDO_BATCH_MAX];
      d.OnEvent(&b, offsetof(ordo_io_batch, ev) + b.count * sizeof(ordo_io_event));
    }
    s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    done += k;
  }
  auto t0 = std::chrono::steady_clock::now();
  if (!(*w)->Close().ok()) return 1;
  s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "capture_consumer: %llu events, %.1f ns/event (decode, encode, compress, write), %.3f "
      "bytes/event\n",
      static_cast<unsigned long long>(n), s * 1e9 / static_cast<double>(n),
      static_cast<double>((*w)->bytes_written()) / static_cast<double>(n));
  return 0;
}
