#include "chunk_codec.h"

#include <algorithm>
#include <cstring>
#include <string>

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

void ChunkEncoder::Add(const Record& r) {
  ++records_;
  char* ctrl = s_[kCtrl].Room(kRecordRoom);
  switch (r.kind) {
    case RecordKind::kIo: {
      const IoRecord& io = r.io;
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
      time = PutVarint(time,
                       ZigZag(static_cast<int64_t>(io.end_ns / tick_ns_ - io.start_ns / tick_ns_)));
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
      break;
    }
    case RecordKind::kEngine: {
      const EngineRecord& e = r.engine;
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
      break;
    }
    case RecordKind::kFile: {
      const FileRecord& f = r.file;
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
      break;
    }
    case RecordKind::kThread: {
      const ThreadRecord& t = r.thread;
      *ctrl++ = static_cast<char>(RecordKind::kThread);
      s_[kCtrl].Commit(ctrl);
      size_t n = std::min<size_t>(t.name.size(), kMaxStringBytes);
      char* m = s_[kMeta].Room(kRecordRoom + n);
      m = PutVarint(m, t.tid);
      m = PutVarint(m, t.pid);
      m = PutVarint(m, n);
      std::memcpy(m, t.name.data(), n);
      s_[kMeta].Commit(m + n);
      break;
    }
    case RecordKind::kSite: {
      *ctrl++ = static_cast<char>(kTagExtended);
      ctrl = PutVarint(ctrl, kExtendedSite);
      s_[kCtrl].Commit(ctrl);
      size_t n = std::min<size_t>(r.site.name.size(), kMaxStringBytes);
      char body[32];
      char* b = PutVarint(body, r.site.site);
      b = PutVarint(b, r.site.access);
      b = PutVarint(b, n);
      size_t head = static_cast<size_t>(b - body);
      char* m = s_[kMeta].Room(kRecordRoom + head + n);
      m = PutVarint(m, head + n);
      std::memcpy(m, body, head);
      std::memcpy(m + head, r.site.name.data(), n);
      s_[kMeta].Commit(m + head + n);
      break;
    }
    case RecordKind::kLost: {
      *ctrl++ = static_cast<char>(RecordKind::kLost);
      s_[kCtrl].Commit(ctrl);
      char* m = s_[kMeta].Room(kRecordRoom);
      m = PutVarint(m, r.lost.count);
      m = PutVarint(m, r.lost.cpu);
      s_[kMeta].Commit(m);
      char* time = s_[kTime].Room(kRecordRoom);
      s_[kTime].Commit(PutTime(time, r.lost.ts_ns));
      break;
    }
  }
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

Status ChunkDecoder::Init(const uint8_t* raw, size_t size, uint64_t first_ticks, uint32_t tick_ns) {
  ByteCursor head{raw, raw + size};
  uint64_t len[kStreamCount - 1];
  for (auto& l : len) l = head.Varint();
  if (head.failed) return Status::Corruption("stream lengths are malformed");
  const uint8_t* p = head.p;
  for (int i = 0; i < kStreamCount - 1; ++i) {
    const uint8_t* data;
    if (!head.Bytes(len[i], &data)) return Status::Corruption("stream lengths exceed the payload");
    c_[i] = ByteCursor{data, data + len[i]};
    p = head.p;
  }
  c_[kMeta] = ByteCursor{p, raw + size};
  slots_.clear();
  tick_ns_ = tick_ns;
  prev_ticks_ = first_ticks;
  prev_seq_ = ~0ull;
  decoded_ = 0;
  error_ = Status::Ok();
  return Status::Ok();
}

bool ChunkDecoder::Fail(const char* what) {
  error_ = Status::Corruption("record " + std::to_string(decoded_) + " of the chunk: " + what);
  return false;
}

bool ChunkDecoder::Next(Record* r) {
  for (;;) {
    bool skipped = false;
    bool got = DecodeOne(r, &skipped);
    if (!skipped) return got;
  }
}

bool ChunkDecoder::AllConsumed() const {
  for (const auto& c : c_) {
    if (!c.empty()) return false;
  }
  return true;
}

bool ChunkDecoder::DecodeOne(Record* r, bool* skipped) {
  ByteCursor& ctrl = c_[kCtrl];
  if (ctrl.empty()) return false;
  uint8_t tag = ctrl.Byte();
  uint8_t kind = tag & kTagKindMask;
  // I/O and engine records are nearly all of a trace: plain branches for
  // them predict better than a jump table over every kind.
  if (kind == static_cast<uint8_t>(RecordKind::kIo)) {
    ThreadSlot* t = Slot();
    if (t == nullptr) return Fail("thread slot out of range");
    IoRecord& io = r->io;
    r->kind = RecordKind::kIo;
    if (tag & kIoHasOp) {
      uint8_t op = ctrl.Byte();
      if (op >= static_cast<uint8_t>(IoOp::kCount)) return Fail("unknown I/O op");
      t->op = static_cast<IoOp>(op);
    }
    if (tag & kIoHasFile) t->file = static_cast<uint32_t>(ctrl.Varint());
    uint64_t start = Time();
    uint64_t end = start + static_cast<uint64_t>(UnZigZag(c_[kTime].Varint()));
    if (tag & kIoHasOffset) t->next_offset += static_cast<uint64_t>(UnZigZag(c_[kOffset].Varint()));
    if (tag & kIoHasLength) t->length = c_[kSize].Varint();
    io.result =
        (tag & kIoHasResult) ? UnZigZag(c_[kSize].Varint()) : static_cast<int64_t>(t->length);
    io.op = t->op;
    io.pid = t->pid;
    io.tid = t->tid;
    io.file = t->file;
    io.offset = t->next_offset;
    io.length = t->length;
    io.start_ns = start * tick_ns_;
    io.end_ns = end * tick_ns_;
    t->next_offset = io.offset + io.length;
  } else if (kind == static_cast<uint8_t>(RecordKind::kEngine)) {
    if (tag & kEngReserved) return Fail("reserved engine flag set");
    ThreadSlot* t = Slot();
    if (t == nullptr) return Fail("thread slot out of range");
    EngineRecord& e = r->engine;
    r->kind = RecordKind::kEngine;
    uint64_t k = ctrl.Varint();
    if (k > 0xffff) return Fail("engine event kind out of range");
    e.kind = static_cast<uint16_t>(k);
    if (tag & kEngHasBlock) t->block += static_cast<uint64_t>(UnZigZag(c_[kOffset].Varint()));
    e.arg = (tag & kEngHasArg) ? c_[kSize].Varint() : 0;
    uint64_t seq = prev_seq_ + 1;
    if (tag & kEngHasSeq) seq += static_cast<uint64_t>(UnZigZag(c_[kSize].Varint()));
    e.has_wall = (tag & kEngHasWall) != 0;
    e.wall_ns = e.has_wall ? Time() * tick_ns_ : 0;
    e.seq = prev_seq_ = seq;
    e.block = t->block;
    e.pid = t->pid;
    e.tid = t->tid;
  } else {
    if (!DecodeTableRecord(r, tag, skipped)) return false;
    if (*skipped) return false;
  }
  if (c_[0].failed | c_[1].failed | c_[2].failed | c_[3].failed | c_[4].failed) {
    return Fail("record runs past the end of its stream");
  }
  ++decoded_;
  return true;
}

ThreadSlot* ChunkDecoder::Slot() {
  uint64_t i = c_[kCtrl].Varint();
  if (i == slots_.size() && i < kMaxThreadSlotsPerChunk) {
    ThreadSlot s;
    s.tid = static_cast<uint32_t>(c_[kMeta].Varint());
    s.pid = static_cast<uint32_t>(c_[kMeta].Varint());
    slots_.push_back(s);
  }
  return i < slots_.size() ? &slots_[i] : nullptr;
}

bool ChunkDecoder::DecodeTableRecord(Record* r, uint8_t tag, bool* skipped) {
  uint8_t kind = tag & kTagKindMask;
  ByteCursor& ctrl = c_[kCtrl];
  auto string = [&](std::string* out) {
    uint64_t n = c_[kMeta].Varint();
    const uint8_t* data;
    if (n > kMaxStringBytes || !c_[kMeta].Bytes(n, &data)) {
      c_[kMeta].failed = true;
      return;
    }
    out->assign(reinterpret_cast<const char*>(data), n);
  };
  switch (kind) {
    case static_cast<uint8_t>(RecordKind::kFile): {
      if (tag & ~kTagKindMask) return Fail("unknown file record flags");
      FileRecord& f = r->file;
      r->kind = RecordKind::kFile;
      ByteCursor& m = c_[kMeta];
      f.file = static_cast<uint32_t>(m.Varint());
      f.dev = m.Varint();
      f.inode = m.Varint();
      f.size = m.Varint();
      f.path_is_hash = (m.Byte() & kFilePathIsHash) != 0;
      string(&f.path);
      break;
    }
    case static_cast<uint8_t>(RecordKind::kThread): {
      if (tag & ~kTagKindMask) return Fail("unknown thread record flags");
      ThreadRecord& t = r->thread;
      r->kind = RecordKind::kThread;
      t.tid = static_cast<uint32_t>(c_[kMeta].Varint());
      t.pid = static_cast<uint32_t>(c_[kMeta].Varint());
      string(&t.name);
      break;
    }
    case static_cast<uint8_t>(RecordKind::kLost): {
      if (tag & ~kTagKindMask) return Fail("unknown lost record flags");
      r->kind = RecordKind::kLost;
      r->lost.count = c_[kMeta].Varint();
      r->lost.cpu = static_cast<uint32_t>(c_[kMeta].Varint());
      r->lost.ts_ns = Time() * tick_ns_;
      break;
    }
    case kTagExtended: {
      // A site table entry, or a record kind from a newer minor version: skip its body.
      uint64_t ext = ctrl.Varint();
      uint64_t n = c_[kMeta].Varint();
      const uint8_t* body;
      if (ctrl.failed || !c_[kMeta].Bytes(n, &body)) return Fail("extended record is malformed");
      if (ext == kExtendedSite) {
        ByteCursor b{body, body + n};
        SiteRecord& site = r->site;
        r->kind = RecordKind::kSite;
        uint64_t id = b.Varint();
        uint64_t access = b.Varint();
        uint64_t len = b.Varint();
        const uint8_t* name;
        if (b.failed || id == 0 || id > 0xffff - kSiteEventBase || access > 0xff ||
            len > kMaxStringBytes || !b.Bytes(len, &name) || b.p != b.end) {
          return Fail("site table entry is malformed");
        }
        site.site = static_cast<uint32_t>(id);
        site.access = static_cast<uint8_t>(access);
        site.name.assign(reinterpret_cast<const char*>(name), len);
        return true;
      }
      ++decoded_;
      *skipped = true;
      return true;
    }
    default:
      return Fail("unknown record kind");
  }
  return true;
}

}  // namespace ordo::trace
