/* evict_race: the cache. A fixed pool of cache_blocks buffers, a hash index
 * of the VALID ones, a free list, random replacement, and the evictor thread
 * that keeps low_water buffers free. Everything here is guarded by the index
 * lock. The pin count (fixed mode) is what keeps a buffer a reader is copying
 * out of from being detached and reused for another block. */
#define _POSIX_C_SOURCE 200809L /* pread, openat, fdopendir, strndup under -std=c11 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er.h"

static void index_lock(er_engine* e) {
  e->host->mutex_lock(e->host->ctx, e->index_lock);
  ER_POINT(e, SITE_INDEX_LOCK, ER_INDEX_OBJECT, 0);
}

static void index_unlock(er_engine* e) {
  ER_POINT(e, SITE_INDEX_UNLOCK, ER_INDEX_OBJECT, 0);
  e->host->mutex_unlock(e->host->ctx, e->index_lock);
}

static uint32_t bucket_of(const er_engine* e, uint64_t key) {
  return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (e->nbuckets - 1);
}

static int32_t find(const er_engine* e, uint64_t key) {
  for (int32_t b = e->buckets[bucket_of(e, key)]; b >= 0; b = e->bufs[b].next)
    if (e->bufs[b].tag == key) return b;
  return -1;
}

/* A buffer may be detached for reuse when it is VALID and, in fixed mode,
 * nobody has it pinned. Legacy has no pins: any VALID buffer is fair game. */
static int evictable(const er_engine* e, const er_buf* b) {
  return b->state == ER_BUF_VALID && (e->cfg.mode == ER_MODE_LEGACY || b->pins == 0);
}

static int has_candidate(const er_engine* e) {
  for (uint32_t i = 0; i < e->cfg.cache_blocks; i++)
    if (evictable(e, &e->bufs[i])) return 1;
  return 0;
}

/* Random replacement among the evictable buffers (host randomness). */
static int32_t pick_victim(er_engine* e) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < e->cfg.cache_blocks; i++) n += evictable(e, &e->bufs[i]) ? 1u : 0u;
  if (n == 0) return -1;
  uint64_t r = e->host->random(e->host->ctx) % n;
  for (uint32_t i = 0; i < e->cfg.cache_blocks; i++)
    if (evictable(e, &e->bufs[i]) && r-- == 0) return (int32_t)i;
  return -1;
}

/* Takes VALID buffer b out of its hash chain. */
static void detach(er_engine* e, int32_t b) {
  int32_t* link = &e->buckets[bucket_of(e, e->bufs[b].tag)];
  while (*link != b) link = &e->bufs[*link].next;
  *link = e->bufs[b].next;
  e->bufs[b].next = -1;
  e->bufs[b].state = ER_BUF_FREE;
}

static void push_free(er_engine* e, int32_t b) {
  e->bufs[b].state = ER_BUF_FREE;
  e->bufs[b].file = NULL;
  e->bufs[b].next = e->free_head;
  e->free_head = b;
  e->nfree++;
}

int er_cache_open(er_engine* e, ordo_failure* failure) {
  uint32_t n = e->cfg.cache_blocks;
  e->nbuckets = 16;
  while (e->nbuckets < 2 * n) e->nbuckets *= 2;
  e->free_head = -1;
  e->index_lock = e->host->mutex_new(e->host->ctx);
  e->bufs = calloc(n, sizeof *e->bufs);
  e->buckets = malloc(e->nbuckets * sizeof *e->buckets);
  if (e->index_lock == NULL || e->bufs == NULL || e->buckets == NULL)
    return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "cache: out of memory");
  for (uint32_t i = 0; i < e->nbuckets; i++) e->buckets[i] = -1;
  for (uint32_t i = n; i-- > 0;) {
    if ((e->bufs[i].data = calloc(1, ER_BLOCK_SIZE)) == NULL)
      return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "cache: out of memory");
    push_free(e, (int32_t)i);
  }
  return ORDO_OK;
}

void er_cache_close(er_engine* e) {
  if (e->bufs != NULL)
    for (uint32_t i = 0; i < e->cfg.cache_blocks; i++) free(e->bufs[i].data);
  free(e->bufs);
  free(e->buckets);
  e->bufs = NULL;
  e->buckets = NULL;
  if (e->index_lock != NULL) e->host->mutex_free(e->host->ctx, e->index_lock);
  e->index_lock = NULL;
}

/* ---- the evictor ---- */

