// Where replay reads a trace from: a trace file, or records held in memory
// (so a caller that replays many variants of one trace, as minimization does,
// need not write each variant to a file). Replay reads its source more than
// once (a planning pass, then once per run), each time from the first record.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ordo/status.h"
#include "ordo/trace/record.h"

namespace ordo::replay {

// One pass over a trace's records, in trace order.
class RecordStream {
 public:
  virtual ~RecordStream() = default;
  // Fills *record with the next record and returns true; false at the end of
  // the trace or at damage (see status()).
  virtual bool Next(trace::Record* record) = 0;
  // Ok after a clean end; the damage (file, byte offset) after one.
  virtual Status status() const = 0;
};

class TraceSource {
 public:
  virtual ~TraceSource() = default;
  // What messages, reproduce commands and history headers call the trace: its
  // path, for a file.
  virtual const std::string& name() const = 0;
  // A pass from the first record. Called from one thread at a time; each
  // stream lives no longer than the source.
  virtual Result<std::unique_ptr<RecordStream>> Open() const = 0;
};

// The trace file at `path` (trace::TraceReader: damage is an error naming
// the file and offset), opened anew for each pass.
std::unique_ptr<TraceSource> FileTrace(std::string path);

// `records` in trace order, as a reader would return them: the tables (file,
// thread and site entries) before the I/O records that use them. `name`
// stands for a path in messages and commands.
std::unique_ptr<TraceSource> MemoryTrace(std::vector<trace::Record> records, std::string name);

}  // namespace ordo::replay
