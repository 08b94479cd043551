// Encoding records into a chunk's streams (format.h); the decoder is
// chunk_decoder.cc.
#include <algorithm>
#include <cstring>
#include <string>

#include "chunk_codec.h"

namespace ordo::trace {

void StreamBuf::Grow(size_t n) {
  size_t cap = std::max<size_t>({cap_ * 2, size_ + n, 4096});
  std::unique_ptr<char[]> d(new char[cap]);
  if (size_ != 0) std::memcpy(d.get(), data_.get(), size_);
  data_ = std::move(d);
  cap_ = cap;
}

namespace {
// Room every record kind but strings needs in each stream: a few varints.
constexpr size_t kRecordRoom = 64;
}  // namespace

ThreadSlot& ChunkEncoder::Slot(uint32_t pid, uint32_t tid, char** ctrl) {
  uint64_t key = (static_cast<uint64_t>(pid) << 32) | tid;
  if (key == last_key_ && last_slot_ != ~0u) {
    *ctrl = PutVarint(*ctrl, last_slot_);
    return slots_[last_slot_];
  }
  return NewSlot(key, pid, tid, ctrl);
}

ThreadSlot& ChunkEncoder::NewSlot(uint64_t key, uint32_t pid, uint32_t tid, char** ctrl) {
  auto [it, inserted] = slot_of_.try_emplace(key, static_cast<uint32_t>(slots_.size()));
  *ctrl = PutVarint(*ctrl, it->second);
  if (inserted) {
    // A slot number equal to the count of slots so far introduces a thread.
    ThreadSlot slot;
    slot.pid = pid;
    slot.tid = tid;
    slots_.push_back(slot);
    char* m = s_[kMeta].Room(kRecordRoom);
    m = PutVarint(m, tid);
    m = PutVarint(m, pid);
    s_[kMeta].Commit(m);
  }
  last_key_ = key;
  last_slot_ = it->second;
  return slots_[it->second];
}

char* ChunkEncoder::PutTime(char* time, uint64_t ns) {
  uint64_t ticks = ns / tick_ns_;
  if (!has_ts_) {
    has_ts_ = true;
    first_ticks_ = ticks;
    prev_ticks_ = ticks;
  }
  time = PutVarint(time, ZigZag(static_cast<int64_t>(ticks - prev_ticks_)));
  prev_ticks_ = ticks;
  return time;
}

// One record: its tag and thread slot go to the control stream, its fields
// to the streams of their kind (format.h); each kind has its own function.
void ChunkEncoder::Add(const Record& r) {
  ++records_;
  char* ctrl = s_[kCtrl].Room(kRecordRoom);
  switch (r.kind) {
    case RecordKind::kIo:
      return AddIo(r.io, ctrl);
    case RecordKind::kEngine:
      return AddEngine(r.engine, ctrl);
    case RecordKind::kFile:
      return AddFile(r.file, ctrl);
    case RecordKind::kThread:
      return AddThread(r.thread, ctrl);
    case RecordKind::kSite:
      return AddSite(r.site, ctrl);
    case RecordKind::kLost:
      return AddLost(r.lost, ctrl);
  }
}

void ChunkEncoder::AddIo(const IoRecord& io, char* ctrl) {
  char* tag_pos = ctrl++;
  ThreadSlot& t = Slot(io.pid, io.tid, &ctrl);
  uint8_t tag = static_cast<uint8_t>(RecordKind::kIo);
  if (io.op != t.op) {
    tag |= kIoHasOp;
    *ctrl++ = static_cast<char>(io.op);
  }
  if (io.file != t.file) {
    tag |= kIoHasFile;
    ctrl = PutVarint(ctrl, io.file);
  }
  char* time = s_[kTime].Room(kRecordRoom);
  time = PutTime(time, io.start_ns);
  time =
      PutVarint(time, ZigZag(static_cast<int64_t>(io.end_ns / tick_ns_ - io.start_ns / tick_ns_)));
  s_[kTime].Commit(time);
  if (io.offset != t.next_offset) {
    tag |= kIoHasOffset;
    char* o = s_[kOffset].Room(kRecordRoom);
    s_[kOffset].Commit(PutVarint(o, ZigZag(static_cast<int64_t>(io.offset - t.next_offset))));
  }
  bool has_length = io.length != t.length;
  bool has_result = io.result != static_cast<int64_t>(io.length);
  if (has_length | has_result) {
    char* z = s_[kSize].Room(kRecordRoom);
    if (has_length) {
      tag |= kIoHasLength;
      z = PutVarint(z, io.length);
    }
    if (has_result) {
      tag |= kIoHasResult;
      z = PutVarint(z, ZigZag(io.result));
    }
    s_[kSize].Commit(z);
  }
  *tag_pos = static_cast<char>(tag);
  s_[kCtrl].Commit(ctrl);
  t.op = io.op;
  t.file = io.file;
  t.length = io.length;
  t.next_offset = io.offset + io.length;
}

void ChunkEncoder::AddEngine(const EngineRecord& e, char* ctrl) {
  char* tag_pos = ctrl++;
  ThreadSlot& t = Slot(e.pid, e.tid, &ctrl);
  uint8_t tag = static_cast<uint8_t>(RecordKind::kEngine);
  ctrl = PutVarint(ctrl, e.kind);
  if (e.block != t.block) {
    tag |= kEngHasBlock;
    char* o = s_[kOffset].Room(kRecordRoom);
    s_[kOffset].Commit(PutVarint(o, ZigZag(static_cast<int64_t>(e.block - t.block))));
  }
  char* z = s_[kSize].Room(kRecordRoom);
  if (e.arg != 0) {
    tag |= kEngHasArg;
    z = PutVarint(z, e.arg);
  }
  if (e.seq != prev_seq_ + 1) {
    tag |= kEngHasSeq;
    z = PutVarint(z, ZigZag(static_cast<int64_t>(e.seq - (prev_seq_ + 1))));
  }
  s_[kSize].Commit(z);
  if (e.has_wall) {
    tag |= kEngHasWall;
    char* time = s_[kTime].Room(kRecordRoom);
    s_[kTime].Commit(PutTime(time, e.wall_ns));
  }
  *tag_pos = static_cast<char>(tag);
  s_[kCtrl].Commit(ctrl);
  t.block = e.block;
  prev_seq_ = e.seq;
}

void ChunkEncoder::AddFile(const FileRecord& f, char* ctrl) {
  *ctrl++ = static_cast<char>(RecordKind::kFile);
  s_[kCtrl].Commit(ctrl);
  size_t n = std::min<size_t>(f.path.size(), kMaxStringBytes);
  char* m = s_[kMeta].Room(kRecordRoom + n);
  m = PutVarint(m, f.file);
  m = PutVarint(m, f.dev);
  m = PutVarint(m, f.inode);
  m = PutVarint(m, f.size);
  *m++ = static_cast<char>(f.path_is_hash ? kFilePathIsHash : 0);
  m = PutVarint(m, n);
  std::memcpy(m, f.path.data(), n);
  s_[kMeta].Commit(m + n);
}

void ChunkEncoder::AddThread(const ThreadRecord& t, char* ctrl) {
  *ctrl++ = static_cast<char>(RecordKind::kThread);
  s_[kCtrl].Commit(ctrl);
  size_t n = std::min<size_t>(t.name.size(), kMaxStringBytes);
  char* m = s_[kMeta].Room(kRecordRoom + n);
  m = PutVarint(m, t.tid);
  m = PutVarint(m, t.pid);
  m = PutVarint(m, n);
  std::memcpy(m, t.name.data(), n);
  s_[kMeta].Commit(m + n);
}

void ChunkEncoder::AddSite(const SiteRecord& site, char* ctrl) {
  *ctrl++ = static_cast<char>(kTagExtended);
  ctrl = PutVarint(ctrl, kExtendedSite);
  s_[kCtrl].Commit(ctrl);
  size_t n = std::min<size_t>(site.name.size(), kMaxStringBytes);
  char body[32];
  char* b = PutVarint(body, site.site);
  b = PutVarint(b, site.access);
  b = PutVarint(b, n);
  size_t head = static_cast<size_t>(b - body);
  char* m = s_[kMeta].Room(kRecordRoom + head + n);
  m = PutVarint(m, head + n);
  std::memcpy(m, body, head);
  std::memcpy(m + head, site.name.data(), n);
  s_[kMeta].Commit(m + head + n);
}

void ChunkEncoder::AddLost(const LostRecord& lost, char* ctrl) {
  *ctrl++ = static_cast<char>(RecordKind::kLost);
  s_[kCtrl].Commit(ctrl);
  char* m = s_[kMeta].Room(kRecordRoom);
  m = PutVarint(m, lost.count);
  m = PutVarint(m, lost.cpu);
  s_[kMeta].Commit(m);
  char* time = s_[kTime].Room(kRecordRoom);
  s_[kTime].Commit(PutTime(time, lost.ts_ns));
}

size_t ChunkEncoder::raw_bytes() const {
  size_t n = 0;
  for (const auto& s : s_) n += s.size();
  return n;
}

void ChunkEncoder::Finish(std::string* out) {
  for (int i = 0; i < kStreamCount - 1; ++i) PutVarint(out, s_[i].size());
  for (auto& s : s_) {
    out->append(s.data(), s.size());
    s.clear();
  }
  slot_of_.clear();
  slots_.clear();
  last_slot_ = ~0u;
  has_ts_ = false;
  first_ticks_ = prev_ticks_ = 0;
  prev_seq_ = ~0ull;
  records_ = 0;
}

}  // namespace ordo::trace