static int evictor_ready(void* arg) {
  const er_engine* e = arg;
  return e->stop || ((e->nfree < e->cfg.low_water || e->kick) && has_candidate(e));
}

void er_evictor_main(void* arg) {
  er_engine* e = arg;
  const ordo_host* h = e->host;
  for (;;) {
    h->mutex_lock(h->ctx, e->index_lock);
    h->wait(h->ctx, e->index_lock, evictor_ready, e);
    if (e->stop) {
      h->mutex_unlock(h->ctx, e->index_lock);
      return;
    }
    ER_POINT(e, SITE_INDEX_LOCK, ER_INDEX_OBJECT, 0);
    int32_t v = pick_victim(e);
    ER_POINT(e, SITE_EVICT_DETACH, e->bufs[v].tag, (uint64_t)v);
    detach(e, v);
    push_free(e, v); /* recycled: the next miss of any block refills it */
    e->kick = 0;
    e->evictions++;
    h->notify(h->ctx, e->index_lock); /* a miss may be waiting for a buffer */
    index_unlock(e);
  }
}

void er_evictor_stop(er_engine* e) {
  const ordo_host* h = e->host;
  if (e->evictor < 0) return;
  h->mutex_lock(h->ctx, e->index_lock);
  e->stop = 1;
  h->notify(h->ctx, e->index_lock);
  h->mutex_unlock(h->ctx, e->index_lock);
  h->join(h->ctx, e->evictor);
  e->evictor = -1;
}

void er_cache_count_request(er_engine* e) {
  if (e->cfg.evict_every == 0) return;
  index_lock(e);
  if (++e->requests % e->cfg.evict_every == 0) {
    e->kick = 1;
    e->host->notify(e->host->ctx, e->index_lock);
  }
  index_unlock(e);
}

/* ---- the reader's and the writer's side ---- */

int32_t er_cache_lookup(er_engine* e, uint64_t key) {
  index_lock(e);
  int32_t b = find(e, key);
  ER_POINT(e, SITE_READ_LOOKUP, key, (uint64_t)(b + 1));
  if (b >= 0 && e->cfg.mode == ER_MODE_FIXED) {
    /* THE FIX: pinned under the index lock, so neither the evictor nor a
     * miss can detach it until the reader has copied it out. */
    ER_POINT(e, SITE_READ_PIN, key, (uint64_t)b);
    e->bufs[b].pins++;
  }
  /* mode=legacy: THE BUG. The buffer is returned unpinned: once the index
   * lock is dropped below, it can be detached and refilled with another
   * block before the reader copies it. */
  if (b >= 0)
    e->hits++;
  else
    e->misses++;
  index_unlock(e);
  return b;
}

void er_cache_unpin(er_engine* e, uint64_t key, int32_t b) {
  index_lock(e);
  ER_POINT(e, SITE_READ_UNPIN, key, (uint64_t)b);
  e->bufs[b].pins--;
  if (e->bufs[b].pins == 0) e->host->notify(e->host->ctx, e->index_lock);
  index_unlock(e);
}

static int reserve_ready(void* arg) {
  const er_engine* e = arg;
  return e->free_head >= 0 || has_candidate(e);
}

int32_t er_cache_reserve(er_engine* e, uint64_t key, er_file* f) {
  int32_t b;
  index_lock(e);
  for (;;) {
    if ((b = e->free_head) >= 0) {
      ER_POINT(e, SITE_CACHE_ALLOC, key, (uint64_t)b);
      e->free_head = e->bufs[b].next;
      e->nfree--;
      break;
    }
    if ((b = pick_victim(e)) >= 0) {
      /* No free buffer: steal one from another block (the evictor is late). */
      ER_POINT(e, SITE_CACHE_STEAL, e->bufs[b].tag, (uint64_t)b);
      detach(e, b);
      e->steals++;
      break;
    }
    /* Every buffer is being filled or is pinned: wait for one. */
    ER_POINT(e, SITE_INDEX_UNLOCK, ER_INDEX_OBJECT, 0);
    e->host->wait(e->host->ctx, e->index_lock, reserve_ready, e);
    ER_POINT(e, SITE_INDEX_LOCK, ER_INDEX_OBJECT, 0);
  }
  e->bufs[b].state = ER_BUF_FILLING;
  e->bufs[b].tag = key;
  e->bufs[b].file = f;
  e->bufs[b].next = -1;
  e->host->notify(e->host->ctx, e->index_lock); /* the evictor: fewer free */
  index_unlock(e);
  return b;
}

