/* wb_background.c: the writeback_cache example engine's own threads.
 *
 *   wb-readahead (readahead_threads of them): take blocks queued by
 *     sequential reads (wb_note_read()) and fill the uncached ones into the
 *     cache as clean. THE BUG lives here: in mode=legacy read-ahead does not
 *     take the block's lock (readahead_block()).
 *   wb-flusher (one): waits until flush_every blocks were dirtied since its
 *     last pass, or a thread waits for a buffer, or the engine is stopping;
 *     then writes dirty blocks and their checksums to disk and marks them
 *     clean (wb_flush_pass(), which fsync and check() also call).
 *
 * Both are host threads (spawn/join) that block only in host waits on
 * cache_mu. The points they announce, in order, are README.md's sites
 * 11-19. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wb.h"

/* ---- Read-ahead ---- */

void wb_note_read(wb_engine* e, wb_file* file, uint32_t thread, uint64_t off, uint64_t len) {
  if (e->cfg.readahead == 0 || e->cfg.readahead_threads == 0) return;
  const uint64_t bs = e->cfg.block_size, last = (off + len - 1) / bs;
  lock(e, e->cache_mu);
  wb_stream* s = NULL;
  for (int i = 0; i < WB_STREAMS && !s; i++)
    if (e->streams[i].used && e->streams[i].file_id == file->id && e->streams[i].thread == thread)
      s = &e->streams[i];
  int sequential = s && s->next == off; /* starts where its last read ended */
  if (!s) {
    s = &e->streams[e->stream_next++ % WB_STREAMS];
    s->used = 1, s->file_id = file->id, s->thread = thread, s->ra_until = 0;
  }
  s->next = off + len;
  if (!sequential) s->ra_until = 0;
  int queued = 0;
  uint64_t from = last + 1 > s->ra_until ? last + 1 : s->ra_until;
  for (uint64_t bi = from; sequential && bi <= last + e->cfg.readahead; bi++) {
    if (bi >= file->nsums || e->qlen == e->qcap) break; /* EOF, queue full */
    e->queue[(e->qhead + e->qlen++) % e->qcap] = OBJ(file->id, bi);
    s->ra_until = bi + 1;
    queued = 1;
  }
  if (queued) notify(e);
  unlock(e, e->cache_mu);
}

static void readahead_block(wb_engine* e, wb_file* file, uint64_t obj) {
  wb_buf* spare = wb_reserve(e, 1);
  if (!spare) return;
  /* THE BUG (mode=legacy): read-ahead does not take the block's lock, so
   * between its lookup and its install a writer may install a newer, dirty
   * copy of the block; the install below then replaces it with the old bytes
   * read from disk, marked clean, while the checksum table already holds the
   * writer's checksum. mode=fixed holds the lock over lookup+fill+install.
   * Nothing fails on purpose: both modes run the same lookup, disk read and
   * install; only the lock differs, and only a real interleaving hurts. */
  const int locked = e->cfg.fixed;
  if (locked) wb_block_lock(e, S_RA_LOCK, obj);
  point(e, S_RA_LOOKUP, obj, 0);
  lock(e, e->cache_mu);
  int cached = wb_lookup(e, obj) != NULL;
  unlock(e, e->cache_mu);
  int filled = 0;
  if (!cached) {
    point(e, S_RA_FILL, obj, (uint64_t)(spare - e->bufs));
    /* best effort: an I/O error just skips the block */
    filled = wb_disk_read(e, file, (uint32_t)obj, spare->data, NULL) == ORDO_OK;
    if (filled) point(e, S_RA_MARK_CLEAN, obj, (uint64_t)(spare - e->bufs));
  }
  lock(e, e->cache_mu);
  if (filled) wb_install(e, obj, spare, WB_CLEAN); /* legacy: may hide a write */
  wb_unpin(e, spare);
  unlock(e, e->cache_mu);
  if (locked) wb_block_unlock(e, S_RA_UNLOCK, obj);
}

static int ra_ready(void* arg) {
  wb_engine* e = arg;
  return e->stopping || e->qlen > 0;
}
int wb_readahead_idle(void* arg) {
  wb_engine* e = arg;
  return e->qlen == 0 && e->ra_active == 0;
}

static void ra_main(void* arg) {
  wb_engine* e = arg;
  lock(e, e->cache_mu);
  for (;;) {
    e->host->wait(e->host->ctx, e->cache_mu, ra_ready, e);
    if (e->stopping) break;
    uint64_t obj = e->queue[e->qhead];
    e->qhead = (e->qhead + 1) % e->qcap, e->qlen--;
    wb_file* file = e->files[obj >> 32];
    e->ra_active++;
    unlock(e, e->cache_mu);
    readahead_block(e, file, obj);
    lock(e, e->cache_mu);
    e->ra_active--;
    notify(e); /* check() waits for read-ahead to go idle */
  }
  unlock(e, e->cache_mu);
}

