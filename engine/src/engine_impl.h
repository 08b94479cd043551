// The engine's internal state, shared by the request path (engine.cc) and the
// background threads (background.cc).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "block_store.h"
#include "host.h"
#include "ordering_point.h"
#include "ordo/engine/engine.h"

namespace ordo::engine {

// Per-block metadata. `version` is published under the cache mutex together
// with any cached buffer, so a reader sees a matching pair. `pending` ("last
// write pending") and `ready` ("cache ready") are the two states compaction
// passes through; `gen` is odd while compaction moves the block.
struct FileState;

// Who takes a block's lock: the arg of its kBlockLock and kBlockUnlock points
// (shown in histories; the rules read only the access kinds).
enum LockHolder : uint64_t { kLockByWrite = 0, kLockByPrefetch = 1, kLockByCompaction = 2 };

struct BlockMeta {
  explicit BlockMeta(const ordo_host* h) : lock(h) {}
  const FileState* owner = nullptr;
  uint32_t file = 0;
  uint64_t block = 0;
  std::atomic<uint64_t> version{0};  // Pack(BlockVersion); 0 = never written
  std::atomic<bool> pending{false};
  std::atomic<bool> ready{true};
  std::atomic<uint32_t> gen{0};
  HostMutex lock;  // the transient per-block write lock
};

// A cached copy of a block's bytes.
struct Buffer {
  std::string data;
};

// LRU of buffers by block key. Every method takes `mu`.
class BufferCache {
 public:
  explicit BufferCache(size_t capacity) : capacity_(capacity) {}
  // The buffer and the block's version read together (under the cache mutex).
  std::shared_ptr<const Buffer> Get(uint64_t key, const BlockMeta& meta, uint64_t* version);
  bool Contains(uint64_t key);
  // Inserts unconditionally (legacy prefetch: no check that `version` is current).
  void Put(uint64_t key, std::shared_ptr<const Buffer> buffer);
  // Inserts only if the block is still at `version` (demand reads, fixed prefetch).
  bool PutIfCurrent(uint64_t key, const BlockMeta& meta, uint64_t version,
                    std::shared_ptr<const Buffer> buffer);
  // Sets the block's version and, if `replace_cached`, replaces a cached copy.
  void Publish(uint64_t key, BlockMeta& meta, uint64_t version,
               std::shared_ptr<const Buffer> buffer, bool replace_cached);

 private:
  void Insert(uint64_t key, std::shared_ptr<const Buffer> buffer);
  std::mutex mu_;
  size_t capacity_;
  std::list<uint64_t> lru_;  // front = most recent
  struct Entry {
    std::shared_ptr<const Buffer> buffer;
    std::list<uint64_t>::iterator pos;
  };
  std::unordered_map<uint64_t, Entry> map_;
};

struct FileState {
  uint32_t id = 0;
  std::string name;
  std::atomic<uint64_t> size{0};
  std::mutex mu;  // size changes and the sequential-read detector
  uint64_t last_end = ~0ull;
  uint32_t run = 0;
};

struct Engine::Impl {
  Impl(const EngineOptions& o, std::unique_ptr<FreeHost> own, const ordo_host* h)
      : options(o), own_host(std::move(own)), host(h), cache(o.cache_blocks), queue_mu(h) {}

  EngineOptions options;
  std::unique_ptr<FreeHost> own_host;  // when options.host is null
  const ordo_host* host;
  OrderingPoints points;
  std::unique_ptr<BlockStore> store;
  BufferCache cache;

  std::mutex table_mu;  // files and block metadata maps
  std::unordered_map<std::string, std::unique_ptr<FileState>> files;
  std::vector<FileState*> files_by_id{nullptr};
  std::unordered_map<uint64_t, std::unique_ptr<BlockMeta>> blocks;

  // Prefetch queue and compaction requests; its waiters also wait for
  // `outstanding` to drop (Quiesce).
  HostMutex queue_mu;
  std::deque<uint64_t> prefetch_queue;
  std::set<uint64_t> prefetch_in_flight;
  int prefetch_busy = 0;
  std::atomic<bool> compaction_requested{false};
  std::vector<uint64_t> compaction_targets;  // block keys; empty: pick a victim segment
  int compaction_requests = 0;               // RequestCompaction calls not yet served
  std::atomic<bool> stopping{false};
  std::atomic<int> outstanding{0};  // queued or running prefetch and compaction work
  std::vector<int> threads;         // host handles of background threads
  // The compaction timer (engine's own host only): a thread that is not the
  // host's, asking for compaction every options.compaction_interval_ms.
  std::thread timer;
  std::mutex timer_mu;
  std::condition_variable timer_cv;
  bool timer_stop = false;

  struct Counters {
    std::atomic<uint64_t> reads{0}, writes{0}, fsyncs{0}, cache_hits{0}, cache_misses{0},
        prefetch_issued{0}, prefetch_filled{0}, prefetch_skipped{0}, blocks_relocated{0},
        segments_dropped{0}, verify_failures{0};
  } counters;
  bool closed = false;

  BlockMeta* FindBlock(uint32_t file, uint64_t block);
  BlockMeta* GetOrCreateBlock(uint32_t file, uint64_t block);
  FileState* FindFile(std::string_view name);
  Result<FileState*> GetOrCreateFile(std::string_view name);

  // Request path (engine.cc).
  Status ReadBlock(FileState& f, uint64_t block, char* out);
  Status VerifyServed(BlockMeta& meta, const Buffer& buffer, uint64_t version);
  Status WriteBlock(FileState& f, uint64_t block, uint32_t offset_in_block, std::string_view data);
  void NoteSequential(FileState& f, uint64_t offset, uint64_t length);

  // Background (background.cc).
  void StartBackground();
  void StopBackground();
  void PrefetchWorker();
  void PrefetchOne(uint64_t key);
  void CompactionThread();
  void Timer();
  // Ends one unit of background work (wakes Quiesce).
  void Done(int units);
  Status CompactSegment(uint32_t seg);
  Status RelocateBlock(BlockMeta& meta);
};

}  // namespace ordo::engine
