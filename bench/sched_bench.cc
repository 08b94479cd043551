// Scheduler hand-off: controlled scheduling decisions per second. N threads
// attached to a controlled Scheduler each call Yield(PendingStep) in a loop;
// every Yield is one decision and (mostly) one baton pass to another thread.
// items_processed = Yield calls. Run: build/bench/sched_bench
#include <benchmark/benchmark.h>

#include <vector>

#include "ordo/sched/scheduler.h"

namespace {

using namespace ordo::sched;

constexpr int kYieldsPerThread = 2000;

void Run(benchmark::State& state, Strategy strategy) {
  const int n = static_cast<int>(state.range(0));
  uint64_t seed = 1;
  for (auto _ : state) {
    SchedulerOptions o;
    o.strategy = strategy;
    o.seed = seed++;
    Scheduler s(o);
    s.Attach("main");
    std::vector<int> ids;
    for (int t = 0; t < n; ++t) {
      ids.push_back(s.Spawn("w" + std::to_string(t), [&s, t] {
        for (int i = 0; i < kYieldsPerThread; ++i) {
          // A few shared objects, reads and writes: POS re-draws on races.
          s.Yield(PendingStep{static_cast<uint32_t>(1 + (i & 3)),
                              static_cast<uint64_t>((i + t) & 7),
                              (i & 1) ? Access::kWrite : Access::kRead});
        }
      }));
    }
    for (int id : ids) s.Join(id);
    s.Detach();
  }
  state.SetItemsProcessed(state.iterations() * n * kYieldsPerThread);
}

void BM_YieldRandom(benchmark::State& state) { Run(state, Strategy::kRandom); }
void BM_YieldPos(benchmark::State& state) { Run(state, Strategy::kPos); }

BENCHMARK(BM_YieldRandom)->Arg(2)->Arg(4)->Arg(8)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_YieldPos)->Arg(2)->Arg(4)->Arg(8)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
