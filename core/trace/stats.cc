#include "ordo/trace/stats.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace ordo::trace {

bool MisalignedSpanningRead(uint64_t offset, uint64_t length, uint64_t block_size) {
  const bool spans = offset / block_size != (offset + length - 1) / block_size;
  return offset % block_size != 0 && spans;
}

std::string TraceStats::EventName(uint16_t kind) const {
  auto it = site_names.find(kind);
  return it != site_names.end() ? it->second : EngineEventKindName(kind);
}

StatsBuilder::StatsBuilder(uint64_t block_size) {
  assert(block_size > 0);
  stats_.block_size = block_size;
}

void StatsBuilder::AddIo(const IoRecord& io) {
  const uint64_t bs = stats_.block_size;
  OpStats& s = stats_.ops[static_cast<size_t>(io.op)];
  ++s.count;
  s.bytes += io.result > 0 ? static_cast<uint64_t>(io.result) : 0;
  if (io.result < 0) ++s.errors;
  ++stats_.per_thread[io.tid];
  const bool is_read = IsReadOp(io.op);
  if (!(is_read || IsWriteOp(io.op)) || io.length == 0) return;
  ++stats_.reads_writes;
  auto& size_log2 = stats_.size_log2;
  ++size_log2[std::min<size_t>(std::bit_width(io.length), size_log2.size() - 1)];
  if (io.offset % bs == 0 && io.length % bs == 0) ++stats_.block_aligned;
  if (is_read) {
    ++stats_.reads;
    if (MisalignedSpanningRead(io.offset, io.length, bs)) ++stats_.misaligned_spanning_reads;
  }
}

void StatsBuilder::Add(const Record& rec) {
  if (rec.kind == RecordKind::kIo) {
    AddIo(rec.io);
  } else if (rec.kind == RecordKind::kSite && rec.site.site < 0x8000 &&
             stats_.site_names.size() < 0x8000) {
    stats_.site_names[static_cast<uint16_t>(kSiteEventBase + rec.site.site)] =
        PrintableSiteName(rec.site.name);
  } else if (rec.kind == RecordKind::kEngine) {
    ++stats_.engine_kinds[rec.engine.kind];
    ++stats_.per_thread[rec.engine.tid];
  }
}

}  // namespace ordo::trace
