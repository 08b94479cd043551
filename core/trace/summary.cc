#include "ordo/trace/header.h"

namespace ordo::trace {

void SummaryBuilder::Time(uint64_t ns) {
  if (!has_time_ || ns < summary_.first_ns) summary_.first_ns = ns;
  if (!has_time_ || ns > summary_.last_ns) summary_.last_ns = ns;
  has_time_ = true;
}

void SummaryBuilder::Add(const Record& r) {
  switch (r.kind) {
    case RecordKind::kIo:
      ++summary_.events;
      ++summary_.io_events;
      threads_.insert((static_cast<uint64_t>(r.io.pid) << 32) | r.io.tid);
      files_.insert(r.io.file);
      Time(r.io.start_ns);
      Time(r.io.end_ns);
      break;
    case RecordKind::kEngine:
      ++summary_.events;
      ++summary_.engine_events;
      threads_.insert((static_cast<uint64_t>(r.engine.pid) << 32) | r.engine.tid);
      if (r.engine.has_wall) Time(r.engine.wall_ns);
      break;
    case RecordKind::kFile:
      files_.insert(r.file.file);
      break;
    case RecordKind::kThread:
      threads_.insert((static_cast<uint64_t>(r.thread.pid) << 32) | r.thread.tid);
      break;
    case RecordKind::kLost:
      summary_.lost_events += r.lost.count;
      break;
  }
  summary_.threads = threads_.size();
  summary_.files = files_.size();
}

}  // namespace ordo::trace
