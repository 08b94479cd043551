// A synthetic production-like event stream for benchmarks: what capture sees
// on a cache-engine host. Eight threads: five serve burst reads that start
// mid-block and run sequentially through a file (the FPRE004 pattern), two
// do random reads of a hot file, one writes and fsyncs. Timestamps are
// nanoseconds with the jitter of real syscalls (2-30 us between a thread's
// requests, 1-60 us service time); one engine USDT event (request begin) per
// I/O interleaves with the syscalls.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "ordo/trace/record.h"

namespace ordo::bench {

inline std::vector<trace::Record> ProductionStream(size_t events, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo + 1); };
  struct Thread {
    uint32_t tid;
    int role;  // 0 burst reader, 1 hot random reader, 2 writer
    uint32_t file;
    uint64_t offset;
    uint64_t next_ns;
    int burst_left;
  };
  std::vector<Thread> threads;
  for (uint32_t i = 0; i < 8; ++i) {
    int role = i < 5 ? 0 : i < 7 ? 1 : 2;
    threads.push_back(
        {4100 + i, role, role == 1 ? 1u : 2u + i % 4, 0, 1'000'000'000 + uniform(0, 10000), 0});
  }
  std::vector<trace::Record> out;
  out.reserve(events);
  uint64_t seq = 0;
  while (out.size() < events) {
    // The thread whose next request is earliest goes next.
    Thread* t = &threads[0];
    for (auto& th : threads) {
      if (th.next_ns < t->next_ns) t = &th;
    }
    trace::IoRecord io;
    io.pid = 4100;
    io.tid = t->tid;
    io.file = t->file;
    switch (t->role) {
      case 0:
        if (t->burst_left == 0) {
          t->burst_left = static_cast<int>(uniform(8, 64));
          t->offset = uniform(0, 1 << 20) * 4096 + uniform(1, 4095);  // mid-block start
        }
        --t->burst_left;
        io.op = trace::IoOp::kPread;
        io.length = 16384;
        break;
      case 1:
        io.op = trace::IoOp::kPread;
        io.length = 4096;
        t->offset = uniform(0, 4095) * 4096;
        break;
      default:
        io.op = uniform(0, 15) == 0 ? trace::IoOp::kFdatasync : trace::IoOp::kPwrite;
        io.length = io.op == trace::IoOp::kPwrite ? 8192 : 0;
        if (io.op == trace::IoOp::kPwrite) t->offset = uniform(0, 1 << 18) * 4096;
        break;
    }
    io.offset = t->offset;
    t->offset += io.length;
    io.result = static_cast<int64_t>(io.length);
    io.start_ns = t->next_ns;
    io.end_ns = io.start_ns + uniform(1000, 60000);
    trace::EngineRecord e;
    e.kind = 0;  // read_begin / write_begin
    e.pid = io.pid;
    e.tid = io.tid;
    e.block = io.offset / 4096;
    e.seq = seq++;
    e.has_wall = true;
    e.wall_ns = io.start_ns - uniform(200, 800);
    out.push_back(trace::Record::Engine(e));
    out.push_back(trace::Record::Io(io));
    t->next_ns = io.end_ns + uniform(2000, 30000);
  }
  out.resize(events);
  return out;
}

}  // namespace ordo::bench
