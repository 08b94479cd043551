// Streaming writer of .ordo traces. Records are buffered into a chunk that is
// compressed and written when it is full, when Flush() is called, or at
// Close(); memory stays bounded by one chunk whatever the trace length.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ordo/file_io.h"
#include "ordo/status.h"
#include "ordo/trace/header.h"
#include "ordo/trace/record.h"

namespace ordo::trace {

struct WriterOptions {
  int zstd_level = 3;                    // 1..19; capture keeps it low to spare CPU
  uint32_t max_chunk_records = 1 << 17;  // a chunk closes at this many records...
  size_t max_chunk_raw_bytes = 1 << 20;  // ...or at this many encoded bytes
  unsigned file_mode = 0644;             // permission bits of a created file
};

class TraceWriter {
 public:
  // Creates `path` ("-" for stdout) and writes the header.
  static Result<std::unique_ptr<TraceWriter>> Create(const std::string& path,
                                                     const TraceHeader& header,
                                                     const WriterOptions& options = {});
  // Writes to `sink`, which the writer takes over.
  static Result<std::unique_ptr<TraceWriter>> Create(std::unique_ptr<ByteSink> sink,
                                                     const TraceHeader& header,
                                                     const WriterOptions& options = {});
  // Without Close() the trace is abandoned: no footer, and a file output
  // keeps its previous content (see AtomicFile).
  ~TraceWriter();

  // Appends one record. Timestamps are rounded down to the header's tick.
  Status Add(const Record& record);
  // Ends the current chunk so everything added so far is written (not
  // necessarily durable; pass sync = true for fdatasync).
  Status Flush(bool sync = false);
  // Flushes, writes the footer index and trailer, and commits the sink (a
  // file appears under its name only now). The writer is unusable after.
  Status Close();

  const TraceSummary& summary() const;
  // Bytes written to the sink so far.
  uint64_t bytes_written() const;

 private:
  struct Impl;
  explicit TraceWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordo::trace
