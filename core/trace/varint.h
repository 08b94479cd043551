// LEB128 varints and zigzag, the integer encoding of every .ordo stream.
#pragma once

#include <cstdint>
#include <string>

namespace ordo::trace {

inline void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v));
  out->push_back(static_cast<char>(v >> 8));
}
inline void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline uint16_t GetU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t GetU64(const uint8_t* p) {
  return static_cast<uint64_t>(GetU32(p)) | (static_cast<uint64_t>(GetU32(p + 4)) << 32);
}

// A bounded cursor over one byte stream. Reads past the end or overlong
// varints set `failed` and return 0; callers check `failed` once per record.
struct ByteCursor {
  const uint8_t* p = nullptr;
  const uint8_t* end = nullptr;
  bool failed = false;

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) {
        failed = true;
        return 0;
      }
      uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    failed = true;
    return 0;
  }
  uint8_t Byte() {
    if (p >= end) {
      failed = true;
      return 0;
    }
    return *p++;
  }
  // Points *data at the next n bytes and skips them.
  bool Bytes(uint64_t n, const uint8_t** data) {
    if (static_cast<uint64_t>(end - p) < n) {
      failed = true;
      return false;
    }
    *data = p;
    p += n;
    return true;
  }
  bool empty() const { return p >= end; }
};

}  // namespace ordo::trace