void er_cache_install(er_engine* e, uint64_t key, int32_t b) {
  index_lock(e);
  ER_POINT(e, SITE_MISS_INSTALL, key, (uint64_t)b);
  uint32_t h = bucket_of(e, key);
  e->bufs[b].state = ER_BUF_VALID;
  e->bufs[b].next = e->buckets[h];
  e->buckets[h] = b;
  e->host->notify(e->host->ctx, e->index_lock); /* a new candidate */
  index_unlock(e);
}

void er_cache_unreserve(er_engine* e, int32_t b) {
  index_lock(e);
  push_free(e, b);
  e->host->notify(e->host->ctx, e->index_lock);
  index_unlock(e);
}

void er_cache_publish(er_engine* e, uint64_t key, er_file* f, const uint8_t* block) {
  int32_t nb = -1;
  index_lock(e);
  int32_t b = find(e, key);
  if (b < 0 && e->cfg.write_allocate) {
    /* Write-allocate: a buffer of our own (free or stolen), filled with the
     * new bytes while nobody else can see it. Nobody can install the block
     * meanwhile: that takes its block lock, which we hold. */
    index_unlock(e);
    nb = er_cache_reserve(e, key, f);
    memcpy(e->bufs[nb].data, block, ER_BLOCK_SIZE);
    index_lock(e);
  }
  /* Whatever buffer caches the block now gets the new bytes (or is the new
   * one): a buffer of it is only installed under its block lock. */
  ER_POINT(e, SITE_WRITE_PUBLISH, key, ORDO_PUBLISH_REPLACES_ANY);
  if (b >= 0) {
    memcpy(e->bufs[b].data, block, ER_BLOCK_SIZE);
  } else if (nb >= 0) {
    uint32_t h = bucket_of(e, key);
    e->bufs[nb].state = ER_BUF_VALID;
    e->bufs[nb].next = e->buckets[h];
    e->buckets[h] = nb;
    e->host->notify(e->host->ctx, e->index_lock); /* a new candidate */
  }
  index_unlock(e);
}

void er_cache_describe(er_engine* e, int32_t b, char* out, size_t len) {
  e->host->mutex_lock(e->host->ctx, e->index_lock);
  const er_buf* x = &e->bufs[b];
  if (x->state == ER_BUF_FREE || x->file == NULL)
    snprintf(out, len, "nothing (free)");
  else
    snprintf(out, len, "block %llu of %s (%s)", (unsigned long long)(x->tag & 0xffffffffu),
             x->file->name, x->state == ER_BUF_VALID ? "cached" : "being filled");
  e->host->mutex_unlock(e->host->ctx, e->index_lock);
}

int er_cache_check(er_engine* e, ordo_failure* failure) {
  const ordo_host* h = e->host;
  uint8_t* tmp = malloc(ER_BLOCK_SIZE);
  if (tmp == NULL) return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "out of memory");
  int rc = ORDO_OK;
  for (uint32_t i = 0; i < e->cfg.cache_blocks && rc == ORDO_OK; i++) {
    h->mutex_lock(h->ctx, e->index_lock);
    uint64_t key = e->bufs[i].tag;
    er_file* f = e->bufs[i].state == ER_BUF_VALID ? e->bufs[i].file : NULL;
    h->mutex_unlock(h->ctx, e->index_lock);
    if (f == NULL) continue;
    ordo_mutex* m = er_block_lock(e, key); /* lock order: block, then index */
    h->mutex_lock(h->ctx, m);
    h->mutex_lock(h->ctx, e->index_lock);
    int same = e->bufs[i].state == ER_BUF_VALID && e->bufs[i].tag == key;
    if (same) memcpy(tmp, e->bufs[i].data, ER_BLOCK_SIZE);
    h->mutex_unlock(h->ctx, e->index_lock);
    uint32_t want = er_block_crc(e, f, key & 0xffffffffu);
    h->mutex_unlock(h->ctx, m);
    uint32_t got = er_crc32c(tmp, ER_BLOCK_SIZE);
    if (same && got != want)
      rc = er_fail(failure, ORDO_FAILED, ORDO_FAILURE_CORRUPT, key, f->name,
                   (key & 0xffffffffu) * ER_BLOCK_SIZE,
                   "check: cache buffer %u of block %llu of %s holds crc32c %08x, block "
                   "checksum %08x",
                   i, (unsigned long long)(key & 0xffffffffu), f->name, got, want);
  }
  free(tmp);
  return rc;
}
