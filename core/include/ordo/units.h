// Sizes and durations as people write them on a command line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ordo/status.h"

namespace ordo {

// "4096", "64K", "64M", "1G", "1GiB", "512KB": binary multiples (K = 1024).
Result<uint64_t> ParseSize(std::string_view text);
// "30s", "500ms", "250us", "100ns", "2m", "1h"; a bare number is seconds.
// Returns nanoseconds.
Result<uint64_t> ParseDuration(std::string_view text);
// 1536 -> "1.5 KiB".
std::string FormatBytes(uint64_t bytes);
// 1500000 ns -> "1.50 ms".
std::string FormatDuration(uint64_t ns);

}  // namespace ordo
