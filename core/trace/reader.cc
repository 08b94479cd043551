#include "ordo/trace/reader.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "chunk_codec.h"
#include "container.h"
#include "ordo/crc32c.h"
#include "ordo/trace/format.h"
#include "ordo/util/varint.h"

namespace ordo::trace {

namespace {
std::string At(const std::string& name, uint64_t offset) {
  return name + ": byte " + std::to_string(offset);
}
}  // namespace

struct TraceReader::Impl {
  std::unique_ptr<ByteSource> src;
  TraceHeader header;
  uint64_t offset = 0;  // bytes consumed
  uint64_t chunks = 0;
  uint64_t chunk_offset = 0;  // start of the chunk being decoded
  bool in_chunk = false;
  bool done = false;
  bool complete = false;
  Status status;
  std::vector<uint8_t> stored;
  std::vector<uint8_t> raw;
  ChunkDecoder decoder;
  ZSTD_DCtx* dctx = nullptr;

  ~Impl() { ZSTD_freeDCtx(dctx); }

  bool Stop(Status s) {
    status = std::move(s);
    done = true;
    return false;
  }

  // Reads exactly n bytes; *got says how many arrived before end of input.
  Status ReadFully(void* buf, size_t n, size_t* got) {
    auto r = src->Read(buf, n);
    if (!r.ok()) return r.status();
    *got = r.value();
    offset += *got;
    return Status::Ok();
  }

  // Reads, checks and decompresses the next chunk into `raw`. Returns false
  // when reading must stop (status set, or a clean end after the trailer).
  bool LoadChunk(ChunkHeader* h) {
    const std::string& name = src->name();
    chunk_offset = offset;
    uint8_t hb[kChunkHeaderSize];
    size_t got = 0;
    Status s = ReadFully(hb, sizeof(hb), &got);
    if (!s.ok()) return Stop(s);
    if (got == 0) {
      return Stop(Status::Truncated(At(name, chunk_offset) + ": trace ends after " +
                                    std::to_string(chunks) +
                                    " complete chunks without its footer index (the writer was "
                                    "interrupted); every record "
                                    "before this point was read")
                      .WithLocation(name, chunk_offset));
    }
    if (got < sizeof(hb)) {
      return Stop(Status::Truncated(At(name, chunk_offset) + ": chunk header is incomplete (" +
                                    std::to_string(got) + " of 36 bytes); " +
                                    std::to_string(chunks) + " complete chunks were read")
                      .WithLocation(name, chunk_offset));
    }
    s = ParseChunkHeader(hb, h);
    if (!s.ok())
      return Stop(Status::Corruption(At(name, chunk_offset) + ": " + s.message())
                      .WithLocation(name, chunk_offset));
    stored.resize(h->stored_size);
    s = ReadFully(stored.data(), stored.size(), &got);
    if (!s.ok()) return Stop(s);
    if (got < stored.size()) {
      return Stop(Status::Truncated(At(name, chunk_offset) + ": chunk declares " +
                                    std::to_string(h->stored_size) +
                                    " payload bytes but the file ends after " +
                                    std::to_string(got) + "; " + std::to_string(chunks) +
                                    " complete chunks were read")
                      .WithLocation(name, chunk_offset));
    }
    uint32_t crc = Crc32c(0, stored.data(), stored.size());
    if (CrcMismatch(h->payload_crc, crc)) {
      return Stop(Status::Corruption(At(name, chunk_offset) + ": chunk payload CRC32C mismatch")
                      .WithLocation(name, chunk_offset));
    }
    raw.resize(h->raw_size);
    if (h->flags & kChunkFlagZstd) {
      size_t n = ZSTD_decompressDCtx(dctx, raw.data(), raw.size(), stored.data(), stored.size());
      if (ZSTD_isError(n) || n != raw.size()) {
        return Stop(Status::Corruption(At(name, chunk_offset) +
                                       ": chunk payload does not decompress to its declared size")
                        .WithLocation(name, chunk_offset));
      }
    } else {
      if (!raw.empty()) std::memcpy(raw.data(), stored.data(), raw.size());
    }
    return true;
  }

