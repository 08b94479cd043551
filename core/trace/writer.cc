#include "ordo/trace/writer.h"

#include <zstd.h>

#include <algorithm>
#include <vector>

#include "chunk_codec.h"
#include "container.h"
#include "ordo/crc32c.h"

namespace ordo::trace {

struct TraceWriter::Impl {
  std::unique_ptr<ByteSink> sink;
  WriterOptions options;
  uint32_t tick_ns = 1;
  ChunkEncoder encoder{1};
  SummaryBuilder summary;
  std::vector<IndexEntry> index;
  std::string raw;
  std::string stored;
  ZSTD_CCtx* cctx = nullptr;
  uint64_t offset = 0;
  // Until the chunk has this many records its raw size cannot reach
  // max_chunk_raw_bytes through I/O and engine records alone (each adds at
  // most kMaxHotRecordBytes), so Add need not sum the streams before then.
  uint32_t size_check_at = 0;
  bool closed = false;
  Status failed;  // sticky: after a write error every call returns it

  ~Impl() { ZSTD_freeCCtx(cctx); }

  Status Emit(const std::string& bytes) {
    Status s = sink->Write(bytes.data(), bytes.size());
    if (!s.ok()) failed = s;
    offset += bytes.size();
    return s;
  }

  // Compresses `raw` and writes it as one chunk of `kind`.
  Status WriteChunk(uint8_t kind, uint32_t records, uint64_t first_ticks) {
    stored.resize(ZSTD_compressBound(raw.size()));
    size_t n = ZSTD_compress2(cctx, stored.data(), stored.size(), raw.data(), raw.size());
    if (ZSTD_isError(n)) {
      failed = Status::IoError(sink->name() + ": zstd: " + ZSTD_getErrorName(n));
      return failed;
    }
    stored.resize(n);
    ChunkHeader h;
    h.kind = kind;
    h.flags = kChunkFlagZstd;
    h.stored_size = static_cast<uint32_t>(stored.size());
    h.raw_size = static_cast<uint32_t>(raw.size());
    h.records = records;
    h.first_ticks = first_ticks;
    h.payload_crc = Crc32c(0, stored.data(), stored.size());
    ORDO_RETURN_IF_ERROR(Emit(EncodeChunkHeader(h)));
    return Emit(stored);
  }

  Status EndChunk() {
    if (encoder.records() == 0) return Status::Ok();
    IndexEntry entry{offset, encoder.first_ticks(), encoder.records()};
    raw.clear();
    encoder.Finish(&raw);
    size_check_at = 0;
    ORDO_RETURN_IF_ERROR(WriteChunk(kChunkRecords, entry.records, entry.first_ticks));
    index.push_back(entry);
    summary.AddChunk();
    return Status::Ok();
  }
};

TraceWriter::TraceWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// A writer dropped without Close() was abandoned (an error on the way): no
// footer is written, so nothing makes a partial trace look complete, and a
// file sink leaves the old file as it was.
TraceWriter::~TraceWriter() = default;

Result<std::unique_ptr<TraceWriter>> TraceWriter::Create(const std::string& path,
                                                         const TraceHeader& header,
                                                         const WriterOptions& options) {
  auto sink = CreateSink(path, options.file_mode);
  if (!sink.ok()) return sink.status();
  return Create(std::move(sink).value(), header, options);
}

Result<std::unique_ptr<TraceWriter>> TraceWriter::Create(std::unique_ptr<ByteSink> sink,
                                                         const TraceHeader& header,
                                                         const WriterOptions& options) {
  if (header.tick_ns == 0) return Status::InvalidArgument("trace header: tick_ns must be > 0");
  if (options.zstd_level < 1 || options.zstd_level > 22)
    return Status::InvalidArgument("zstd level must be 1..22");
  auto impl = std::make_unique<Impl>();
  impl->sink = std::move(sink);
  impl->options = options;
  impl->tick_ns = header.tick_ns;
  impl->encoder = ChunkEncoder(header.tick_ns);
  impl->cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_compressionLevel, options.zstd_level);
  ORDO_RETURN_IF_ERROR(impl->Emit(EncodeFileHeader(header)));
  return std::unique_ptr<TraceWriter>(new TraceWriter(std::move(impl)));
}

Status TraceWriter::Add(const Record& record) {
  Impl& w = *impl_;
  if (!w.failed.ok()) return w.failed;
  if (w.closed) return Status::InvalidArgument(w.sink->name() + ": trace already closed");
  w.encoder.Add(record);
  w.summary.Add(record);
  uint32_t records = w.encoder.records();
  if (records >= w.options.max_chunk_records) return w.EndChunk();
  bool hot = record.kind == RecordKind::kIo || record.kind == RecordKind::kEngine;
  if (hot && records < w.size_check_at) return Status::Ok();
  // The same chunk boundaries as summing the streams after every record.
  size_t bytes = w.encoder.raw_bytes();
  if (bytes >= w.options.max_chunk_raw_bytes) return w.EndChunk();
  w.size_check_at =
      records + static_cast<uint32_t>(std::min<size_t>(
                    (w.options.max_chunk_raw_bytes - bytes - 1) / kMaxHotRecordBytes, 1u << 30));
  return Status::Ok();
}

Status TraceWriter::Flush(bool sync) {
  Impl& w = *impl_;
  if (!w.failed.ok()) return w.failed;
  ORDO_RETURN_IF_ERROR(w.EndChunk());
  return sync ? w.sink->Sync() : Status::Ok();
}

Status TraceWriter::Close() {
  Impl& w = *impl_;
  if (w.closed) return w.failed;
  w.closed = true;
  if (!w.failed.ok()) return w.failed;
  ORDO_RETURN_IF_ERROR(w.EndChunk());
  uint64_t index_offset = w.offset;
  w.raw = EncodeIndex(w.summary.summary(), w.index);
  ORDO_RETURN_IF_ERROR(w.WriteChunk(kChunkIndex, 0, 0));
  ORDO_RETURN_IF_ERROR(w.Emit(EncodeTrailer(index_offset)));
  Status s = w.sink->Commit();
  if (!s.ok()) w.failed = s;
  return s;
}

const TraceSummary& TraceWriter::summary() const { return impl_->summary.summary(); }
uint64_t TraceWriter::bytes_written() const { return impl_->offset; }

}  // namespace ordo::trace
