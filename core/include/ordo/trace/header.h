// What a trace says about itself: the header written first, and the summary
// kept in its footer index.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>

#include "ordo/trace/record.h"

namespace ordo::trace {

struct TraceHeader {
  uint16_t format_major = 0;  // filled in by the writer and the reader
  uint16_t format_minor = 0;
  std::string tool_version;
  std::string host;
  std::string kernel;
  std::string clock = "monotonic";  // what the timestamps count from
  uint64_t start_realtime_ns = 0;   // wall-clock time of timestamp zero, if known
  uint32_t tick_ns = 1;             // timestamp resolution; timestamps are stored in ticks
  std::string filters;              // capture filters, as the user gave them
  std::string kind;                 // "capture", "history", "import", ...
  std::string source;               // provenance: the command or files that made the trace
};

// Whole-trace counts. `events` counts I/O and engine records; table entries
// and lost-event records are not events.
struct TraceSummary {
  uint64_t events = 0;
  uint64_t io_events = 0;
  uint64_t engine_events = 0;
  uint64_t lost_events = 0;  // sum of LostRecord counts
  uint64_t threads = 0;      // distinct (pid, tid)
  uint64_t files = 0;        // distinct file ids
  uint64_t first_ns = 0;     // earliest timestamp (0 when none)
  uint64_t last_ns = 0;      // latest timestamp, I/O end times included
  uint64_t chunks = 0;       // records chunks

  uint64_t duration_ns() const { return last_ns > first_ns ? last_ns - first_ns : 0; }
};

// Builds a TraceSummary from records as they stream by. Memory grows with the
// number of distinct threads and files, not with the number of records.
class SummaryBuilder {
 public:
  void Add(const Record& record);
  void AddChunk() { ++summary_.chunks; }
  const TraceSummary& summary() const { return summary_; }

 private:
  void Time(uint64_t ns);
  void AddThread(uint64_t key);
  void AddFile(uint32_t file);
  TraceSummary summary_;
  bool has_time_ = false;
  std::unordered_set<uint64_t> threads_;
  std::unordered_set<uint32_t> files_;
  // The last thread and file added: consecutive records mostly repeat them,
  // and a repeat needs no hashing.
  uint64_t last_thread_ = 0;
  uint32_t last_file_ = 0;
  bool has_last_thread_ = false;
  bool has_last_file_ = false;
};

}  // namespace ordo::trace
