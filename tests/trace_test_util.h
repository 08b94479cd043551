// Builders of traces for tests: random record streams and in-memory traces.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ordo/file_io.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/record.h"
#include "ordo/trace/writer.h"

namespace ordo::testing {

// A random stream mixing every record kind, with edge values (zero and
// maximal offsets, negative results, missing wall times, long paths) among
// realistic ones (sequential misaligned bursts from a few threads).
inline std::vector<trace::Record> RandomRecords(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t k) { return rng() % k; };
  std::vector<trace::Record> out;
  uint64_t now = 1'000'000'000ull + pick(1'000'000);
  uint64_t seq = pick(3) == 0 ? 0 : pick(1u << 20);
  std::vector<uint64_t> next_off(8, 0);
  for (size_t i = 0; i < n; ++i) {
    uint64_t k = pick(100);
    uint32_t tid = 100 + static_cast<uint32_t>(pick(pick(10) == 0 ? 8 : 3));
    uint32_t pid = tid < 103 ? 50 : 51;
    if (k < 60) {
      trace::IoRecord io;
      io.op = static_cast<trace::IoOp>(pick(static_cast<uint64_t>(trace::IoOp::kCount)));
      io.pid = pid;
      io.tid = tid;
      io.file = static_cast<uint32_t>(pick(4));
      uint64_t& off = next_off[tid - 100];
      switch (pick(6)) {
        case 0:
          io.offset = rng();
          break;
        case 1:
          io.offset = pick(1ull << 30);
          break;
        default:
          io.offset = off;
          break;
      }
      io.length = pick(5) == 0 ? pick(1u << 20) : 4096 + pick(3) * 512;
      off = io.offset + io.length;
      io.result =
          pick(10) == 0 ? -static_cast<int64_t>(1 + pick(130)) : static_cast<int64_t>(io.length);
      now += pick(20) == 0 ? pick(1ull << 40) : pick(5000);
      if (pick(50) == 0) now -= pick(1000);  // completion order is not start order
      io.start_ns = now;
      io.end_ns = now + (pick(30) == 0 ? rng() % (1ull << 50) : pick(20000));
      out.push_back(trace::Record::Io(io));
    } else if (k < 90) {
      trace::EngineRecord e;
      e.kind =
          static_cast<uint16_t>(pick(20) == 0 ? trace::kSiteEventBase + pick(0x8000) : pick(40));
      e.pid = pid;
      e.tid = tid;
      e.block = pick(3) == 0 ? rng() : pick(64);
      e.arg = pick(2) ? 0 : rng() >> pick(64);
      seq += pick(10) == 0 ? pick(1000) : 1;
      e.seq = seq;
      e.has_wall = pick(2) == 0;
      if (e.has_wall) {
        now += pick(3000);
        e.wall_ns = now;
      }
      out.push_back(trace::Record::Engine(e));
    } else if (k < 95) {
      trace::FileRecord f;
      f.file = static_cast<uint32_t>(pick(1000));
      f.dev = rng();
      f.inode = pick(1u << 24);
      f.size = rng() >> pick(64);
      f.path_is_hash = pick(4) == 0;
      f.path = std::string(pick(pick(10) == 0 ? 5000 : 40), 'a' + static_cast<char>(pick(26)));
      out.push_back(trace::Record::File(f));
    } else if (k < 98) {
      trace::ThreadRecord t{tid, pid, "worker-" + std::to_string(tid)};
      out.push_back(trace::Record::Thread(t));
    } else if (k < 99) {
      trace::LostRecord l{1 + pick(100000), static_cast<uint32_t>(pick(64)), now};
      out.push_back(trace::Record::Lost(l));
    } else {  // a site table entry of an engine loaded through the engine ABI
      trace::SiteRecord site{1 + static_cast<uint32_t>(pick(0x7fff)),
                             static_cast<uint8_t>(pick(256)),
                             std::string(pick(60), 'a' + static_cast<char>(pick(26)))};
      out.push_back(trace::Record::Site(site));
    }
  }
  return out;
}

inline trace::TraceHeader TestHeader() {
  trace::TraceHeader h;
  h.tool_version = "ordo test";
  h.host = "testhost";
  h.kernel = "Linux 6.x";
  h.kind = "test";
  h.source = "unit test";
  return h;
}

// Writes `records` into an in-memory trace.
inline std::string WriteTrace(const std::vector<trace::Record>& records,
                              const trace::WriterOptions& options = {},
                              const trace::TraceHeader& header = TestHeader()) {
  std::string bytes;
  auto w = trace::TraceWriter::Create(StringSink(&bytes), header, options);
  if (!w.ok()) return "";
  for (const auto& r : records) {
    if (!(*w)->Add(r).ok()) return "";
  }
  if (!(*w)->Close().ok()) return "";
  return bytes;
}

struct ReadBack {
  Status open;  // failure of Open, if any
  std::vector<trace::Record> records;
  Status status;  // reader status at the end
  bool complete = false;
};

inline ReadBack ReadTrace(const std::string& bytes, const std::string& name = "t.ordo") {
  ReadBack out;
  auto r = trace::TraceReader::Open(MemorySource(bytes, name));
  if (!r.ok()) {
    out.open = r.status();
    return out;
  }
  trace::Record rec;
  while ((*r)->Next(&rec)) out.records.push_back(rec);
  out.status = (*r)->status();
  out.complete = (*r)->complete();
  return out;
}

}  // namespace ordo::testing