  // Verifies the trailer after the index chunk and that nothing follows it.
  bool FinishAfterIndex() {
    const std::string& name = src->name();
    uint64_t index_offset = chunk_offset;
    uint8_t t[kTrailerSize];
    size_t got = 0;
    uint64_t at = offset;
    Status s = ReadFully(t, sizeof(t), &got);
    if (!s.ok()) return Stop(s);
    if (got < sizeof(t))
      return Stop(
          Status::Truncated(At(name, at) + ": trailer is incomplete").WithLocation(name, at));
    uint64_t declared = 0;
    s = ParseTrailer(t, &declared);
    if (!s.ok())
      return Stop(Status::Corruption(At(name, at) + ": " + s.message()).WithLocation(name, at));
    if (declared != index_offset)
      return Stop(Status::Corruption(At(name, at) + ": trailer points at the wrong index")
                      .WithLocation(name, at));
    uint8_t extra;
    s = ReadFully(&extra, 1, &got);
    if (!s.ok()) return Stop(s);
    if (got != 0)
      return Stop(Status::Corruption(At(name, offset - 1) + ": unexpected bytes after the trailer")
                      .WithLocation(name, offset - 1));
    complete = true;
    done = true;
    return false;
  }

  bool Next(Record* r) {
    while (!done) {
      if (in_chunk) {
        if (decoder.Next(r)) return true;
        in_chunk = false;
        if (!decoder.error().ok()) {
          return Stop(
              Status::Corruption(At(src->name(), chunk_offset) + ": " + decoder.error().message())
                  .WithLocation(src->name(), chunk_offset));
        }
        if (!decoder.AllConsumed()) {
          return Stop(Status::Corruption(At(src->name(), chunk_offset) +
                                         ": chunk has bytes no record explains")
                          .WithLocation(src->name(), chunk_offset));
        }
        if (decoder.decoded() != expected_records) {
          return Stop(Status::Corruption(At(src->name(), chunk_offset) + ": chunk declares " +
                                         std::to_string(expected_records) + " records but holds " +
                                         std::to_string(decoder.decoded()))
                          .WithLocation(src->name(), chunk_offset));
        }
        ++chunks;
        seen.push_back(IndexEntry{chunk_offset, chunk_first_ticks, expected_records});
        continue;
      }
      ChunkHeader h;
      if (!LoadChunk(&h)) return false;
      if (h.kind == kChunkRecords) {
        Status s = decoder.Init(raw.data(), raw.size(), h.first_ticks, header.tick_ns);
        if (!s.ok())
          return Stop(Status::Corruption(At(src->name(), chunk_offset) + ": " + s.message())
                          .WithLocation(src->name(), chunk_offset));
        expected_records = h.records;
        chunk_first_ticks = h.first_ticks;
        in_chunk = true;
      } else if (h.kind == kChunkIndex) {
        TraceSummary summary;
        std::vector<IndexEntry> listed;
        Status s = DecodeIndex(raw.data(), raw.size(), &summary, &listed);
        if (!s.ok())
          return Stop(Status::Corruption(At(src->name(), chunk_offset) + ": " + s.message())
                          .WithLocation(src->name(), chunk_offset));
        if (!CheckIndex(listed)) return false;
        return FinishAfterIndex();
      }
      // Other chunk kinds come from newer minor versions: skipped, CRC already checked.
      if (h.kind != kChunkRecords && h.kind != kChunkIndex) skipped_unknown = true;
    }
    return false;
  }
  // The footer index must list exactly the chunks read, in order: a chunk
  // swapped, dropped or duplicated decodes on its own but is damage.
  bool CheckIndex(const std::vector<IndexEntry>& listed) {
    const std::string& name = src->name();
    for (size_t i = 0; i < std::max(listed.size(), seen.size()); ++i) {
      if (i >= listed.size()) {
        return Stop(Status::Corruption(At(name, seen[i].offset) + ": chunk #" + std::to_string(i) +
                                       " is not in the footer index (which lists " +
                                       std::to_string(listed.size()) +
                                       " chunks): a chunk was duplicated or inserted")
                        .WithLocation(name, seen[i].offset));
      }
      if (i >= seen.size()) {
        return Stop(Status::Corruption(At(name, listed[i].offset) +
                                       ": the footer index lists chunk #" + std::to_string(i) +
                                       " here but only " + std::to_string(seen.size()) +
                                       " chunks were read: a chunk was dropped")
                        .WithLocation(name, listed[i].offset));
      }
      const IndexEntry &l = listed[i], &r = seen[i];
      // Offsets are compared unless chunks of a newer kind were skipped (a
      // newer writer may place them differently); order and counts always.
      if ((l.offset != r.offset && !skipped_unknown) || l.records != r.records ||
          l.first_ticks != r.first_ticks) {
        return Stop(Status::Corruption(At(name, r.offset) + ": chunk #" + std::to_string(i) + " (" +
                                       std::to_string(r.records) +
                                       " records) is not the one the footer index lists (byte " +
                                       std::to_string(l.offset) + ", " + std::to_string(l.records) +
                                       " records): chunks were swapped, dropped or duplicated")
                        .WithLocation(name, r.offset));
      }
    }
    return true;
  }
  uint32_t expected_records = 0;
  uint64_t chunk_first_ticks = 0;
  bool skipped_unknown = false;
  std::vector<IndexEntry> seen;  // the record chunks read, to check the footer against
};

TraceReader::TraceReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TraceReader::~TraceReader() = default;

Result<std::unique_ptr<TraceReader>> TraceReader::Open(const std::string& path) {
  auto src = OpenSource(path);
  if (!src.ok()) return src.status();
  return Open(std::move(src).value());
}

Result<std::unique_ptr<TraceReader>> TraceReader::Open(std::unique_ptr<ByteSource> source) {
  auto impl = std::make_unique<Impl>();
  impl->src = std::move(source);
  const std::string name = impl->src->name();
  uint8_t fixed[kFileHeaderFixedSize];
  size_t got = 0;
  ORDO_RETURN_IF_ERROR(impl->ReadFully(fixed, sizeof(fixed), &got));
  if (got < sizeof(kFileMagic) && std::memcmp(fixed, kFileMagic, got) == 0) {
    return Status::Truncated(name + ": byte " + std::to_string(got) +
                             ": file ends inside the header")
        .WithLocation(name, got);
  }
  if (std::memcmp(fixed, kFileMagic, sizeof(kFileMagic)) != 0) {
    return Status::Corruption(name + ": byte 0: not an ordo trace (bad magic)")
        .WithLocation(name, 0);
  }
  if (got < sizeof(fixed)) {
    return Status::Truncated(name + ": byte " + std::to_string(got) + ": file header is incomplete")
        .WithLocation(name, got);
  }
  uint16_t major = GetU16(fixed + 8), minor = GetU16(fixed + 10);
  if (major != kFormatMajor) {
    return Status::Unsupported(name + ": byte 8: trace format version " + std::to_string(major) +
                               "." + std::to_string(minor) +
                               " is not readable by this ordo (reads " +
                               std::to_string(kFormatMajor) + ".x); use an ordo that supports it")
        .WithLocation(name, 8);
  }
  uint32_t body_len = GetU32(fixed + 12);
  if (body_len > kMaxHeaderBody) {
    return Status::Corruption(name + ": byte 12: header length " + std::to_string(body_len) +
                              " is implausible")
        .WithLocation(name, 12);
  }
  std::string rest(body_len + 4, '\0');
  ORDO_RETURN_IF_ERROR(impl->ReadFully(rest.data(), rest.size(), &got));
  if (got < rest.size()) {
    return Status::Truncated(name + ": byte " + std::to_string(impl->offset) +
                             ": file header is incomplete")
        .WithLocation(name, impl->offset);
  }
  uint32_t crc = Crc32c(Crc32c(0, fixed, sizeof(fixed)), rest.data(), body_len);
  if (CrcMismatch(GetU32(reinterpret_cast<const uint8_t*>(rest.data()) + body_len), crc)) {
    return Status::Corruption(name + ": byte 0: file header CRC32C mismatch").WithLocation(name, 0);
  }
  Status s =
      DecodeHeaderBody(reinterpret_cast<const uint8_t*>(rest.data()), body_len, &impl->header);
  if (!s.ok()) return Status::Corruption(name + ": byte 16: " + s.message()).WithLocation(name, 16);
  impl->header.format_major = major;
  impl->header.format_minor = minor;
  impl->dctx = ZSTD_createDCtx();
  return std::unique_ptr<TraceReader>(new TraceReader(std::move(impl)));
}

const TraceHeader& TraceReader::header() const { return impl_->header; }
bool TraceReader::Next(Record* record) { return impl_->Next(record); }
const Status& TraceReader::status() const { return impl_->status; }
bool TraceReader::complete() const { return impl_->complete; }
uint64_t TraceReader::offset() const { return impl_->offset; }
uint64_t TraceReader::chunks() const { return impl_->chunks; }

Result<TraceSummary> TraceReader::ReadFooterSummary() {
  ByteSource& src = *impl_->src;
  auto size = src.Size();
  if (!size) return Status::Unsupported(src.name() + ": not seekable");
  if (*size < kFileHeaderFixedSize + kChunkHeaderSize + kTrailerSize)
    return Status::Truncated(src.name() + ": too short for a footer");
  uint8_t t[kTrailerSize];
  ORDO_RETURN_IF_ERROR(src.ReadAt(*size - kTrailerSize, t, sizeof(t)));
  uint64_t index_offset = 0;
  Status s = ParseTrailer(t, &index_offset);
  if (!s.ok()) return s.WithContext(At(src.name(), *size - kTrailerSize));
  if (index_offset + kChunkHeaderSize + kTrailerSize > *size)
    return Status::Corruption(At(src.name(), *size - kTrailerSize) +
                              ": trailer points past the end")
        .WithLocation(src.name(), *size - kTrailerSize);
  uint8_t hb[kChunkHeaderSize];
  ORDO_RETURN_IF_ERROR(src.ReadAt(index_offset, hb, sizeof(hb)));
  ChunkHeader h;
  s = ParseChunkHeader(hb, &h);
  if (!s.ok() || h.kind != kChunkIndex ||
      index_offset + kChunkHeaderSize + h.stored_size + kTrailerSize != *size)
    return Status::Corruption(At(src.name(), index_offset) + ": footer index is damaged")
        .WithLocation(src.name(), index_offset);
  std::vector<uint8_t> stored(h.stored_size), raw(h.raw_size);
  ORDO_RETURN_IF_ERROR(src.ReadAt(index_offset + kChunkHeaderSize, stored.data(), stored.size()));
  if (CrcMismatch(h.payload_crc, Crc32c(0, stored.data(), stored.size())))
    return Status::Corruption(At(src.name(), index_offset) + ": footer index CRC32C mismatch")
        .WithLocation(src.name(), index_offset);
  size_t n = raw.size();
  if (h.flags & kChunkFlagZstd) {
    n = ZSTD_decompressDCtx(impl_->dctx, raw.data(), raw.size(), stored.data(), stored.size());
  } else {
    if (n > 0) std::memcpy(raw.data(), stored.data(), n);
  }
  if (ZSTD_isError(n) || n != raw.size())
    return Status::Corruption(At(src.name(), index_offset) + ": footer index does not decompress")
        .WithLocation(src.name(), index_offset);
  TraceSummary summary;
  s = DecodeIndex(raw.data(), raw.size(), &summary);
  if (!s.ok()) return s.WithContext(At(src.name(), index_offset));
  return summary;
}

}  // namespace ordo::trace
