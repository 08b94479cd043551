// Engine figures: read/write latency legacy vs fixed (same run, alternating
// rounds), the cost of an unattached ordering point, and the engine against
// plain pread on the same bytes. Run: build/bench/engine_bench
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "host.h"
#include "ordering_point.h"
#include "ordo/engine/engine.h"

namespace {

using namespace ordo;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kBs = 4096;
constexpr uint64_t kFileBlocks = 4096;  // 16 MiB

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/ordo-bench-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

struct MixResult {
  std::vector<double> reads, writes;  // latencies, microseconds
  uint64_t failures = 0;
};

// One round of the production-like mix: 2 threads of burst reads that start
// mid-block and run across blocks (FPRE004's pattern), 1 writer of 8 KiB at
// random offsets with an fdatasync every 64 writes; prefetch and compaction
// in the background.
void MixRound(engine::EngineMode mode, std::chrono::milliseconds duration, MixResult* res) {
  TempDir dir;
  engine::EngineOptions o;
  o.mode = mode;
  o.cache_blocks = 1024;
  auto e = engine::Engine::Open(dir.path, o);
  engine::Engine& eng = **e;
  (void)eng.Write("data", 0, std::string(kFileBlocks * kBs, 'x'));
  (void)eng.Fsync("data");
  std::atomic<bool> done{false};
  std::vector<std::vector<double>> per_reader(2);
  std::atomic<uint64_t> fails{0};
  std::vector<std::thread> ts;
  for (int r = 0; r < 2; ++r) {
    ts.emplace_back([&, r] {
      std::mt19937_64 rng(r + 1);
      std::string out;
      while (!done) {
        uint64_t off = (rng() % (kFileBlocks - 64)) * kBs + 1 + rng() % (kBs - 1);
        for (int i = 0; i < 16 && !done; ++i, off += 6000) {
          auto t0 = Clock::now();
          Status s = eng.Read("data", off, 6000, &out);
          per_reader[r].push_back(
              std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
          if (!s.ok()) ++fails;
        }
      }
    });
  }
  std::mt19937_64 rng(7);
  std::string buf(8192, 'w');
  auto until = Clock::now() + duration;
  for (int i = 0; Clock::now() < until; ++i) {
    auto t0 = Clock::now();
    (void)eng.Write("data", (rng() % (kFileBlocks - 4)) * kBs + rng() % kBs, buf);
    res->writes.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (i % 64 == 63) (void)eng.Fsync("data");
  }
  done = true;
  for (auto& t : ts) t.join();
  for (auto& v : per_reader) res->reads.insert(res->reads.end(), v.begin(), v.end());
  res->failures += fails;
  (void)eng.Close();
}

// Legacy and fixed in alternating rounds of the same run, latencies pooled
// per mode. Args: rounds per mode, milliseconds per round.
void BM_EngineMixLegacyVsFixed(benchmark::State& state) {
  MixResult legacy, fixed;
  for (auto _ : state) {
    for (int r = 0; r < state.range(0); ++r) {
      MixRound(engine::EngineMode::kLegacy, std::chrono::milliseconds(state.range(1)), &legacy);
      MixRound(engine::EngineMode::kFixed, std::chrono::milliseconds(state.range(1)), &fixed);
    }
  }
  double lp99 = Percentile(legacy.reads, 0.99), fp99 = Percentile(fixed.reads, 0.99);
  state.counters["legacy_reads"] = static_cast<double>(legacy.reads.size());
  state.counters["fixed_reads"] = static_cast<double>(fixed.reads.size());
  state.counters["legacy_read_p50_us"] = Percentile(legacy.reads, 0.50);
  state.counters["fixed_read_p50_us"] = Percentile(fixed.reads, 0.50);
  state.counters["legacy_read_p99_us"] = lp99;
  state.counters["fixed_read_p99_us"] = fp99;
  state.counters["p99_fixed_over_legacy"] = fp99 / lp99;
  state.counters["legacy_write_p99_us"] = Percentile(legacy.writes, 0.99);
  state.counters["fixed_write_p99_us"] = Percentile(fixed.writes, 0.99);
  state.counters["legacy_writes"] = static_cast<double>(legacy.writes.size());
  state.counters["fixed_writes"] = static_cast<double>(fixed.writes.size());
  state.counters["legacy_verify_failures"] = static_cast<double>(legacy.failures);
  state.counters["fixed_verify_failures"] = static_cast<double>(fixed.failures);
}
BENCHMARK(BM_EngineMixLegacyVsFixed)
    ->Args({8, 1000})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

// One ordering point on the engine's own free-running host, no tracer attached.
void BM_OrderingPointUnattached(benchmark::State& state) {
  engine::FreeHost host;
  engine::OrderingPoints points;
  if (!points.Register(host.abi()).ok()) state.SkipWithError("register");
  uint64_t i = 0;
  for (auto _ : state) {
    ORDO_POINT(points, kReadBegin, i, 0);
    benchmark::DoNotOptimize(++i);
  }
}
BENCHMARK(BM_OrderingPointUnattached);

void BM_EmptyLoop(benchmark::State& state) {
  uint64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(++i);
}
BENCHMARK(BM_EmptyLoop);

// 4 KiB reads at misaligned offsets of a 16 MiB file that is cached (engine:
// buffer cache; pread: page cache). Arg: 0 engine, 1 pread.
void BM_Read4K(benchmark::State& state) {
  TempDir dir;
  std::string data(kFileBlocks * kBs, 'y');
  std::unique_ptr<engine::Engine> eng;
  int fd = -1;
  if (state.range(0) == 0) {
    engine::EngineOptions o;
    o.cache_blocks = kFileBlocks + 16;
    o.prefetch_workers = 0;
    o.compaction = false;
    eng = std::move(engine::Engine::Open(dir.path, o)).value();
    (void)eng->Write("data", 0, data);
  } else {
    std::string p = dir.path + "/data";
    fd = open(p.c_str(), O_RDWR | O_CREAT, 0644);
    (void)!write(fd, data.data(), data.size());
  }
  std::mt19937_64 rng(3);
  std::string out(4096, '\0');
  for (auto _ : state) {
    uint64_t off = rng() % ((kFileBlocks - 2) * kBs);
    if (eng) {
      (void)eng->Read("data", off, 4096, &out);
    } else {
      benchmark::DoNotOptimize(pread(fd, out.data(), 4096, static_cast<off_t>(off)));
    }
  }
  if (fd >= 0) close(fd);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 4096));
}
BENCHMARK(BM_Read4K)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
