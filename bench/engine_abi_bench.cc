// The cost of the engine ABI, measured beside the direct call in one run:
//  - dispatch: a 4 KiB cached read of the built-in engine called directly
//    (engine::Engine on its own free-running host) vs the same engine behind
//    its ordo_engine_ops (engine::BuiltinEngineOps, what `--engine legacy`
//    loads) driven through plugin::HostedEngine on an uncontrolled scheduler
//    (request struct, function pointers, failure reset, the host's mutexes);
//  - points: host->point() of the scheduler's host (free-running, no
//    history: the site's access lookup and the check for control) vs an
//    empty loop.
// Interleaved A/B rounds; median of per-pair ratios, with min and max.
// Run: build/bench/engine_abi_bench [rounds]
#include <fmt/core.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ordo/engine/builtin.h"
#include "ordo/engine/engine.h"
#include "ordo/plugin/plugin.h"

namespace {

using namespace ordo;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kBs = 4096;
constexpr uint64_t kBlocks = 256;
constexpr int kOpsPerRound = 200000;

template <typename F>
double NsPerOp(F&& f) {
  auto t0 = Clock::now();
  for (int i = 0; i < kOpsPerRound; ++i) f(i);
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / kOpsPerRound;
}

struct Pairs {
  std::vector<double> a, b, ratio;
  void Add(double x, double y) {
    a.push_back(x);
    b.push_back(y);
    ratio.push_back(y / x);
  }
  static double Median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
  void Print(const char* what, const char* an, const char* bn) const {
    auto [lo, hi] = std::minmax_element(ratio.begin(), ratio.end());
    fmt::print(
        "{}\n  {} {:.1f} ns, {} {:.1f} ns (medians); ratio median {:.3f} (min {:.3f}, max "
        "{:.3f})\n",
        what, an, Median(a), bn, Median(b), Median(ratio), *lo, *hi);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 15;
  char tmpl[] = "/tmp/ordo-abi-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  sched::Scheduler free_running(sched::SchedulerOptions{});
  auto lib = plugin::EngineLibrary::FromOps(engine::BuiltinEngineOps(), "built-in");
  std::filesystem::create_directories(dir + "/abi");
  auto hosted =
      plugin::HostedEngine::Open(lib, dir + "/abi", "mode=fixed", &free_running, nullptr, 1);
  plugin::SchedulerHost point_host(&free_running, nullptr, 1);
  const ordo_host* host = point_host.abi();
  const uint32_t site = host->site(host->ctx, "bench.point", ORDO_ACCESS_READ);
  auto direct = engine::Engine::Open(dir + "/direct", engine::EngineOptions{});
  if (!hosted.ok() || !direct.ok()) {
    fmt::print(stderr, "cannot open the engines under {}\n", dir);
    return 1;
  }
  // The same file in both: 256 blocks, all cached after the first pass.
  const std::string data(kBlocks * kBs, 'x');
  (void)(*direct)->Write("f0", 0, data);
  ordo_request w{sizeof(ordo_request), ORDO_OP_WRITE, "f0",    0,
                 data.size(),          data.data(),   nullptr, 0};
  (void)(*hosted)->Apply(w);
  std::vector<char> buf(kBs);
  ordo_request r{sizeof(ordo_request), ORDO_OP_READ, "f0", 0, kBs, nullptr, buf.data(), 0};
  std::string out;
  Pairs dispatch, points;
  for (int round = 0; round < rounds; ++round) {
    double a = NsPerOp([&](int i) { (void)(*direct)->Read("f0", (i % kBlocks) * kBs, kBs, &out); });
    double b = NsPerOp([&](int i) {
      r.offset = (i % kBlocks) * kBs;
      (void)(*hosted)->Apply(r);
    });
    dispatch.Add(a, b);
    double c = NsPerOp([&](int i) { asm volatile("" ::"r"(i)); });
    double d = NsPerOp([&](int i) { host->point(host->ctx, site, i % kBlocks, 0); });
    points.Add(std::max(c, 0.01), d);
  }
  fmt::print("engine ABI, {} interleaved rounds of {} calls\n", rounds, kOpsPerRound);
  dispatch.Print("4 KiB cached read of the built-in engine:", "direct", "through the ABI");
  std::vector<double> extra;
  for (size_t k = 0; k < points.a.size(); ++k) extra.push_back(points.b[k] - points.a[k]);
  auto [lo, hi] = std::minmax_element(extra.begin(), extra.end());
  fmt::print("an ordering point, free-running, no history:\n");
  fmt::print(
      "  host->point() {:.1f} ns over an empty loop (median of pairs; min {:.1f}, max {:.1f})\n",
      Pairs::Median(extra), *lo, *hi);
  (void)(*hosted)->Close();
  (void)(*direct)->Close();
  std::filesystem::remove_all(dir);
  return 0;
}
