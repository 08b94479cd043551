// Decoding a chunk's streams back into records (format.h); the encoder is
// chunk_encoder.cc.
#include <algorithm>
#include <cstring>
#include <string>

#include "chunk_codec.h"

namespace ordo::trace {

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
