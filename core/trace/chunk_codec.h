// Encoding and decoding of one records chunk's payload (before compression).
// Each chunk starts from empty state, so any chunk decodes on its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ordo/status.h"
#include "ordo/trace/format.h"
#include "ordo/trace/record.h"
#include "ordo/util/varint.h"

namespace ordo::trace {

// Per-thread prediction state shared by encoder and decoder: a field equal to
// its prediction costs nothing but a clear flag bit.
struct ThreadSlot {
  uint32_t pid = 0;
  uint32_t tid = 0;
  IoOp op = IoOp::kRead;
  uint32_t file = 0;
  uint64_t next_offset = 0;  // end of the thread's previous I/O
  uint64_t length = 0;
  uint64_t block = 0;
};

// An append-only byte stream for the encoder: a record checks for room once
// (Room) and then writes with plain stores, instead of a capacity check per
// byte or varint.
class StreamBuf {
 public:
  // The write position, with at least `n` bytes of room after it.
  char* Room(size_t n) {
    if (cap_ - size_ < n) Grow(n);
    return data_.get() + size_;
  }
  // Marks everything up to `end` (from Room) as written.
  void Commit(char* end) { size_ = static_cast<size_t>(end - data_.get()); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }

 private:
  void Grow(size_t n);
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t cap_ = 0;
};

// The most bytes one I/O or engine record adds to a chunk's streams (all of
// them together): a tag, op, a slot and up to five varints of 9 bytes, a
// new thread's two varints. File, thread and lost records carry strings and
// have no such bound.
constexpr size_t kMaxHotRecordBytes = 128;

class ChunkEncoder {
 public:
  explicit ChunkEncoder(uint32_t tick_ns) : tick_ns_(tick_ns) {}

  void Add(const Record& record);
  uint32_t records() const { return records_; }
  size_t raw_bytes() const;
  bool has_timestamp() const { return has_ts_; }
  uint64_t first_ticks() const { return first_ticks_; }
  // Appends the payload (stream lengths, then streams) to *out and resets.
  void Finish(std::string* out);

 private:
  // The thread's slot; writes its number to the ctrl stream at *ctrl (and
  // introduces the thread in the meta stream on first sight in the chunk).
  ThreadSlot& Slot(uint32_t pid, uint32_t tid, char** ctrl);
  // Each writes one record of its kind; `ctrl` has room for its control bytes.
  // AddIo is the per-event path of capture and import: inlined into Add (as a
  // call it cost 14 more instructions per event, bench/capture_consumer).
  [[gnu::always_inline]] inline void AddIo(const IoRecord& io, char* ctrl);
  void AddEngine(const EngineRecord& e, char* ctrl);
  void AddFile(const FileRecord& f, char* ctrl);
  void AddThread(const ThreadRecord& t, char* ctrl);
  void AddSite(const SiteRecord& site, char* ctrl);
  void AddLost(const LostRecord& lost, char* ctrl);
  ThreadSlot& NewSlot(uint64_t key, uint32_t pid, uint32_t tid, char** ctrl);
  // Writes the start time's delta at *time.
  char* PutTime(char* time, uint64_t ns);

  uint32_t tick_ns_;
  StreamBuf s_[kStreamCount];
  std::unordered_map<uint64_t, uint32_t> slot_of_;
  std::vector<ThreadSlot> slots_;
  // The last thread seen: consecutive records mostly repeat it.
  uint64_t last_key_ = 0;
  uint32_t last_slot_ = ~0u;
  bool has_ts_ = false;
  uint64_t first_ticks_ = 0;
  uint64_t prev_ticks_ = 0;
  uint64_t prev_seq_ = ~0ull;
  uint32_t records_ = 0;
};

class ChunkDecoder {
 public:
  // `raw` must stay live until the decoder is re-initialised.
  Status Init(const uint8_t* raw, size_t size, uint64_t first_ticks, uint32_t tick_ns);
  // Decodes the next record. Returns false at the end of the chunk or at a
  // malformed record; then error() says which (record index in the message).
  bool Next(Record* record);
  const Status& error() const { return error_; }
  uint32_t decoded() const { return decoded_; }
  // True when every stream was read to its end (no bytes left unexplained).
  bool AllConsumed() const;

 private:
  bool DecodeOne(Record* record, bool* skipped);
  // File, thread, lost and extended records (rare).
  bool DecodeTableRecord(Record* record, uint8_t tag, bool* skipped);
  // Reads a thread slot number, registering a new thread when it is next.
  ThreadSlot* Slot();
  bool Fail(const char* what);
  uint64_t Time() {
    prev_ticks_ += static_cast<uint64_t>(UnZigZag(c_[kTime].Varint()));
    return prev_ticks_;
  }

  ByteCursor c_[kStreamCount];
  std::vector<ThreadSlot> slots_;
  uint32_t tick_ns_ = 1;
  uint64_t prev_ticks_ = 0;
  uint64_t prev_seq_ = ~0ull;
  uint32_t decoded_ = 0;
  Status error_;
};

}  // namespace ordo::trace
