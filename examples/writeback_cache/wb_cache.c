/* wb_cache.c: the cache of the writeback_cache example engine.
 *
 * `cache_blocks` buffers, each with a block key (an object: OBJ(file id,
 * block)), its data, a state (free, clean or dirty) and a pin count. Every
 * function here but the block locks runs under cache_mu or takes it. Dirty
 * data is only ever dropped by wb_install() (a put replaces; that is how
 * mode=legacy's read-ahead hides a write) and is written back by the flusher
 * (wb_background.c). Eviction (a clean, unpinned buffer reused for another
 * block, in wb_reserve()) is not announced: it never drops dirty data and
 * never touches a pinned buffer. */
#include "wb.h"

/* A block's lock is one of WB_STRIPES host mutexes. ACQUIRE is announced once
 * the lock is held and RELEASE while it still is, so the recorded intervals of
 * one block never overlap between threads. */
static ordo_mutex* stripe_of(wb_engine* e, uint64_t obj) {
  uint64_t h = obj * 0x9E3779B97F4A7C15ull;
  return e->stripe[h >> 58]; /* top 6 bits: WB_STRIPES == 64 */
}
void wb_block_lock(wb_engine* e, int s, uint64_t obj) {
  lock(e, stripe_of(e, obj));
  point(e, s, obj, 0);
}
void wb_block_unlock(wb_engine* e, int s, uint64_t obj) {
  point(e, s, obj, 0);
  unlock(e, stripe_of(e, obj));
}

wb_buf* wb_lookup(wb_engine* e, uint64_t obj) {
  for (uint32_t i = 0; i < e->cfg.cache_blocks; i++) /* a real one hashes */
    if (e->bufs[i].state != WB_FREE && e->bufs[i].obj == obj) return &e->bufs[i];
  return NULL;
}

uint32_t wb_sum_of(wb_engine* e, wb_file* file, uint64_t bi) {
  return bi < file->nsums ? file->sums[bi] : e->zero_crc;
}

void wb_install(wb_engine* e, uint64_t obj, wb_buf* b, int state) {
  wb_buf* old = wb_lookup(e, obj);
  if (old && old != b) {
    if (old->state == WB_DIRTY) e->ndirty--;
    old->state = WB_FREE;
  }
  if (b->state == WB_DIRTY) e->ndirty--;
  b->obj = obj;
  b->state = state;
  if (state == WB_DIRTY) e->ndirty++;
  if (e->buf_waiters) notify(e);
}

void wb_unpin(wb_engine* e, wb_buf* b) {
  b->pins--;
  if (e->buf_waiters) notify(e);
}

static int victim_exists(wb_engine* e) {
  for (uint32_t i = 0; i < e->cfg.cache_blocks; i++)
    if (e->bufs[i].pins == 0 && e->bufs[i].state != WB_DIRTY) return 1;
  return 0;
}
static int reserve_ready(void* arg) {
  wb_engine* e = arg;
  return e->io_failed || victim_exists(e);
}
static int reserve_ready_ra(void* arg) { return ((wb_engine*)arg)->stopping || reserve_ready(arg); }

wb_buf* wb_reserve(wb_engine* e, int readahead) {
  int (*ready)(void*) = readahead ? reserve_ready_ra : reserve_ready;
  wb_buf* b = NULL;
  lock(e, e->cache_mu);
  if (!ready(e)) {
    e->buf_waiters++;
    notify(e); /* the flusher's predicate looks at buf_waiters */
    e->host->wait(e->host->ctx, e->cache_mu, ready, e);
    e->buf_waiters--;
  }
  if (!e->io_failed && !(readahead && e->stopping)) {
    for (uint32_t i = 0; i < e->cfg.cache_blocks && !b; i++)
      if (e->bufs[i].pins == 0 && e->bufs[i].state == WB_FREE) b = &e->bufs[i];
    for (uint32_t i = 0; i < e->cfg.cache_blocks && !b; i++) {
      wb_buf* c = &e->bufs[e->hand];
      e->hand = (e->hand + 1) % e->cfg.cache_blocks;
      if (c->pins == 0 && c->state == WB_CLEAN) b = c; /* evict it */
    }
    b->state = WB_FREE;
    b->pins = 1;
  }
  unlock(e, e->cache_mu);
  return b;
}

int wb_io_failed_error(wb_engine* e, ordo_failure* f) {
  lock(e, e->cache_mu);
  int rc = wb_error(f, "writeback_cache: earlier I/O error: %s", e->io_error);
  unlock(e, e->cache_mu);
  return rc;
}
