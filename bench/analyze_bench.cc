// Analyze throughput and memory on synthetic engine histories of N events.
// Usage: analyze_bench write N FILE   (make a history)
//        analyze_bench run FILE       (analyze it; prints events/s and max RSS)
//        analyze_bench hostile THREADS BLOCKS FILE
//                                     (a small history whose vector clocks are
//                                      dense: every thread joins every other
//                                      through block 0, then unlocks its own
//                                      blocks; see analyze_memory.sh)
// bench/analyze_bench.sh runs 1 M, 10 M and 100 M events, each in its own
// process so max RSS is per size.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "ordo/analyze/analyzer.h"
#include "ordo/trace/writer.h"

using namespace ordo;
using K = trace::EngineEventKind;

// The legacy engine's mix: 4 readers verifying cached blocks (legacy order),
// 2 writers locking blocks, 1 prefetch worker filling and marking clean,
// 1 compaction thread, over 65,536 blocks.
int Write(uint64_t n, const std::string& path) {
  trace::TraceHeader h;
  h.kind = "history";
  auto w = trace::TraceWriter::Create(path, h);
  if (!w.ok()) return 2;
  std::mt19937_64 rng(1);
  uint64_t seq = 0;
  auto add = [&](uint32_t tid, K k, uint64_t block, uint64_t arg = 0) {
    trace::EngineRecord e;
    e.tid = tid;
    e.kind = static_cast<uint16_t>(k);
    e.block = (uint64_t{1} << 32) | block;
    e.arg = arg;
    e.seq = seq++;
    (void)(*w)->Add(trace::Record::Engine(e));
  };
  while (seq < n) {
    uint64_t b = rng() % 65536;
    switch (rng() % 4) {
      case 0: {
        uint32_t r = 1 + rng() % 4;
        add(r, K::kReadBegin, b);
        add(r, K::kVerifyCheckCacheReady, b);
        add(r, K::kVerifyCheckPending, b);
        add(r, K::kVerifyOk, b);
        add(r, K::kPrefetchIssue, b + 1);
        add(r, K::kReadEnd, b);
        break;
      }
      case 1: {
        uint32_t wr = 5 + rng() % 2;
        add(wr, K::kBlockLock, b);
        add(wr, K::kBlockWrite, b);
        add(wr, K::kBlockUnlock, b);
        break;
      }
      case 2:
        add(7, K::kPrefetchFill, b);
        add(7, K::kPrefetchMarkClean, b);
        break;
      default:
        add(8, K::kBlockLock, b, 2);
        add(8, K::kCompactBegin, b);
        add(8, K::kCompactLastWritePending, b);
        add(8, K::kCompactCacheReady, b);
        add(8, K::kCompactEnd, b);
        add(8, K::kBlockUnlock, b, 2);
        break;
    }
  }
  return (*w)->Close().ok() ? 0 : 2;
}

int Run(const std::string& path) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = analyze::AnalyzeTrace(path);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r.ok()) return 2;
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t count = 0;
  for (const auto& f : r->findings) count += f.count;
  std::printf(
      "%llu events in %.2f s: %.1f M events/s, max RSS %.1f MiB, %zu signatures (%llu instances)\n",
      static_cast<unsigned long long>(r->events), s, r->events / s / 1e6, ru.ru_maxrss / 1024.0,
      r->findings.size(), static_cast<unsigned long long>(count));
  return 0;
}

// Round 1: each thread locks and unlocks block 0, so block 0's release clock
// grows to an entry per thread. Round 2: each thread joins it again, then
// locks and unlocks BLOCKS / THREADS blocks of its own, each keeping a copy of
// the full clock: threads x blocks entries from ~8 events per thread.
int Hostile(uint32_t threads, uint32_t blocks, const std::string& path) {
  trace::TraceHeader h;
  h.kind = "history";
  auto w = trace::TraceWriter::Create(path, h);
  if (!w.ok()) return 2;
  uint64_t seq = 0;
  auto add = [&](uint32_t tid, K k, uint64_t block) {
    trace::EngineRecord e;
    e.tid = tid;
    e.kind = static_cast<uint16_t>(k);
    e.block = block;
    e.arg = 1;  // a prefetch's lock: ordering only, no write region
    e.seq = seq++;
    (void)(*w)->Add(trace::Record::Engine(e));
  };
  for (uint32_t t = 0; t < threads; ++t) {
    add(1000 + t, K::kBlockLock, 0);
    add(1000 + t, K::kBlockUnlock, 0);
  }
  uint32_t next = 1;
  for (uint32_t t = 0; t < threads; ++t) {
    add(1000 + t, K::kBlockLock, 0);
    add(1000 + t, K::kBlockUnlock, 0);
    for (uint32_t k = 0; k < blocks / threads; ++k, ++next) {
      add(1000 + t, K::kBlockLock, next);
      add(1000 + t, K::kBlockUnlock, next);
    }
  }
  return (*w)->Close().ok() ? 0 : 2;
}

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "write" && argc == 4) return Write(std::strtoull(argv[2], nullptr, 10), argv[3]);
  if (cmd == "run" && argc == 3) return Run(argv[2]);
  if (cmd == "hostile" && argc == 5) {
    return Hostile(static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10)),
                   static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)), argv[4]);
  }
  std::fprintf(stderr,
               "usage: analyze_bench write N FILE | run FILE | hostile THREADS BLOCKS FILE\n");
  return 2;
}
