// The cache engine: logical files stored as fixed-size blocks with CRC32C
// checksums on disk, an LRU buffer cache, a prefetcher with worker threads, a
// write path with per-block transient locks, background compaction that
// relocates live blocks, read-verify on every read served, and a metadata
// journal recovered on open.
//
// It ships two sets of orderings. kLegacy keeps the two that produce FPRE004:
//  - A, stale clean: prefetch fills a buffer and marks it clean without
//    respecting a write's block lock, so a stale buffer is later served;
//  - B, verify order: read-verify checks "cache ready" before "last write
//    pending" and reports the inconsistent pair compaction briefly shows.
// kFixed (the default) closes both. Either way a read that fails
// verification returns StatusCode::kVerifyFailed naming FPRE004, the file,
// block and offset.
//
// Every step where order matters is an ordering point announced to the
// engine's host (ordo/engine_abi.h): under ordo it yields to the controlled
// scheduler and records a history event; on its own the engine fires the USDT
// probe ordo:point. The sites are trace::EngineKindSites().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/engine/block_key.h"
#include "ordo/engine_abi.h"
#include "ordo/status.h"

namespace ordo::engine {

enum class EngineMode { kLegacy, kFixed };
std::string_view EngineModeName(EngineMode mode);
bool ParseEngineMode(std::string_view name, EngineMode* mode);

struct EngineOptions {
  EngineMode mode = EngineMode::kFixed;
  uint32_t block_size = 4096;     // fixed when the directory is created
  uint32_t segment_blocks = 256;  // blocks per data segment file
  size_t cache_blocks = 4096;     // LRU capacity in blocks
  int prefetch_workers = 2;
  uint32_t prefetch_trigger = 2;  // sequential reads in a row that start a prefetch
  uint32_t prefetch_depth = 4;    // blocks read ahead
  // Background compaction: when asked (RequestCompaction), every
  // `compaction_every_writes` writes, and every `compaction_interval_ms` by a
  // timer thread of the engine's own, which only the engine's own host allows
  // (0: no timer; a host's threads are its own, and a timer is not one).
  bool compaction = true;
  uint32_t compaction_interval_ms = 50;
  // Also compact after every N writes (0: never). This is how a controlled
  // run, which has no timer, gets the background compaction production has.
  uint32_t compaction_every_writes = 0;
  // The host that owns the engine's threads, mutexes and ordering points
  // (ordo/engine_abi.h, minor >= 1); not owned, outlives the engine. Null:
  // a free-running host of the engine's own (pthreads; points fire USDT).
  const ordo_host* host = nullptr;
};

struct EngineStats {
  uint64_t reads = 0, writes = 0, fsyncs = 0;
  uint64_t cache_hits = 0, cache_misses = 0;
  uint64_t prefetch_issued = 0, prefetch_filled = 0, prefetch_skipped = 0;
  uint64_t blocks_relocated = 0, segments_dropped = 0;
  uint64_t verify_failures = 0;
};

class Engine {
 public:
  // Opens (creating if needed) the engine directory `dir`, recovering from
  // the journal: every fsynced write is intact, every block verifies.
  static Result<std::unique_ptr<Engine>> Open(const std::string& dir, const EngineOptions& options);
  ~Engine();  // Close()s if needed

  // Reads `length` bytes at `offset` of logical file `name` into *out (holes
  // and bytes past the end read as zero up to the file size). Every block
  // served is verified; a failure is kVerifyFailed ("FPRE004: ...").
  Status Read(std::string_view name, uint64_t offset, uint64_t length, std::string* out);
  // Writes `data` at `offset`, creating the file and extending it as needed.
  Status Write(std::string_view name, uint64_t offset, std::string_view data);
  // Makes every write to any file so far durable.
  Status Fsync(std::string_view name);
  // Logical size of a file; NotFound if it was never written.
  Result<uint64_t> Size(std::string_view name);
  // The block key (the object its ordering points name) of `offset` in
  // file `name`; 0 when the file does not exist.
  uint64_t BlockAt(std::string_view name, uint64_t offset);
  // Reads every live block from disk and checks it against its checksum; a
  // failure is kVerifyFailed with the file and offset as its location.
  Status VerifyDisk();

  // Asks the compaction thread to relocate the live blocks of the oldest
  // sealed segment (or of the segment holding `file`'s `block`, when given).
  void RequestCompaction();
  void RequestCompaction(std::string_view file, uint64_t block);
  // Waits until no prefetch or compaction work is queued.
  void Quiesce();

  // Stops the background threads, syncs and rewrites the journal compactly.
  Status Close();

  EngineStats stats() const;
  const EngineOptions& options() const;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordo::engine
