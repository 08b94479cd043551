#include "ordo/trace/header.h"

namespace ordo::trace {

void SummaryBuilder::Time(uint64_t ns) {
  if (!has_time_ || ns < summary_.first_ns) summary_.first_ns = ns;
  if (!has_time_ || ns > summary_.last_ns) summary_.last_ns = ns;
  has_time_ = true;
}

// Called when `key` is not the last thread added.
void SummaryBuilder::AddThread(uint64_t key) {
  has_last_thread_ = true;
  last_thread_ = key;
  threads_.insert(key);
  summary_.threads = threads_.size();
}

// Called when `file` is not the last file added.
void SummaryBuilder::AddFile(uint32_t file) {
  has_last_file_ = true;
  last_file_ = file;
  files_.insert(file);
  summary_.files = files_.size();
}

void SummaryBuilder::Add(const Record& r) {
  switch (r.kind) {
    case RecordKind::kIo:
      ++summary_.events;
      ++summary_.io_events;
      {
        uint64_t thread = (static_cast<uint64_t>(r.io.pid) << 32) | r.io.tid;
        if (!has_last_thread_ || thread != last_thread_) AddThread(thread);
        if (!has_last_file_ || r.io.file != last_file_) AddFile(r.io.file);
        Time(r.io.start_ns);
        Time(r.io.end_ns);
        break;
      }
    case RecordKind::kEngine:
      ++summary_.events;
      ++summary_.engine_events;
      {
        uint64_t thread = (static_cast<uint64_t>(r.engine.pid) << 32) | r.engine.tid;
        if (!has_last_thread_ || thread != last_thread_) AddThread(thread);
        if (r.engine.has_wall) Time(r.engine.wall_ns);
        break;
      }
    case RecordKind::kFile:
      if (!has_last_file_ || r.file.file != last_file_) AddFile(r.file.file);
      break;
    case RecordKind::kThread: {
      uint64_t thread = (static_cast<uint64_t>(r.thread.pid) << 32) | r.thread.tid;
      if (!has_last_thread_ || thread != last_thread_) AddThread(thread);
      break;
    }
    case RecordKind::kLost:
      summary_.lost_events += r.lost.count;
      break;
    case RecordKind::kSite:
      break;
  }
}

}  // namespace ordo::trace
