/* torn_persist: the write-back flusher, where the two modes differ.
 *
 * A batch is every dirty buffer at the time the flusher wakes (flush_every
 * dirty buffers, a writer waiting for a buffer, fsync/check/close). Each
 * block is persisted in two steps: its data into NAME.data, then its
 * checksum into NAME.crc.
 *
 *   fixed:  block lock; write data; write checksum; mark clean (unpin);
 *           unlock. A read miss takes the same block lock, and while the
 *           block is being persisted its buffer is dirty and pinned, so it
 *           is cached and nobody can miss on it anyway.
 *   legacy: block lock; write data; mark clean (unpin); unlock; ... and the
 *           checksums of the whole batch afterwards, in a second pass
 *           without the lock ("one sequential sweep of the checksum file").
 *           Between the two steps the buffer is clean and evictable: once it
 *           is evicted, a read miss takes the block lock (free), reads the
 *           new data and the old checksum, and read-verify fails. */
#define _POSIX_C_SOURCE 200809L /* pread, openat, fdopendir, fdatasync */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tp.h"

static int flusher_ready(void* arg) {
  const tp_engine* e = arg;
  if (e->stop || e->io_failed || e->flush_req != e->flush_done) return 1;
  return e->ndirty > 0 && (e->ndirty >= e->flush_every || e->waiters > 0);
}

/* Caller holds cache_mu: every dirty buffer, pinned. */
static uint32_t pick_batch(tp_engine* e) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < e->cache_blocks; i++) {
    tp_buf* b = &e->bufs[i];
    if (!b->in_index || !b->dirty) continue;
    b->pins++;
    tp_flush_item* it = &e->batch[n++];
    it->buf = b;
    it->file = b->file;
    it->obj = b->obj;
    it->blk = b->blk;
    it->crc = 0;
  }
  return n;
}

static void io_failure(tp_engine* e, const char* what, const tp_flush_item* it) {
  char msg[sizeof e->io_msg];
  snprintf(msg, sizeof msg, "write %s.%s block %u: %s", it->file->name, what, it->blk,
           strerror(errno));
  tp_cache_lock(e);
  if (!e->io_failed) snprintf(e->io_msg, sizeof e->io_msg, "%s", msg);
  e->io_failed = 1;
  e->host->notify(e->host->ctx, e->cache_mu);
  tp_cache_unlock(e);
}

/* Persists one block's data (and, fixed, its checksum) under its lock, then
 * marks the buffer clean. */
static int persist_block(tp_engine* e, tp_flush_item* it) {
  tp_buf* b = it->buf;
  int ok = 1;
  tp_block_lock(e, it->obj, TP_SITE_FLUSH_LOCK);
  it->crc = b->crc; /* data and crc are stable under the block lock */
  ORDO_POINT(e->host, TP_SITE_FLUSH_DATA, it->obj, 0);
  if (tp_store_write_data(it->file, it->blk, b->data) != 0) {
    io_failure(e, "data", it);
    ok = 0;
  }
  if (ok && e->mode == TP_MODE_FIXED) {
    ORDO_POINT(e->host, TP_SITE_FLUSH_CRC, it->obj, 0);
    if (tp_store_write_crc(it->file, it->blk, it->crc) != 0) {
      io_failure(e, "crc", it);
      ok = 0;
    }
  }
  tp_cache_lock(e);
  if (ok) {
    ORDO_POINT(e->host, TP_SITE_FLUSH_CLEAN, it->obj, 0);
    b->dirty = 0;
    e->ndirty--;
  }
  tp_cache_unpin(e, b); /* legacy: evictable from here, checksum not written yet */
  tp_cache_unlock(e);
  tp_block_unlock(e, it->obj, TP_SITE_FLUSH_UNLOCK);
  return ok;
}

static int persist_batch(tp_engine* e, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    if (!persist_block(e, &e->batch[i])) {
      /* Drop the pins of the blocks not persisted. */
      tp_cache_lock(e);
      for (uint32_t j = i + 1; j < n; j++) tp_cache_unpin(e, e->batch[j].buf);
      tp_cache_unlock(e);
      return 0;
    }
  }
  if (e->mode == TP_MODE_LEGACY) {
    for (uint32_t i = 0; i < n; i++) {
      tp_flush_item* it = &e->batch[i];
      ORDO_POINT(e->host, TP_SITE_FLUSH_CRC, it->obj, 0);
      if (tp_store_write_crc(it->file, it->blk, it->crc) != 0) {
        io_failure(e, "crc", it);
        return 0;
      }
    }
  }
  return 1;
}

void tp_flusher_main(void* arg) {
  tp_engine* e = arg;
  tp_cache_lock(e);
  for (;;) {
    tp_cache_wait(e, flusher_ready, e);
    if (e->io_failed) break;
    uint64_t req = e->flush_req;
    uint32_t n = pick_batch(e);
    if (n > 0) {
      tp_cache_unlock(e);
      int ok = persist_batch(e, n);
      tp_cache_lock(e);
      if (!ok) break;
    }
    e->flush_done = req;
    e->host->notify(e->host->ctx, e->cache_mu);
    if (n == 0 && e->stop) break;
  }
  e->host->notify(e->host->ctx, e->cache_mu);
  tp_cache_unlock(e);
}

typedef struct flush_wait {
  const tp_engine* e;
  uint64_t target;
} flush_wait;

static int flush_done_ready(void* arg) {
  const flush_wait* w = arg;
  return w->e->io_failed || w->e->flush_done >= w->target;
}

/* Asks the flusher to persist every dirty block (data and checksum) and
 * waits until it has. */
int tp_flush_all(tp_engine* e, ordo_failure* failure) {
  tp_cache_lock(e);
  flush_wait w = {e, ++e->flush_req};
  e->host->notify(e->host->ctx, e->cache_mu);
  tp_cache_wait(e, flush_done_ready, &w);
  int failed = e->io_failed;
  tp_cache_unlock(e);
  if (failed) {
    tp_error(failure, "torn_persist: flusher failed: %s", e->io_msg);
    return ORDO_ERROR;
  }
  return ORDO_OK;
}

/* close(): the flusher persists what is dirty and ends; joined here. */
void tp_flusher_stop(tp_engine* e) {
  if (e->flusher < 0) return;
  tp_cache_lock(e);
  e->stop = 1;
  e->host->notify(e->host->ctx, e->cache_mu);
  tp_cache_unlock(e);
  e->host->join(e->host->ctx, e->flusher);
  e->flusher = -1;
}
