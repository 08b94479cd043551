#include "container.h"

#include <cstring>

#include "ordo/crc32c.h"
#include "ordo/util/varint.h"

namespace ordo::trace {

namespace {

void PutField(std::string* out, uint32_t tag, const std::string& value) {
  PutVarint(out, tag);
  PutVarint(out, value.size());
  out->append(value);
}

void PutField(std::string* out, uint32_t tag, uint64_t value) {
  std::string v;
  PutVarint(&v, value);
  PutField(out, tag, v);
}

}  // namespace

std::string EncodeFileHeader(const TraceHeader& h) {
  std::string body;
  PutField(&body, kTagToolVersion, h.tool_version);
  PutField(&body, kTagHost, h.host);
  PutField(&body, kTagKernel, h.kernel);
  PutField(&body, kTagClock, h.clock);
  PutField(&body, kTagStartRealtimeNs, h.start_realtime_ns);
  PutField(&body, kTagTickNs, h.tick_ns);
  PutField(&body, kTagFilters, h.filters);
  PutField(&body, kTagKind, h.kind);
  PutField(&body, kTagSource, h.source);
  std::string out(reinterpret_cast<const char*>(kFileMagic), sizeof(kFileMagic));
  PutU16(&out, kFormatMajor);
  PutU16(&out, kFormatMinor);
  PutU32(&out, static_cast<uint32_t>(body.size()));
  out += body;
  PutU32(&out, Crc32c(0, out.data(), out.size()));
  return out;
}

Status DecodeHeaderBody(const uint8_t* body, size_t size, TraceHeader* h) {
  ByteCursor c{body, body + size};
  while (!c.empty()) {
    uint64_t tag = c.Varint();
    uint64_t len = c.Varint();
    const uint8_t* v;
    if (c.failed || !c.Bytes(len, &v)) return Status::Corruption("header field is malformed");
    std::string s(reinterpret_cast<const char*>(v), len);
    ByteCursor num{v, v + len};
    switch (tag) {
      case kTagToolVersion:
        h->tool_version = s;
        break;
      case kTagHost:
        h->host = s;
        break;
      case kTagKernel:
        h->kernel = s;
        break;
      case kTagClock:
        h->clock = s;
        break;
      case kTagStartRealtimeNs:
        h->start_realtime_ns = num.Varint();
        break;
      case kTagTickNs:
        h->tick_ns = static_cast<uint32_t>(num.Varint());
        break;
      case kTagFilters:
        h->filters = s;
        break;
      case kTagKind:
        h->kind = s;
        break;
      case kTagSource:
        h->source = s;
        break;
      default:
        break;  // a field from a newer minor version
    }
    if (num.failed)
      return Status::Corruption("header field " + std::to_string(tag) + " is malformed");
  }
  if (h->tick_ns == 0 || h->tick_ns > 1000000000u)
    return Status::Corruption("header tick of " + std::to_string(h->tick_ns) +
                              " ns is out of range");
  return Status::Ok();
}

std::string EncodeChunkHeader(const ChunkHeader& h) {
  std::string out;
  PutU32(&out, kChunkMagic);
  out.push_back(static_cast<char>(h.kind));
  out.push_back(static_cast<char>(h.flags));
  PutU16(&out, 0);
  PutU32(&out, h.stored_size);
  PutU32(&out, h.raw_size);
  PutU32(&out, h.records);
  PutU64(&out, h.first_ticks);
  PutU32(&out, h.payload_crc);
  PutU32(&out, Crc32c(0, out.data(), out.size()));
  return out;
}

Status ParseChunkHeader(const uint8_t* p, ChunkHeader* h) {
  if (GetU32(p + kChunkMagicOff) != kChunkMagic) return Status::Corruption("no chunk magic");
  uint32_t want = GetU32(p + kChunkHeaderCrcOff);
  uint32_t got = Crc32c(0, p, kChunkHeaderCrcOff);
  if (CrcMismatch(want, got)) return Status::Corruption("chunk header CRC32C mismatch");
  h->kind = p[kChunkKindOff];
  h->flags = p[kChunkFlagsOff];
  h->stored_size = GetU32(p + kChunkStoredOff);
  h->raw_size = GetU32(p + kChunkRawOff);
  h->records = GetU32(p + kChunkCountOff);
  h->first_ticks = GetU64(p + kChunkFirstTsOff);
  h->payload_crc = GetU32(p + kChunkPayloadCrcOff);
  if (h->stored_size > kMaxChunkBytes || h->raw_size > kMaxChunkBytes)
    return Status::Corruption("chunk declares more than 64 MiB");
  if (!(h->flags & kChunkFlagZstd) && h->stored_size != h->raw_size)
    return Status::Corruption("uncompressed chunk sizes disagree");
  return Status::Ok();
}

// Index payload: varint field count, then the summary fields in this order
// (later minor versions may append more), then varint entry count and
// entries (offset delta, first tick delta zigzag, records).
std::string EncodeIndex(const TraceSummary& s, const std::vector<IndexEntry>& entries) {
  std::string out;
  const uint64_t fields[] = {s.events, s.io_events, s.engine_events, s.lost_events, s.threads,
                             s.files,  s.first_ns,  s.last_ns,       s.chunks};
  PutVarint(&out, std::size(fields));
  for (uint64_t f : fields) PutVarint(&out, f);
  PutVarint(&out, entries.size());
  uint64_t prev_off = 0, prev_ticks = 0;
  for (const auto& e : entries) {
    PutVarint(&out, e.offset - prev_off);
    PutVarint(&out, ZigZag(static_cast<int64_t>(e.first_ticks - prev_ticks)));
    PutVarint(&out, e.records);
    prev_off = e.offset;
    prev_ticks = e.first_ticks;
  }
  return out;
}

Status DecodeIndex(const uint8_t* p, size_t size, TraceSummary* s, std::vector<IndexEntry>* out) {
  ByteCursor c{p, p + size};
  uint64_t n = c.Varint();
  uint64_t f[9] = {};
  if (n < 9 || n > 1024) return Status::Corruption("index summary is malformed");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t v = c.Varint();
    if (i < 9) f[i] = v;
  }
  *s = TraceSummary{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]};
  uint64_t entries = c.Varint();
  if (entries != s->chunks) return Status::Corruption("index entry count disagrees with summary");
  IndexEntry e;
  for (uint64_t i = 0; i < entries && !c.failed; ++i) {
    e.offset += c.Varint();
    e.first_ticks += static_cast<uint64_t>(UnZigZag(c.Varint()));
    e.records = static_cast<uint32_t>(c.Varint());
    if (out && !c.failed) out->push_back(e);  // bounded by the bytes read, not the count declared
  }
  if (c.failed || !c.empty()) return Status::Corruption("index entries are malformed");
  return Status::Ok();
}

std::string EncodeTrailer(uint64_t index_offset) {
  std::string out;
  PutU64(&out, index_offset);
  PutU32(&out, Crc32c(0, out.data(), 8));
  PutU32(&out, kTrailerMagic);
  return out;
}

Status ParseTrailer(const uint8_t* p, uint64_t* index_offset) {
  if (GetU32(p + 12) != kTrailerMagic) return Status::Corruption("no trailer magic");
  if (CrcMismatch(GetU32(p + 8), Crc32c(0, p, 8)))
    return Status::Corruption("trailer CRC32C mismatch");
  *index_offset = GetU64(p);
  return Status::Ok();
}

}  // namespace ordo::trace
