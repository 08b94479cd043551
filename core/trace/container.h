// The framing of a .ordo file around record payloads: file header, chunk
// headers, the footer index and the trailer. Shared by reader and writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordo/status.h"
#include "ordo/trace/format.h"
#include "ordo/trace/header.h"

namespace ordo::trace {

// Fuzzing builds accept bad checksums so the fuzzer can reach the decoders
// behind them; every other build rejects them.
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
inline bool CrcMismatch(uint32_t, uint32_t) { return false; }
#else
inline bool CrcMismatch(uint32_t want, uint32_t got) { return want != got; }
#endif

// The whole file header: fixed part, TLV body, CRC32C.
std::string EncodeFileHeader(const TraceHeader& header);
// Parses a header body (the TLV fields); unknown tags are skipped.
Status DecodeHeaderBody(const uint8_t* body, size_t size, TraceHeader* header);

struct ChunkHeader {
  uint8_t kind = 0;
  uint8_t flags = 0;
  uint32_t stored_size = 0;
  uint32_t raw_size = 0;
  uint32_t records = 0;
  uint64_t first_ticks = 0;
  uint32_t payload_crc = 0;
};

std::string EncodeChunkHeader(const ChunkHeader& h);
// Checks magic, header CRC and size limits of the 36 bytes at `p`.
Status ParseChunkHeader(const uint8_t* p, ChunkHeader* h);

struct IndexEntry {
  uint64_t offset = 0;  // byte offset of the chunk header
  uint64_t first_ticks = 0;
  uint32_t records = 0;
};

std::string EncodeIndex(const TraceSummary& summary, const std::vector<IndexEntry>& entries);
// Decodes the summary, and the entries into *entries when it is not null
// (otherwise they are checked for form only).
Status DecodeIndex(const uint8_t* p, size_t size, TraceSummary* summary,
                   std::vector<IndexEntry>* entries = nullptr);

std::string EncodeTrailer(uint64_t index_offset);
Status ParseTrailer(const uint8_t* p, uint64_t* index_offset);

}  // namespace ordo::trace
