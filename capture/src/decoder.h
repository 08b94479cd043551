// Turns kernel events into trace records: interns files by (dev, inode) and
// names them once, names threads once, and applies the user-space filters.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ordo/capture/capture.h"
#include "ordo/trace/writer.h"

// The kernel's events (capture/bpf/syscalls.h).
struct ordo_io_event;
struct ordo_io_batch;
struct ordo_uring_event;
struct ordo_open_event;
struct ordo_usdt_event;
struct ordo_site_event;

namespace ordo::capture {

// What --redact-paths stores instead of a path (a hash of it).
std::string RedactedPath(const std::string& path);

class Decoder {
 public:
  Decoder(trace::TraceWriter* writer, const CaptureOptions& options)
      : writer_(writer), options_(options) {}

  // Files a process already has open, and its threads (before capture began).
  void SnapshotProcess(uint32_t pid);
  // The ring buffer callback. Returns -EAGAIN (after handling the event) once
  // the slice's time budget is spent, so the consumer gets control back.
  int OnEvent(const void* data, size_t size);
  void StartSlice(uint64_t deadline_ns) {
    deadline_ns_ = deadline_ns;
    slice_count_ = 0;
  }
  void AddLost(uint64_t count, uint64_t now_ns);
  // At the end, after every batch: the io_uring completions still waiting for
  // a batch that never came (it was lost) go into the trace.
  void ReleaseHeld();

  uint64_t events() const { return events_; }
  const Status& status() const { return status_; }

 private:
  // One kernel event of each type (syscalls.h), whole and of its size.
  // The per-event path: inlined into OnEvent (measured as a call: a few more
  // instructions per event, bench/capture_consumer).
  [[gnu::always_inline]] inline void OnIo(const ordo_io_event* e);
  // A CPU's batch of syscall records, with the io_uring completions that
  // waited for it; a completion, held if it waits for a batch.
  void OnBatch(const ordo_io_batch* b, size_t n);
  void OnUring(const ordo_uring_event* u);
  void OnOpen(const ordo_open_event* e);
  void OnEngine(const ordo_usdt_event* e);
  void OnSite(const ordo_site_event* e);
  void OnRequest(const ordo_usdt_event* e);
  // The trace file id for (dev, ino), naming it on first sight; 0 when the
  // file is filtered out.
  uint32_t FileId(uint64_t dev, uint64_t ino, uint32_t pid, int fd, uint64_t size_hint) {
    if (dev == last_file_key_.first && ino == last_file_key_.second) return last_file_id_;
    return NewFileId(dev, ino, pid, fd, size_hint);
  }
  uint32_t NewFileId(uint64_t dev, uint64_t ino, uint32_t pid, int fd, uint64_t size_hint);
  void Thread(uint32_t pid, uint32_t tid) {
    uint64_t key = (uint64_t{pid} << 32) | tid;
    if (key != last_thread_) NewThread(key, pid, tid);
  }
  void NewThread(uint64_t key, uint32_t pid, uint32_t tid);
  void Add(const trace::Record& r);
  bool PathSelected(const std::string& path) const;

  trace::TraceWriter* writer_;
  const CaptureOptions& options_;
  Status status_;
  uint64_t events_ = 0;
  uint64_t deadline_ns_ = ~0ull;
  uint64_t slice_count_ = 0;
  uint64_t engine_seq_ = 0;
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> files_;  // (dev, ino) -> id or 0
  std::map<uint32_t, uint32_t> engine_files_;                // engine file id -> id
  std::set<uint32_t> sites_;  // site ids whose SiteRecord was written
  std::map<std::pair<uint64_t, uint64_t>, std::string> paths_by_inode_;  // from openat
  std::set<uint64_t> threads_;
  // The last file and thread seen: consecutive events mostly repeat them.
  std::pair<uint64_t, uint64_t> last_file_key_{~0ull, ~0ull};
  uint32_t last_file_id_ = 0;
  uint64_t last_thread_ = ~0ull;
  trace::Record io_record_;
  // Per CPU, the batches received (the next generation expected); the
  // io_uring completions waiting for a CPU's batch, by (CPU, generation).
  std::vector<uint64_t> sent_;
  std::map<std::pair<uint32_t, uint64_t>, std::vector<ordo_io_event>> held_;
  uint32_t next_file_ = 1;
};

}  // namespace ordo::capture
