// What a block key means in engine events and focus: (file id << 32) | block
// index. The one place that packs or splits it.
#pragma once

#include <cstdint>

namespace ordo::engine {

// What a block key means in engine events: (file id << 32) | block index.
inline uint64_t BlockKey(uint32_t file, uint64_t block) { return (uint64_t{file} << 32) | block; }
inline uint32_t BlockFile(uint64_t key) { return static_cast<uint32_t>(key >> 32); }
inline uint32_t BlockIndex(uint64_t key) { return static_cast<uint32_t>(key & 0xffffffffu); }

}  // namespace ordo::engine
