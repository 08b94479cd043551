// What a full scan of a trace says about its I/O and engine events: counts by
// op, sizes, alignment against a block size, events by engine event kind and
// by thread. `ordo trace stat` prints it.
//
// Alignment is the statistic FPRE004 hangs on: the race needs reads that
// start mid-block and span two or more blocks, and MisalignedSpanningRead()
// is the one definition of such a read.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "ordo/trace/record.h"

namespace ordo::trace {

// True when the `length` bytes at `offset` (length > 0) start inside a block
// of `block_size` bytes (not at its first byte) and end in a later block.
bool MisalignedSpanningRead(uint64_t offset, uint64_t length, uint64_t block_size);

struct OpStats {
  uint64_t count = 0;
  uint64_t bytes = 0;   // sum of positive results
  uint64_t errors = 0;  // negative results
};

struct TraceStats {
  uint64_t block_size = 0;
  std::array<OpStats, static_cast<size_t>(IoOp::kCount)> ops{};  // by IoOp
  // Reads and writes of at least one byte, of which block-aligned (offset and
  // length both multiples of block_size).
  uint64_t reads_writes = 0, block_aligned = 0;
  // Reads of at least one byte, of which MisalignedSpanningRead.
  uint64_t reads = 0, misaligned_spanning_reads = 0;
  // Reads and writes by size: bucket i counts lengths in [2^(i-1), 2^i); the
  // last bucket also every larger length.
  std::array<uint64_t, 41> size_log2{};
  std::map<uint16_t, uint64_t> engine_kinds;  // engine event kind -> events
  std::map<uint32_t, uint64_t> per_thread;    // tid -> I/O and engine events
  // Event kind -> the name of its site, from the trace's site table (ids
  // below 0x8000; a trace's first 32768 entries).
  std::map<uint16_t, std::string> site_names;

  // An engine event kind's name: its site's, else the built-in kind's.
  std::string EventName(uint16_t kind) const;
};

// Builds TraceStats from records as they stream by. Memory grows with the
// number of distinct threads, engine event kinds and sites, not records.
class StatsBuilder {
 public:
  // `block_size` > 0.
  explicit StatsBuilder(uint64_t block_size);
  void Add(const Record& record);
  const TraceStats& stats() const { return stats_; }

 private:
  void AddIo(const IoRecord& io);
  TraceStats stats_;
};

}  // namespace ordo::trace
