/* evict_race: what apply() does. A read goes block by block: lookup, copy
 * out and read-verify on a hit; fill, verify and install on a miss. A write
 * goes block by block too: read-modify-write through to disk with the new
 * checksum, then the cached buffer (if any) gets the new bytes. Each block is
 * handled under its block lock. */
#define _POSIX_C_SOURCE 200809L /* pread, openat, fdopendir, strndup under -std=c11 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er.h"

static int verify_failed(er_engine* e, er_file* f, uint64_t block, int32_t b, uint32_t got,
                         uint32_t want, int hit, ordo_failure* failure) {
  uint64_t key = er_key(f, block);
  char how[ER_NAME_MAX + 160];
  ER_POINT(e, hit ? SITE_READ_VERIFY_FAIL : SITE_MISS_VERIFY_FAIL, key, ORDO_FAIL_DATA);
  if (hit) {
    /* What the buffer the reader found at lookup holds now: in legacy mode,
     * typically another block it was recycled for. */
    char now[ER_NAME_MAX + 64];
    er_cache_describe(e, b, now, sizeof now);
    snprintf(how, sizeof how, "cache hit on buffer %d, which now caches %s", (int)b, now);
  } else {
    snprintf(how, sizeof how, "read from disk into buffer %d", (int)b);
  }
  return er_fail(failure, ORDO_FAILED, ORDO_FAILURE_VERIFY, key, f->name, block * ER_BLOCK_SIZE,
                 "read-verify mismatch on block %llu of %s (offset %llu): data crc32c %08x, "
                 "block checksum %08x (%s)",
                 (unsigned long long)block, f->name, (unsigned long long)(block * ER_BLOCK_SIZE),
                 got, want, how);
}

/* Reads block `block` into tmp (the whole block, verified), under its lock. */
static int read_block(er_engine* e, er_file* f, uint64_t block, uint8_t* tmp,
                      ordo_failure* failure) {
  const ordo_host* h = e->host;
  uint64_t key = er_key(f, block);
  ordo_mutex* m = er_block_lock(e, key);
  int rc = ORDO_OK;
  h->mutex_lock(h->ctx, m);
  ER_POINT(e, SITE_READ_LOCK, key, 0);
  uint32_t want = er_block_crc(e, f, block);
  int32_t b = er_cache_lookup(e, key);
  if (b >= 0) {
    /* Hit. In legacy mode the index lock is already dropped and b is not
     * pinned: this copy may read whatever block b holds by now. */
    ER_POINT(e, SITE_READ_COPY, key, (uint64_t)b);
    memcpy(tmp, e->bufs[b].data, ER_BLOCK_SIZE);
    if (e->cfg.mode == ER_MODE_FIXED) er_cache_unpin(e, key, b);
    ER_POINT(e, SITE_READ_VERIFY, key, (uint64_t)b);
    uint32_t got = er_crc32c(tmp, ER_BLOCK_SIZE);
    if (got != want) rc = verify_failed(e, f, block, b, got, want, 1, failure);
  } else {
    /* Miss: b is ours alone (FILLING, in no chain) until installed. */
    b = er_cache_reserve(e, key, f);
    ER_POINT(e, SITE_MISS_FILL, key, (uint64_t)b);
    int err = er_block_read(f, block, e->bufs[b].data);
    if (err != 0) {
      er_cache_unreserve(e, b);
      rc = er_fail(failure, ORDO_ERROR, 0, key, f->name, block * ER_BLOCK_SIZE,
                   "read block %llu of %s: %s", (unsigned long long)block, f->name, strerror(-err));
    } else {
      ER_POINT(e, SITE_MISS_VERIFY, key, (uint64_t)b);
      uint32_t got = er_crc32c(e->bufs[b].data, ER_BLOCK_SIZE);
      if (got != want) {
        rc = verify_failed(e, f, block, b, got, want, 0, failure);
        er_cache_unreserve(e, b);
      } else {
        memcpy(tmp, e->bufs[b].data, ER_BLOCK_SIZE);
        er_cache_install(e, key, b);
      }
    }
  }
  ER_POINT(e, SITE_READ_UNLOCK, key, 0);
  h->mutex_unlock(h->ctx, m);
  return rc;
}

