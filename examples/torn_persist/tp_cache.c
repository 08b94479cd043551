/* torn_persist: the buffer cache (hash index, clock replacement), the cache
 * mutex and the block lock stripes. */
#define _POSIX_C_SOURCE 200809L /* pread, openat, fdopendir, fdatasync */

#include <stdlib.h>
#include <string.h>

#include "tp.h"

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

int tp_cache_init(tp_engine* e) {
  e->bufs = calloc(e->cache_blocks, sizeof *e->bufs);
  e->mem = malloc((size_t)e->cache_blocks * TP_BLOCK_SIZE);
  e->nbuckets = e->cache_blocks * 2;
  e->buckets = calloc(e->nbuckets, sizeof *e->buckets);
  e->batch = calloc(e->cache_blocks, sizeof *e->batch);
  if (e->bufs == NULL || e->mem == NULL || e->buckets == NULL || e->batch == NULL) return -1;
  for (uint32_t i = 0; i < e->cache_blocks; i++)
    e->bufs[i].data = e->mem + (size_t)i * TP_BLOCK_SIZE;
  return 0;
}

void tp_cache_free(tp_engine* e) {
  free(e->bufs);
  free(e->mem);
  free(e->buckets);
  free(e->batch);
  e->bufs = NULL;
  e->mem = NULL;
  e->buckets = NULL;
  e->batch = NULL;
}

/* The cache mutex guards the index and every buffer's state. It is announced
 * with observe() (recorded, not a scheduling point): the steps it orders are
 * announced on the blocks themselves. */
static void cache_announce(tp_engine* e, uint32_t site) {
  if (e->has_observe) e->host->observe(e->host->ctx, site, TP_CACHE_OBJECT, 0);
}

void tp_cache_lock(tp_engine* e) {
  e->host->mutex_lock(e->host->ctx, e->cache_mu);
  cache_announce(e, TP_SITE_CACHE_LOCK);
}

void tp_cache_unlock(tp_engine* e) {
  cache_announce(e, TP_SITE_CACHE_UNLOCK);
  e->host->mutex_unlock(e->host->ctx, e->cache_mu);
}

/* With cache_mu held: wait (the mutex is released meanwhile, and announced
 * as such). */
void tp_cache_wait(tp_engine* e, int (*ready)(void*), void* arg) {
  cache_announce(e, TP_SITE_CACHE_UNLOCK);
  e->host->wait(e->host->ctx, e->cache_mu, ready, arg);
  cache_announce(e, TP_SITE_CACHE_LOCK);
}

/* Per-block locks: a stripe of host mutexes, announced per block. */
static ordo_mutex* stripe_of(tp_engine* e, uint64_t obj) {
  return e->stripe_mu[mix64(obj) % e->stripes];
}

void tp_block_lock(tp_engine* e, uint64_t obj, uint32_t site) {
  e->host->mutex_lock(e->host->ctx, stripe_of(e, obj));
  ORDO_POINT(e->host, site, obj, 0);
}

void tp_block_unlock(tp_engine* e, uint64_t obj, uint32_t site) {
  ORDO_POINT(e->host, site, obj, 0);
  e->host->mutex_unlock(e->host->ctx, stripe_of(e, obj));
}

/* Everything below: caller holds cache_mu. */

tp_buf* tp_cache_lookup(tp_engine* e, uint64_t obj) {
  for (tp_buf* b = e->buckets[mix64(obj) % e->nbuckets]; b != NULL; b = b->hnext)
    if (b->obj == obj) return b;
  return NULL;
}

static void unlink_buf(tp_engine* e, tp_buf* b) {
  tp_buf** p = &e->buckets[mix64(b->obj) % e->nbuckets];
  while (*p != b) p = &(*p)->hnext;
  *p = b->hnext;
  b->hnext = NULL;
  b->in_index = 0;
}

/* Links a reserved buffer (obj, file, blk set) into the index. */
void tp_cache_link(tp_engine* e, tp_buf* b) {
  tp_buf** head = &e->buckets[mix64(b->obj) % e->nbuckets];
  b->hnext = *head;
  *head = b;
  b->in_index = 1;
  b->ref = 1;
}

static int evictable(const tp_buf* b) { return b->pins == 0 && !b->dirty; }

int tp_cache_grabbable(const tp_engine* e) {
  for (uint32_t i = 0; i < e->cache_blocks; i++)
    if (evictable(&e->bufs[i])) return 1;
  return 0;
}

/* Takes a free buffer, or evicts a clean unpinned one (clock: a buffer with
 * its reference bit set gets a second chance). Returns it reserved (pinned,
 * not in the index), or NULL when every buffer is dirty or pinned. Never
 * blocks. */
tp_buf* tp_cache_grab(tp_engine* e) {
  for (uint32_t step = 0; step < 2 * e->cache_blocks; step++) {
    tp_buf* b = &e->bufs[e->hand];
    e->hand = (e->hand + 1) % e->cache_blocks;
    if (!evictable(b)) continue;
    if (b->in_index) {
      if (b->ref) {
        b->ref = 0;
        continue;
      }
      /* The victim's block stops being cached: its next read is a miss. */
      ORDO_POINT(e->host, TP_SITE_CACHE_EVICT, b->obj, 0);
      unlink_buf(e, b);
    }
    b->pins = 1;
    b->obj = 0;
    b->file = NULL;
    return b;
  }
  return NULL;
}

/* Drops a pin; a reserved buffer that is not linked becomes free. */
void tp_cache_unpin(tp_engine* e, tp_buf* b) {
  b->pins--;
  if (b->pins == 0 && !b->in_index) {
    b->obj = 0;
    b->file = NULL;
  }
  if (b->pins == 0 && e->waiters > 0) e->host->notify(e->host->ctx, e->cache_mu);
}

/* check(): every cached clean buffer matches its checksum and the disk's. */
int tp_cache_check(tp_engine* e, ordo_failure* failure) {
  int rc = ORDO_OK;
  tp_cache_lock(e);
  for (uint32_t i = 0; i < e->cache_blocks && rc == ORDO_OK; i++) {
    tp_buf* b = &e->bufs[i];
    if (!b->in_index || b->dirty) continue;
    uint32_t disk = 0;
    int present = 0;
    uint32_t have = tp_crc32c(b->data, TP_BLOCK_SIZE);
    if (tp_store_read_crc(b->file, b->blk, &disk, &present) != 0) {
      tp_error(failure, "torn_persist: check: read %s.crc failed", b->file->name);
      rc = ORDO_ERROR;
    } else if (have != b->crc || (present ? disk : e->zero_crc) != b->crc) {
      tp_fail(failure, ORDO_FAILURE_CORRUPT, b->obj, b->file->name,
              (uint64_t)b->blk * TP_BLOCK_SIZE,
              "cached block %u of %s (offset %llu) disagrees: data %08x, buffer checksum %08x, "
              "stored checksum %08x",
              b->blk, b->file->name, (unsigned long long)b->blk * TP_BLOCK_SIZE, have, b->crc,
              present ? disk : e->zero_crc);
      rc = ORDO_FAILED;
    }
  }
  tp_cache_unlock(e);
  return rc;
}
