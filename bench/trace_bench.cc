// Trace encode/decode speed and size. Run: build/bench/trace_bench
// Counters: events/s (items_per_second) and bytes_per_event.
#include <benchmark/benchmark.h>

#include "ordo/file_io.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/writer.h"
#include "production_stream.h"

namespace {

using ordo::trace::Record;

constexpr size_t kEvents = 1 << 20;

const std::vector<Record>& Stream() {
  static const std::vector<Record> s = ordo::bench::ProductionStream(kEvents);
  return s;
}

std::string Encode(int level, uint32_t tick_ns) {
  std::string bytes;
  ordo::trace::TraceHeader h;
  h.tick_ns = tick_ns;
  ordo::trace::WriterOptions o;
  o.zstd_level = level;
  auto w = ordo::trace::TraceWriter::Create(ordo::StringSink(&bytes), h, o);
  for (const auto& r : Stream()) (void)(*w)->Add(r);
  (void)(*w)->Close();
  return bytes;
}

// args: zstd level, tick in ns
void BM_Encode(benchmark::State& state) {
  std::string bytes;
  for (auto _ : state) {
    bytes = Encode(static_cast<int>(state.range(0)), static_cast<uint32_t>(state.range(1)));
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEvents));
  state.counters["bytes_per_event"] = static_cast<double>(bytes.size()) / kEvents;
}
BENCHMARK(BM_Encode)->Args({1, 1})->Args({3, 1})->Args({3, 1000})->Args({19, 1})->Unit(
    benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  std::string bytes =
      Encode(static_cast<int>(state.range(0)), static_cast<uint32_t>(state.range(1)));
  uint64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto source = ordo::MemorySource(bytes);  // copies the trace: not part of decoding
    state.ResumeTiming();
    auto r = ordo::trace::TraceReader::Open(std::move(source));
    Record rec;
    n = 0;
    while ((*r)->Next(&rec)) ++n;
    benchmark::DoNotOptimize(rec);
    if (!(*r)->status().ok() || n != kEvents) state.SkipWithError("decode failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEvents));
  state.counters["bytes_per_event"] = static_cast<double>(bytes.size()) / kEvents;
}
BENCHMARK(BM_Decode)->Args({3, 1})->Args({3, 1000})->Args({19, 1})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
