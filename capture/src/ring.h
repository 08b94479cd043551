// The BPF ring buffer of capture's events, read in place by the loader.
#pragma once

#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "bpf_util.h"
#include "ordo/status.h"

namespace ordo::capture {

// The BPF ring buffer, read in place. libbpf's consumer (1.1) publishes its
// position after every record; the kernel reads that position on every
// reserve, so while the consumer drains, each event's reserve on the traced
// CPU misses in cache on a line the consumer just wrote. This consumer
// publishes once per batch (and every quarter of the ring, so a small ring
// frees room as it drains).
class Ring {
 public:
  ~Ring() {
    if (consumer_ != MAP_FAILED) munmap(consumer_, page_);
    if (producer_ != MAP_FAILED) munmap(producer_, page_ + 2 * size_);
  }

  // Maps the ring of `map_fd`, `size` bytes of data (a power of two).
  Status Open(int map_fd, size_t size) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = size;
    consumer_ = mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (consumer_ == MAP_FAILED) return BpfError("map the ring buffer", errno);
    // The data pages are mapped twice in a row: a record that wraps around
    // the end reads as one piece.
    producer_ =
        mmap(nullptr, page_ + 2 * size_, PROT_READ, MAP_SHARED, map_fd, static_cast<off_t>(page_));
    if (producer_ == MAP_FAILED) return BpfError("map the ring buffer", errno);
    data_ = static_cast<const uint8_t*>(producer_) + page_;
    return Status::Ok();
  }

  // Hands every committed record to `fn(data, size)` in order, until the ring
  // is empty, a record is still being written, or fn returns < 0 (returned,
  // after the record is consumed). Otherwise returns the count of records.
  template <class Fn>
  int Consume(Fn&& fn) {
    auto* cpos = static_cast<uint64_t*>(consumer_);
    const auto* ppos = static_cast<const uint64_t*>(producer_);
    uint64_t cons = __atomic_load_n(cpos, __ATOMIC_ACQUIRE);
    uint64_t published = cons;
    const uint64_t mask = size_ - 1, every = size_ / 4;
    int count = 0, ret = 0;
    for (bool more = true; more && ret >= 0;) {
      more = false;
      uint64_t prod = __atomic_load_n(ppos, __ATOMIC_ACQUIRE);
      while (cons < prod) {
        const uint8_t* rec = data_ + (cons & mask);
        uint32_t len = __atomic_load_n(reinterpret_cast<const uint32_t*>(rec), __ATOMIC_ACQUIRE);
        if (len & BPF_RINGBUF_BUSY_BIT) {
          prod = cons;  // not committed yet: the rest waits for the next drain
          break;
        }
        more = true;
        uint32_t body = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
        cons += (static_cast<uint64_t>(body) + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
        if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
          ++count;
          ret = fn(rec + BPF_RINGBUF_HDR_SZ, body);
          if (ret < 0) break;
        }
        if (cons - published >= every) {
          __atomic_store_n(cpos, cons, __ATOMIC_RELEASE);
          published = cons;
        }
      }
      if (prod == cons && !more) break;
    }
    if (cons != published) __atomic_store_n(cpos, cons, __ATOMIC_RELEASE);
    return ret < 0 ? ret : count;
  }

 private:
  size_t page_ = 0;
  size_t size_ = 0;
  void* consumer_ = MAP_FAILED;
  void* producer_ = MAP_FAILED;
  const uint8_t* data_ = nullptr;
};

}  // namespace ordo::capture
