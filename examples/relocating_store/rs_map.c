/* relocating_store: logical files, block entries, block locks and the buffer
 * cache. */
#include <stdlib.h>
#include <string.h>

#include "rs.h"

int rs_file_id(const char* name, uint32_t* id) {
  if (!name || name[0] != 'f' || name[1] < '0' || name[1] > '9') return -1;
  if (name[1] == '0' && name[2] != '\0') return -1;
  uint32_t v = 0;
  for (const char* p = name + 1; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (uint32_t)(*p - '0');
    if (v >= RS_MAX_FILES) return -1;
  }
  *id = v;
  return 0;
}

/* Tables only grow: a file's table and its chunks are made under the meta
 * mutex and published with a release store, so lookups need no lock. */
rs_block* rs_block_get(rs_engine* e, uint32_t file_id, uint32_t block, int create) {
  if (file_id >= RS_MAX_FILES || block / RS_CHUNK_BLOCKS >= RS_MAX_CHUNKS) return NULL;
  rs_file* f = atomic_load_explicit(&e->files[file_id], memory_order_acquire);
  if (!f) {
    if (!create) return NULL;
    e->host->mutex_lock(e->host->ctx, e->meta);
    f = atomic_load_explicit(&e->files[file_id], memory_order_relaxed);
    if (!f) {
      f = calloc(1, sizeof *f);
      if (f) {
        for (uint32_t c = 0; c < RS_MAX_CHUNKS; c++) atomic_init(&f->chunks[c], NULL);
        atomic_store_explicit(&e->files[file_id], f, memory_order_release);
      }
    }
    e->host->mutex_unlock(e->host->ctx, e->meta);
    if (!f) return NULL;
  }
  uint32_t c = block / RS_CHUNK_BLOCKS;
  rs_chunk* ch = atomic_load_explicit(&f->chunks[c], memory_order_acquire);
  if (!ch) {
    if (!create) return NULL;
    e->host->mutex_lock(e->host->ctx, e->meta);
    ch = atomic_load_explicit(&f->chunks[c], memory_order_relaxed);
    if (!ch) {
      ch = malloc(sizeof *ch);
      if (ch) {
        for (uint32_t i = 0; i < RS_CHUNK_BLOCKS; i++) {
          atomic_init(&ch->b[i].flags, 0);
          ch->b[i].crc = 0;
          ch->b[i].slot = RS_NO_SLOT;
          ch->b[i].seq = 0;
        }
        atomic_store_explicit(&f->chunks[c], ch, memory_order_release);
      }
    }
    e->host->mutex_unlock(e->host->ctx, e->meta);
    if (!ch) return NULL;
  }
  return &ch->b[block % RS_CHUNK_BLOCKS];
}

/* The lock of a block is a stripe shared with other blocks; the points
 * announce it per block (the ABI allows it). */
ordo_mutex* rs_block_lock(rs_engine* e, uint64_t key) {
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  return e->stripe[(h >> 32) % RS_STRIPES];
}

int rs_cache_init(rs_engine* e) {
  e->cache = e->host->mutex_new(e->host->ctx);
  e->bufs = calloc(e->cfg.cache_blocks, sizeof *e->bufs);
  if (!e->cache || !e->bufs) return -1;
  for (uint32_t i = 0; i < e->cfg.cache_blocks; i++) e->bufs[i].key = RS_NO_KEY;
  return 0;
}

void rs_cache_free(rs_engine* e) {
  free(e->bufs);
  e->bufs = NULL;
  if (e->cache) e->host->mutex_free(e->host->ctx, e->cache);
  e->cache = NULL;
}

static rs_cache_buf* cache_find(rs_engine* e, uint64_t key) {
  for (uint32_t i = 0; i < e->cfg.cache_blocks; i++)
    if (e->bufs[i].key == key) return &e->bufs[i];
  return NULL;
}

/* Copies the cached record of `key` out; 0 when there is none. */
int rs_cache_get(rs_engine* e, uint64_t key, rs_record* out) {
  e->host->mutex_lock(e->host->ctx, e->cache);
  rs_cache_buf* b = cache_find(e, key);
  if (b) {
    b->tick = ++e->tick;
    memcpy(out, &b->rec, sizeof *out);
  }
  e->host->mutex_unlock(e->host->ctx, e->cache);
  return b != NULL;
}

/* Caches `rec` for `key`, evicting the least recently used buffer. Eviction
 * leaves the evicted block's "cached valid" flag as it is (the flag only says
 * the cache may serve the block; a lookup that misses reads the disk). */
void rs_cache_put(rs_engine* e, uint64_t key, const rs_record* rec) {
  if (e->cfg.cache_blocks == 0) return;
  e->host->mutex_lock(e->host->ctx, e->cache);
  rs_cache_buf* b = cache_find(e, key);
  if (!b) {
    b = &e->bufs[0];
    for (uint32_t i = 0; i < e->cfg.cache_blocks; i++) {
      if (e->bufs[i].key == RS_NO_KEY) {
        b = &e->bufs[i];
        break;
      }
      if (e->bufs[i].tick < b->tick) b = &e->bufs[i];
    }
  }
  b->key = key;
  b->tick = ++e->tick;
  memcpy(&b->rec, rec, sizeof *rec);
  e->host->mutex_unlock(e->host->ctx, e->cache);
}

void rs_cache_drop(rs_engine* e, uint64_t key) {
  e->host->mutex_lock(e->host->ctx, e->cache);
  rs_cache_buf* b = cache_find(e, key);
  if (b) b->key = RS_NO_KEY;
  e->host->mutex_unlock(e->host->ctx, e->cache);
}