/* Writes bytes [off, off + n) of block `block` from src, under its lock. */
static int write_block(er_engine* e, er_file* f, uint64_t block, size_t off, size_t n,
                       const uint8_t* src, uint8_t* tmp, ordo_failure* failure) {
  const ordo_host* h = e->host;
  uint64_t key = er_key(f, block);
  ordo_mutex* m = er_block_lock(e, key);
  int rc = ORDO_OK, err = 0;
  h->mutex_lock(h->ctx, m);
  ER_POINT(e, SITE_WRITE_LOCK, key, 0);
  if (n < ER_BLOCK_SIZE) {
    /* Partial block: the rest comes from disk, verified before reuse. */
    ER_POINT(e, SITE_WRITE_READ_OLD, key, 0);
    err = er_block_read(f, block, tmp);
    uint32_t old = er_block_crc(e, f, block);
    if (err == 0 && er_crc32c(tmp, ER_BLOCK_SIZE) != old)
      rc = er_fail(failure, ORDO_FAILED, ORDO_FAILURE_CORRUPT, key, f->name, block * ER_BLOCK_SIZE,
                   "write: block %llu of %s on disk does not match its checksum %08x",
                   (unsigned long long)block, f->name, old);
  }
  if (err == 0 && rc == ORDO_OK) {
    memcpy(tmp + off, src, n);
    uint32_t crc = er_crc32c(tmp, ER_BLOCK_SIZE);
    ER_POINT(e, SITE_WRITE_DATA, key, 0);
    err = er_block_write(e, f, block, tmp, crc);
    if (err == 0) er_cache_publish(e, key, f, tmp);
  }
  if (err != 0)
    rc = er_fail(failure, ORDO_ERROR, 0, key, f->name, block * ER_BLOCK_SIZE,
                 "write block %llu of %s: %s", (unsigned long long)block, f->name, strerror(-err));
  ER_POINT(e, SITE_WRITE_UNLOCK, key, 0);
  h->mutex_unlock(h->ctx, m);
  return rc;
}

int er_apply(er_engine* e, const ordo_request* r, ordo_failure* failure) {
  er_file* f = NULL;
  int rc;
  if (r->op > ORDO_OP_TRIM)
    return er_fail(failure, ORDO_ERROR, 0, 0, r->file, 0, "unknown op %u", r->op);
  if (r->op == ORDO_OP_TRIM)
    return er_fail(failure, ORDO_ERROR, 0, 0, r->file, r->offset, "trim is not supported");
  uint64_t end = r->offset + r->length;
  if (end < r->offset || (end >> ER_BLOCK_SHIFT) > 0xffffffffull)
    return er_fail(failure, ORDO_ERROR, 0, 0, r->file, r->offset, "range past 16 TiB");
  if ((r->op == ORDO_OP_READ && r->out == NULL && r->length > 0) ||
      (r->op == ORDO_OP_WRITE && r->data == NULL && r->length > 0))
    return er_fail(failure, ORDO_ERROR, 0, 0, r->file, r->offset, "no buffer");
  er_cache_count_request(e);
  rc = er_file_get(e, r->file, r->op == ORDO_OP_WRITE, &f, failure);
  if (rc != ORDO_OK || f == NULL) return rc; /* a file never written reads as zeroes */
  if (r->op == ORDO_OP_FSYNC) {
    int err = er_file_sync(f);
    return err == 0 ? ORDO_OK
                    : er_fail(failure, ORDO_ERROR, 0, 0, f->name, 0, "fsync %s: %s", f->name,
                              strerror(-err));
  }
  uint8_t* tmp = malloc(ER_BLOCK_SIZE);
  if (tmp == NULL) return er_fail(failure, ORDO_ERROR, 0, 0, f->name, 0, "out of memory");
  for (uint64_t pos = r->offset; pos < end && rc == ORDO_OK;) {
    uint64_t block = pos >> ER_BLOCK_SHIFT;
    size_t off = (size_t)(pos & (ER_BLOCK_SIZE - 1));
    size_t n = ER_BLOCK_SIZE - off;
    if (n > end - pos) n = (size_t)(end - pos);
    if (r->op == ORDO_OP_READ) {
      rc = read_block(e, f, block, tmp, failure);
      if (rc == ORDO_OK) memcpy((uint8_t*)r->out + (pos - r->offset), tmp + off, n);
    } else {
      rc = write_block(e, f, block, off, n, (const uint8_t*)r->data + (pos - r->offset), tmp,
                       failure);
    }
    pos += n;
  }
  free(tmp);
  return rc;
}
