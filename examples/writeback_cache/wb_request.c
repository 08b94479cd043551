/* wb_request.c: what apply() does for a write, a trim or a read.
 *
 * Both paths go block by block and follow one pattern: reserve a spare
 * buffer first (with no lock held: see wb_reserve()), take the block's lock,
 * use the cached buffer or fill the spare from disk, then release. A write
 * is a read-modify-write into a dirty buffer that also sets the block's new
 * authoritative checksum; a read verifies every block it returns against
 * that checksum ("read-verify"), which is where mode=legacy's lost write is
 * found. The points each step announces, in order, are README.md's sites
 * 1-10. */
#include <stdlib.h>
#include <string.h>

#include "wb.h"

/* Writes n bytes of src at byte boff of block bi (read-modify-write). */
static int write_block(wb_engine* e, wb_file* file, uint32_t bi, uint32_t boff, uint32_t n,
                       const uint8_t* src, ordo_failure* f) {
  const uint32_t bs = e->cfg.block_size;
  const uint64_t obj = OBJ(file->id, bi);
  wb_buf* spare = wb_reserve(e, 0); /* before the stripe: see wb_reserve() */
  if (!spare) return wb_io_failed_error(e, f);
  wb_block_lock(e, S_WRITE_LOCK, obj);
  lock(e, e->cache_mu);
  wb_buf* b = wb_lookup(e, obj);
  if (b) b->pins++;
  int rc = wb_sums_reserve(e, file, (uint64_t)bi + 1)
               ? wb_error(f, "writeback_cache: out of memory")
               : ORDO_OK;
  unlock(e, e->cache_mu);
  if (!b) { /* miss: the spare becomes the block's buffer */
    b = spare, spare = NULL;
    if (rc == ORDO_OK && n < bs) { /* partial block: read the old one first */
      point(e, S_WRITE_FILL, obj, (uint64_t)(b - e->bufs));
      rc = wb_disk_read(e, file, bi, b->data, f);
    }
  }
  int wake = 0;
  if (rc == ORDO_OK) point(e, S_WRITE_UPDATE, obj, n);
  lock(e, e->cache_mu);
  if (rc == ORDO_OK) {
    wb_install(e, obj, b, WB_DIRTY);
    memcpy(b->data + boff, src, n);
    file->sums[bi] = wb_crc32c(e, b->data, bs); /* the new authoritative sum */
    wake = ++e->dirtied >= e->cfg.flush_every;
  }
  wb_unpin(e, b);
  if (spare) wb_unpin(e, spare);
  if (wake) notify(e); /* every flush_every dirtied blocks */
  unlock(e, e->cache_mu);
  wb_block_unlock(e, S_WRITE_UNLOCK, obj);
  return rc;
}

int wb_do_write(wb_engine* e, wb_file* file, uint64_t off, uint64_t len, const uint8_t* src,
                ordo_failure* f) {
  const uint32_t bs = e->cfg.block_size;
  for (uint64_t done = 0; done < len;) {
    uint64_t pos = off + done;
    uint32_t boff = (uint32_t)(pos % bs);
    uint32_t n = (uint32_t)(len - done < bs - boff ? len - done : bs - boff);
    int rc = write_block(e, file, (uint32_t)(pos / bs), boff, n, src ? src + done : e->zero, f);
    if (rc != ORDO_OK) return rc;
    done += n;
  }
  return ORDO_OK;
}

/* Copies block bi into `scratch` (filling the cache on a miss) and verifies
 * it against the block's authoritative checksum. */
static int read_block(wb_engine* e, wb_file* file, uint32_t bi, uint8_t* scratch, ordo_failure* f) {
  const uint32_t bs = e->cfg.block_size;
  const uint64_t obj = OBJ(file->id, bi);
  wb_buf* spare = wb_reserve(e, 0);
  if (!spare) return wb_io_failed_error(e, f);
  wb_block_lock(e, S_READ_LOCK, obj);
  uint32_t expect = 0;
  int rc = ORDO_OK;
  lock(e, e->cache_mu);
  wb_buf* b = wb_lookup(e, obj);
  if (b) { /* hit, clean or dirty: serve the buffer */
    memcpy(scratch, b->data, bs);
    expect = wb_sum_of(e, file, bi);
  }
  unlock(e, e->cache_mu);
  if (!b) { /* miss: fill the spare from disk, then make it servable */
    b = spare, spare = NULL;
    point(e, S_READ_FILL, obj, (uint64_t)(b - e->bufs));
    rc = wb_disk_read(e, file, bi, b->data, f);
    if (rc == ORDO_OK) point(e, S_READ_MARK_CLEAN, obj, (uint64_t)(b - e->bufs));
    lock(e, e->cache_mu);
    if (rc == ORDO_OK) {
      wb_install(e, obj, b, WB_CLEAN);
      memcpy(scratch, b->data, bs);
      expect = wb_sum_of(e, file, bi);
    }
    wb_unpin(e, b);
    unlock(e, e->cache_mu);
  }
  if (rc == ORDO_OK) { /* read-verify */
    point(e, S_READ_VERIFY, obj, expect);
    uint32_t got = wb_crc32c(e, scratch, bs);
    if (got != expect) {
      point(e, S_READ_VERIFY_FAIL, obj, got);
      rc = wb_found(f, ORDO_FAILURE_VERIFY, obj, file->name, (uint64_t)bi * bs,
                    "FPRE004: read-verify checksum mismatch on block %u of %s "
                    "(offset %llu): data %08x, checksum %08x",
                    bi, file->name, (unsigned long long)bi * bs, got, expect);
    }
  }
  if (spare) {
    lock(e, e->cache_mu);
    wb_unpin(e, spare);
    unlock(e, e->cache_mu);
  }
  wb_block_unlock(e, S_READ_UNLOCK, obj);
  return rc;
}

int wb_do_read(wb_engine* e, wb_file* file, const ordo_request* r, ordo_failure* f) {
  const uint32_t bs = e->cfg.block_size;
  uint8_t* scratch = malloc(bs);
  if (!scratch) return wb_error(f, "writeback_cache: out of memory");
  int rc = ORDO_OK;
  uint8_t* out = r->out;
  for (uint64_t done = 0; rc == ORDO_OK && done < r->length;) {
    uint64_t pos = r->offset + done;
    uint32_t boff = (uint32_t)(pos % bs);
    uint64_t n = r->length - done < bs - boff ? r->length - done : bs - boff;
    rc = read_block(e, file, (uint32_t)(pos / bs), scratch, f);
    if (rc == ORDO_OK) memcpy(out + done, scratch + boff, n);
    done += n;
  }
  free(scratch);
  if (rc == ORDO_OK && r->length > 0) wb_note_read(e, file, r->thread, r->offset, r->length);
  return rc;
}
