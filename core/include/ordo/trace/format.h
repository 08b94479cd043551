// On-disk constants of the .ordo trace format. docs/trace-format.md is the
// normative prose; this header is the same layout as numbers.
//
//   file    := header chunk* index-chunk trailer
//   header  := magic(8) major(u16) minor(u16) body_len(u32) body crc32c(u32)
//   chunk   := chunk-header(36) payload
//   trailer := index_offset(u64) crc32c(u32, of index_offset) "OEND"(4)
//
// All integers are little-endian. Every chunk header and payload carries a
// CRC32C, so damage is found at the chunk where it happened.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ordo::trace {

// "\x89ORDO\r\n\x1a": the high byte and CR/LF/^Z catch text-mode mangling.
inline constexpr unsigned char kFileMagic[8] = {0x89, 'O', 'R', 'D', 'O', '\r', '\n', 0x1a};
inline constexpr uint16_t kFormatMajor = 1;
inline constexpr uint16_t kFormatMinor = 0;
inline constexpr size_t kFileHeaderFixedSize = 16;  // magic + major + minor + body_len
inline constexpr uint32_t kMaxHeaderBody = 64 * 1024;

// Header body fields: TLV (varint tag, varint length, bytes). Readers skip
// tags they do not know.
enum HeaderTag : uint32_t {
  kTagToolVersion = 1,
  kTagHost = 2,
  kTagKernel = 3,
  kTagClock = 4,
  kTagStartRealtimeNs = 5,
  kTagTickNs = 6,
  kTagFilters = 7,
  kTagKind = 8,
  kTagSource = 9,
};

inline constexpr uint32_t kChunkMagic = 0x4b48434f;  // "OCHK" little-endian
inline constexpr size_t kChunkHeaderSize = 36;
// Offsets inside the 36-byte chunk header.
inline constexpr size_t kChunkMagicOff = 0;        // u32
inline constexpr size_t kChunkKindOff = 4;         // u8
inline constexpr size_t kChunkFlagsOff = 5;        // u8
inline constexpr size_t kChunkReservedOff = 6;     // u16, zero
inline constexpr size_t kChunkStoredOff = 8;       // u32 stored payload bytes
inline constexpr size_t kChunkRawOff = 12;         // u32 decoded payload bytes
inline constexpr size_t kChunkCountOff = 16;       // u32 records in the chunk
inline constexpr size_t kChunkFirstTsOff = 20;     // u64 first timestamp, ticks
inline constexpr size_t kChunkPayloadCrcOff = 28;  // u32 crc32c of stored payload
inline constexpr size_t kChunkHeaderCrcOff = 32;   // u32 crc32c of bytes [0, 32)

enum ChunkKind : uint8_t { kChunkRecords = 1, kChunkIndex = 2 };
inline constexpr uint8_t kChunkFlagZstd = 0x01;  // payload is one zstd frame
// A reader refuses chunks that declare more than this (a damaged size field
// must not make it allocate gigabytes).
inline constexpr uint32_t kMaxChunkBytes = 64u << 20;

inline constexpr uint32_t kTrailerMagic = 0x444e454f;  // "OEND" little-endian
inline constexpr size_t kTrailerSize = 16;

// Records-chunk payload: five streams, lengths of the first four as varints
// up front, the fifth (meta) runs to the end.
enum Stream : int { kCtrl = 0, kTime = 1, kOffset = 2, kSize = 3, kMeta = 4, kStreamCount = 5 };

// Record tag byte: low 3 bits kind, high 5 bits kind-specific flags.
inline constexpr uint8_t kTagKindMask = 0x07;
inline constexpr uint8_t kTagExtended = 7;  // varint kind + varint length + body in meta
// Extended record kinds known to this build.
inline constexpr uint64_t kExtendedSite = 1;  // site table entry (format 1.1)
// I/O record flags: field present (otherwise predicted from the thread's state).
inline constexpr uint8_t kIoHasOp = 0x08;
inline constexpr uint8_t kIoHasFile = 0x10;
inline constexpr uint8_t kIoHasOffset = 0x20;
inline constexpr uint8_t kIoHasLength = 0x40;
inline constexpr uint8_t kIoHasResult = 0x80;
// Engine record flags.
inline constexpr uint8_t kEngHasBlock = 0x08;
inline constexpr uint8_t kEngHasArg = 0x10;
inline constexpr uint8_t kEngHasSeq = 0x20;
inline constexpr uint8_t kEngHasWall = 0x40;
inline constexpr uint8_t kEngReserved = 0x80;  // must be zero in 1.x
// File record flags (in the meta stream).
inline constexpr uint8_t kFilePathIsHash = 0x01;

// Limits that keep a hostile file from exhausting memory.
inline constexpr uint32_t kMaxThreadSlotsPerChunk = 1 << 16;
inline constexpr uint32_t kMaxStringBytes = 1 << 16;

}  // namespace ordo::trace
