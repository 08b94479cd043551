#include "engine_impl.h"

namespace ordo::engine {

std::shared_ptr<const Buffer> BufferCache::Get(uint64_t key, const BlockMeta& meta,
                                               uint64_t* version) {
  std::lock_guard<std::mutex> lock(mu_);
  *version = meta.version.load();
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.pos);
  return it->second.buffer;
}

bool BufferCache::Contains(uint64_t key) {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.count(key) != 0;
}

void BufferCache::Insert(uint64_t key, std::shared_ptr<const Buffer> buffer) {
  auto it = map_.find(key);
  if (it != map_.end()) {
    it->second.buffer = std::move(buffer);
    lru_.splice(lru_.begin(), lru_, it->second.pos);
    return;
  }
  lru_.push_front(key);
  map_[key] = Entry{std::move(buffer), lru_.begin()};
  while (map_.size() > capacity_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
}

void BufferCache::Put(uint64_t key, std::shared_ptr<const Buffer> buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  Insert(key, std::move(buffer));
}

bool BufferCache::PutIfCurrent(uint64_t key, const BlockMeta& meta, uint64_t version,
                               std::shared_ptr<const Buffer> buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  if (meta.version.load() != version) return false;
  Insert(key, std::move(buffer));
  return true;
}

void BufferCache::Publish(uint64_t key, BlockMeta& meta, uint64_t version,
                          std::shared_ptr<const Buffer> buffer, bool replace_cached) {
  std::lock_guard<std::mutex> lock(mu_);
  meta.version.store(version);
  if (!replace_cached) return;
  auto it = map_.find(key);
  if (it != map_.end()) it->second.buffer = std::move(buffer);
}

}  // namespace ordo::engine
