#include "ordo/crc32c.h"

#include <isa-l/crc.h>

namespace ordo {

// ISA-L's crc32_iscsi is CRC32C without the final inversion; it picks the
// hardware (SSE4.2/PCLMUL) path at run time.
uint32_t Crc32c(uint32_t crc, const void* data, size_t n) {
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  uint32_t state = ~crc;
  while (n > 0) {
    int step = n > (1u << 30) ? (1 << 30) : static_cast<int>(n);
    state = crc32_iscsi(p, step, state);
    p += step;
    n -= static_cast<size_t>(step);
  }
  return ~state;
}

}  // namespace ordo
