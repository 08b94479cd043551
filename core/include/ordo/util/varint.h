// LEB128 varints and zigzag, the integer encoding of every .ordo stream.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace ordo::trace {

// Prefix varints: the count of trailing one bits in the first byte is the
// number of bytes that follow it (0..7); the value sits above that tag, little
// endian. 0xff introduces a full 8-byte value. A decoder reads the length from
// one byte and the value with one load and two shifts.
//   0..127         -> 1 byte:  v << 1
//   ..2^14-1       -> 2 bytes: (v << 2) | 0b1
//   ..2^56-1       -> n bytes: (v << n) | (2^(n-1) - 1)
//   larger         -> 0xff, then 8 bytes of v
inline void PutVarint(std::string* out, uint64_t v) {
  if (v < (1ull << 56)) {
    int bits = 64 - __builtin_clzll(v | 1);
    int n = (bits + 6) / 7;
    uint64_t w = (v << n) | ((1ull << (n - 1)) - 1);
    char buf[8];
    std::memcpy(buf, &w, 8);
    out->append(buf, static_cast<size_t>(n));
  } else {
    char buf[9];
    buf[0] = static_cast<char>(0xff);
    std::memcpy(buf + 1, &v, 8);
    out->append(buf, 9);
  }
}

// The same encoding written at `p`, which must have 9 bytes of room (the
// bytes past the value's end may be overwritten). Returns the end.
inline char* PutVarint(char* p, uint64_t v) {
  if (v < (1ull << 56)) {
    int bits = 64 - __builtin_clzll(v | 1);
    int n = (bits + 6) / 7;
    uint64_t w = (v << n) | ((1ull << (n - 1)) - 1);
    std::memcpy(p, &w, 8);
    return p + n;
  }
  *p = static_cast<char>(0xff);
  std::memcpy(p + 1, &v, 8);
  return p + 9;
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
    if (p < end) {
      uint8_t b = *p;
      if ((b & 1) == 0) {  // most fields fit one byte
        ++p;
        return b >> 1;
      }
      if (end - p >= 8 && b != 0xff) {
        int n = __builtin_ctz(~static_cast<uint32_t>(b)) + 1;  // 2..8 bytes
        uint64_t w;
        std::memcpy(&w, p, 8);
        p += n;
        return (w << (64 - 8 * n)) >> (64 - 7 * n);
      }
    }
    return VarintSlow();
  }
  // Near the end of a stream, and 9-byte values.
  uint64_t VarintSlow() {
    if (p >= end) {
      failed = true;
      return 0;
    }
    uint8_t b = *p;
    int n = b == 0xff ? 9 : __builtin_ctz(~static_cast<uint32_t>(b)) + 1;
    if (end - p < n) {
      failed = true;
      p = end;
      return 0;
    }
    uint64_t v = 0;
    if (n == 9) {
      std::memcpy(&v, p + 1, 8);
    } else {
      for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
      v >>= n;
    }
    p += n;
    return v;
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