/* ---- Flusher ---- */

/* Writes one dirty block and its checksum to disk and marks it clean.
 * Returns 0, or -1 with the error in `err`. */
static int flush_block(wb_engine* e, uint64_t obj, char* err, size_t errlen) {
  const uint32_t bs = e->cfg.block_size, bi = (uint32_t)obj;
  int rc = 0;
  wb_block_lock(e, S_FLUSH_LOCK, obj);
  lock(e, e->cache_mu);
  wb_file* file = e->files[obj >> 32];
  wb_buf* b = wb_lookup(e, obj);
  int dirty = b && b->state == WB_DIRTY;
  uint32_t sum = wb_sum_of(e, file, bi);
  if (dirty) memcpy(e->stage, b->data, bs);
  unlock(e, e->cache_mu);
  if (dirty) {
    /* PUBLISH: the cached version becomes the one on disk, the one a fill
     * reads; the block's data and checksum do not change. */
    point(e, S_FLUSH_WRITE_BACK, obj, sum);
    if (wb_disk_write(e, file, bi, e->stage, sum)) {
      snprintf(err, errlen, "write back block %u of %s: %s", bi, file->name, strerror(errno));
      rc = -1;
    } else {
      point(e, S_FLUSH_MARK_CLEAN, obj, 0);
      lock(e, e->cache_mu);
      b = wb_lookup(e, obj);
      if (b && b->state == WB_DIRTY) {
        b->state = WB_CLEAN;
        e->ndirty--;
        if (e->buf_waiters) notify(e);
      }
      unlock(e, e->cache_mu);
    }
  }
  wb_block_unlock(e, S_FLUSH_UNLOCK, obj);
  return rc;
}

int wb_flush_pass(wb_engine* e, ordo_failure* f) {
  char err[300] = "";
  lock(e, e->flush_mu);
  lock(e, e->cache_mu);
  uint32_t n = 0;
  for (uint32_t i = 0; i < e->cfg.cache_blocks; i++)
    if (e->bufs[i].state == WB_DIRTY) e->flush_list[n++] = e->bufs[i].obj;
  unlock(e, e->cache_mu);
  int rc = 0;
  for (uint32_t i = 0; i < n && rc == 0; i++)
    rc = flush_block(e, e->flush_list[i], err, sizeof err);
  unlock(e, e->flush_mu);
  if (rc == 0) return ORDO_OK;
  lock(e, e->cache_mu);
  if (!e->io_failed) snprintf(e->io_error, sizeof e->io_error, "%s", err);
  e->io_failed = 1;
  notify(e); /* waiters for buffers give up */
  unlock(e, e->cache_mu);
  return wb_error(f, "writeback_cache: flush: %s", err);
}

static int flusher_ready(void* arg) {
  wb_engine* e = arg;
  if (e->stopping) return 1;
  if (e->io_failed) return 0;
  return e->dirtied >= e->cfg.flush_every || (e->buf_waiters > 0 && e->ndirty > 0);
}

static void flusher_main(void* arg) {
  wb_engine* e = arg;
  for (;;) {
    lock(e, e->cache_mu);
    e->host->wait(e->host->ctx, e->cache_mu, flusher_ready, e);
    int stop = e->stopping;
    e->dirtied = 0;
    unlock(e, e->cache_mu);
    wb_flush_pass(e, NULL); /* errors are kept in e->io_error */
    if (stop) return;
  }
}

/* ---- Starting and stopping ---- */

int wb_start_threads(wb_engine* e) {
  const ordo_host* host = e->host;
  for (uint32_t i = 0; i < e->cfg.readahead_threads; i++) e->ra[i] = -1;
  e->flusher = host->spawn(host->ctx, "wb-flusher", flusher_main, e);
  int ok = e->flusher >= 0;
  for (uint32_t i = 0; ok && i < e->cfg.readahead_threads; i++)
    ok = (e->ra[i] = host->spawn(host->ctx, "wb-readahead", ra_main, e)) >= 0;
  return ok ? 0 : -1;
}

void wb_stop_threads(wb_engine* e) {
  lock(e, e->cache_mu);
  e->stopping = 1;
  notify(e);
  unlock(e, e->cache_mu);
  if (e->flusher >= 0) e->host->join(e->host->ctx, e->flusher);
  e->flusher = -1;
  for (uint32_t i = 0; e->ra && i < e->cfg.readahead_threads; i++) {
    if (e->ra[i] >= 0) e->host->join(e->host->ctx, e->ra[i]);
    e->ra[i] = -1;
  }
}
