// CRC32C (Castagnoli), the checksum of .ordo chunks and of engine blocks.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ordo {

// Returns the CRC32C of data[0, n) continuing from `crc` (0 to start), so
// Crc32c(Crc32c(0, a), b) == Crc32c(0, a + b). Crc32c(0, "123456789") is 0xe3069283.
uint32_t Crc32c(uint32_t crc, const void* data, size_t n);

}  // namespace ordo
