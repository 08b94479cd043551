// The engine's background threads: prefetch workers that read ahead of
// sequential (also misaligned) bursts, and compaction that relocates live
// blocks out of sealed segments.
#include <fmt/core.h>

#include "engine_impl.h"
#include "ordo/crc32c.h"

namespace ordo::engine {

void Engine::Impl::StartBackground() {
  for (int i = 0; i < options.prefetch_workers; ++i) {
    threads.push_back(host->spawn(
        host->ctx, fmt::format("prefetch-{}", i).c_str(),
        [](void* e) { static_cast<Impl*>(e)->PrefetchWorker(); }, this));
  }
  if (options.compaction) {
    threads.push_back(host->spawn(
        host->ctx, "compaction", [](void* e) { static_cast<Impl*>(e)->CompactionThread(); }, this));
    if (own_host != nullptr && options.compaction_interval_ms > 0)
      timer = std::thread([this] { Timer(); });
  }
}

void Engine::Impl::StopBackground() {
  if (timer.joinable()) {
    {
      std::lock_guard<std::mutex> lock(timer_mu);
      timer_stop = true;
    }
    timer_cv.notify_all();
    timer.join();
  }
  queue_mu.lock();
  stopping = true;
  queue_mu.unlock();
  queue_mu.NotifyAll();
  for (int t : threads) host->join(host->ctx, t);
  threads.clear();
}

void Engine::Impl::Timer() {
  std::unique_lock<std::mutex> lock(timer_mu);
  while (!timer_cv.wait_for(lock, std::chrono::milliseconds(options.compaction_interval_ms),
                            [this] { return timer_stop; })) {
    lock.unlock();
    ++outstanding;
    queue_mu.lock();
    compaction_requested = true;
    ++compaction_requests;
    queue_mu.unlock();
    queue_mu.NotifyAll();
    lock.lock();
  }
}

void Engine::Impl::Done(int units) {
  outstanding -= units;
  queue_mu.NotifyAll();
}

void Engine::Impl::NoteSequential(FileState& f, uint64_t offset, uint64_t length) {
  const uint64_t bs = options.block_size;
  std::vector<uint64_t> wanted;
  {
    std::lock_guard<std::mutex> lock(f.mu);
    f.run = offset == f.last_end ? f.run + 1 : 1;
    f.last_end = offset + length;
    if (f.run < options.prefetch_trigger || options.prefetch_workers == 0 || length == 0) return;
    uint64_t last = (offset + length - 1) / bs;
    for (uint64_t b = last + 1; b <= last + options.prefetch_depth && b * bs < f.size.load(); ++b) {
      wanted.push_back(b);
    }
  }
  for (uint64_t b : wanted) {
    const uint64_t key = BlockKey(f.id, b);
    BlockMeta* meta = FindBlock(f.id, b);
    if (meta == nullptr || meta->version.load() == 0 || cache.Contains(key)) continue;
    queue_mu.lock();
    bool fresh = prefetch_in_flight.insert(key).second;
    queue_mu.unlock();
    if (!fresh) continue;
    ORDO_POINT(points, kPrefetchIssue, key, 0);
    ++counters.prefetch_issued;
    ++outstanding;
    queue_mu.lock();
    prefetch_queue.push_back(key);
    queue_mu.unlock();
    queue_mu.NotifyAll();
  }
}

void Engine::Impl::PrefetchWorker() {
  ORDO_POINT(points, kThreadStart, 0, 1);
  for (;;) {
    queue_mu.lock();
    queue_mu.Wait([this] { return stopping.load() || !prefetch_queue.empty(); });
    if (prefetch_queue.empty()) {  // stopping
      queue_mu.unlock();
      break;
    }
    uint64_t key = prefetch_queue.front();
    prefetch_queue.pop_front();
    queue_mu.unlock();
    PrefetchOne(key);
    queue_mu.lock();
    prefetch_in_flight.erase(key);
    queue_mu.unlock();
    Done(1);
  }
  ORDO_POINT(points, kThreadExit, 0, 1);
}

// Legacy fills and marks clean without looking at the block's write lock and
// inserts whatever it read (FPRE004-A). Fixed takes the lock (skipping the
// block if a write holds it) and inserts only a copy of the current version.
void Engine::Impl::PrefetchOne(uint64_t key) {
  BlockMeta* meta = FindBlock(BlockFile(key), BlockIndex(key));
  if (meta == nullptr) return;
  const bool fixed = options.mode == EngineMode::kFixed;
  if (fixed) {
    if (!meta->lock.try_lock()) {
      ++counters.prefetch_skipped;
      return;
    }
    ORDO_POINT(points, kBlockLock, key, kLockByPrefetch);
  }
  ORDO_POINT(points, kPrefetchFill, key, 0);
  uint64_t version = meta->version.load();
  auto buffer = std::make_shared<Buffer>();
  buffer->data.assign(options.block_size, '\0');
  BlockVersion v = Unpack(version);
  bool good = version != 0 && store->ReadBlock(v, buffer->data.data()).ok() &&
              Crc32c(0, buffer->data.data(), buffer->data.size()) == v.crc;
  if (good) {
    ORDO_POINT(points, kPrefetchMarkClean, key, 0);
    if (fixed) {
      cache.PutIfCurrent(key, *meta, version, std::move(buffer));
    } else {
      cache.Put(key, std::move(buffer));
    }
    ++counters.prefetch_filled;
  }
  if (fixed) {
    ORDO_POINT(points, kBlockUnlock, key, kLockByPrefetch);
    meta->lock.unlock();
  }
}

void Engine::RequestCompaction() { RequestCompaction({}, ~0ull); }

void Engine::RequestCompaction(std::string_view file, uint64_t block) {
  Impl& e = *impl_;
  uint64_t key = 0;
  if (block != ~0ull) {
    FileState* f = e.FindFile(file);
    if (f == nullptr) return;
    key = BlockKey(f->id, block);
  }
  ++e.outstanding;
  e.queue_mu.lock();
  if (block != ~0ull) e.compaction_targets.push_back(key);
  e.compaction_requested = true;
  ++e.compaction_requests;
  e.queue_mu.unlock();
  e.queue_mu.NotifyAll();
}

void Engine::Quiesce() {
  Impl& e = *impl_;
  e.queue_mu.lock();
  e.queue_mu.Wait([&e] { return e.outstanding.load() == 0; });
  e.queue_mu.unlock();
}

void Engine::Impl::CompactionThread() {
  ORDO_POINT(points, kThreadStart, 0, 2);
  for (;;) {
    queue_mu.lock();
    queue_mu.Wait([this] { return stopping.load() || compaction_requested.load(); });
    queue_mu.unlock();
    if (stopping) break;
    queue_mu.lock();
    std::vector<uint64_t> targets;
    targets.swap(compaction_targets);
    compaction_requested = false;
    int requests = compaction_requests;
    compaction_requests = 0;
    queue_mu.unlock();
    if (!targets.empty()) {
      for (uint64_t key : targets) {
        BlockMeta* meta = FindBlock(BlockFile(key), BlockIndex(key));
        uint32_t seg = meta ? Unpack(meta->version.load()).seg : 0;
        if (meta != nullptr && meta->version.load() != 0) (void)RelocateBlock(*meta);
        if (seg != 0 && store->LiveBlocks(seg) == 0 && store->Sync().ok() &&
            store->DropSegment(seg).ok()) {
          ++counters.segments_dropped;
        }
      }
    } else {
      uint32_t seg = 0;
      if (store->PickVictim(&seg)) (void)CompactSegment(seg);
    }
    Done(requests);
  }
  ORDO_POINT(points, kThreadExit, 0, 2);
}

Status Engine::Impl::CompactSegment(uint32_t seg) {
  std::vector<BlockMeta*> live;
  {
    std::lock_guard<std::mutex> lock(table_mu);
    for (auto& [key, m] : blocks) {
      uint64_t v = m->version.load();
      if (v != 0 && Unpack(v).seg == seg) live.push_back(m.get());
    }
  }
  for (BlockMeta* m : live) ORDO_RETURN_IF_ERROR(RelocateBlock(*m));
  if (store->LiveBlocks(seg) == 0) {
    ORDO_RETURN_IF_ERROR(store->Sync());
    ORDO_RETURN_IF_ERROR(store->DropSegment(seg));
    ++counters.segments_dropped;
  }
  return Status::Ok();
}

// Moves one block to a fresh slot. Between "last write pending" and "cache
// ready" the block's metadata says: being moved, cached copy not ready.
Status Engine::Impl::RelocateBlock(BlockMeta& meta) {
  if (!meta.lock.try_lock()) return Status::Ok();  // a write holds it: next round
  const uint64_t key = BlockKey(meta.file, meta.block);
  ORDO_POINT(points, kBlockLock, key, kLockByCompaction);
  uint64_t old = meta.version.load();
  BlockVersion from = Unpack(old);
  ORDO_POINT(points, kCompactBegin, key, from.seg);
  meta.gen.fetch_add(1);
  ORDO_POINT(points, kCompactLastWritePending, key, 0);
  meta.pending = true;
  meta.ready = false;
  std::string data(options.block_size, '\0');
  Status s = store->ReadBlock(from, data.data());
  if (s.ok() && Crc32c(0, data.data(), data.size()) != from.crc) {
    s = Status::IoError(fmt::format("compaction: block {} fails its checksum on disk", meta.block));
  }
  Result<BlockVersion> to = s.ok() ? store->WriteBlock(meta.file, meta.block, data.data(), &from)
                                   : Result<BlockVersion>(s);
  if (to.ok()) {
    cache.Publish(key, meta, Pack(to.value()), nullptr, false);
    ++counters.blocks_relocated;
  }
  ORDO_POINT(points, kCompactCacheReady, key, 0);
  meta.ready = true;
  meta.pending = false;
  meta.gen.fetch_add(1);
  ORDO_POINT(points, kCompactEnd, key, to.ok() ? to.value().seg : 0);
  ORDO_POINT(points, kBlockUnlock, key, kLockByCompaction);
  meta.lock.unlock();
  return to.ok() ? Status::Ok() : to.status();
}

}  // namespace ordo::engine
