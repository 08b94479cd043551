// Streaming reader of .ordo traces. Holds one chunk in memory at a time.
//
// Damage is never silent: when the input ends early or fails a check, Next()
// returns false and status() names the file, the byte offset and the reason.
// Every record of every complete chunk before the damage has been returned
// by then.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ordo/file_io.h"
#include "ordo/status.h"
#include "ordo/trace/header.h"
#include "ordo/trace/record.h"

namespace ordo::trace {

class TraceReader {
 public:
  // Opens `path` ("-" for stdin) and reads the header. Fails with NotFound,
  // Corruption (not a trace, damaged header) or Unsupported (newer major version).
  static Result<std::unique_ptr<TraceReader>> Open(const std::string& path);
  static Result<std::unique_ptr<TraceReader>> Open(std::unique_ptr<ByteSource> source);
  ~TraceReader();

  const TraceHeader& header() const;

  // Fills *record with the next record and returns true; returns false at the
  // end of the trace or at damage (see status()).
  bool Next(Record* record);
  // Ok after a clean end; Truncated or Corruption (with file and byte offset)
  // after damage; Ok while records remain.
  const Status& status() const;
  // True once the footer index has been read and verified.
  bool complete() const;
  // Byte offset of the first byte not yet consumed (where damage was found).
  uint64_t offset() const;
  // Records chunks fully read so far.
  uint64_t chunks() const;

  // The footer's summary, read without scanning the trace. Only for seekable
  // inputs with an intact footer; otherwise an error and the caller scans.
  Result<TraceSummary> ReadFooterSummary();

 private:
  struct Impl;
  explicit TraceReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordo::trace
