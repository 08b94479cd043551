// Encoding and decoding of one records chunk's payload (before compression).
// Each chunk starts from empty state, so any chunk decodes on its own.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ordo/status.h"
#include "ordo/trace/format.h"
#include "ordo/trace/record.h"
#include "varint.h"

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
  uint32_t Slot(uint32_t pid, uint32_t tid);
  void PutTime(uint64_t ns);

  uint32_t tick_ns_;
  std::string s_[kStreamCount];
  std::unordered_map<uint64_t, uint32_t> slot_of_;
  std::vector<ThreadSlot> slots_;
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
