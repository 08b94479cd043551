/* torn_persist: the request paths (read with read-verify, write with
 * read-modify-write, fsync). */
#define _POSIX_C_SOURCE 200809L /* pread, openat, fdopendir, fdatasync */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tp.h"

/* The sites of one disk load (a read miss, or a partial write's miss). */
typedef struct load_sites {
  uint32_t fill;   /* FILL: data read into a cache buffer */
  uint32_t read;   /* READ: data read into a private buffer (nothing to cache it in) */
  uint32_t crc;    /* READ: the stored checksum read */
  uint32_t verify; /* VERIFY */
  uint32_t fail;   /* VERIFY_FAIL */
} load_sites;

static const load_sites kReadSites = {TP_SITE_READ_MISS_FILL, TP_SITE_READ_MISS_READ,
                                      TP_SITE_READ_MISS_CRC, TP_SITE_READ_MISS_VERIFY,
                                      TP_SITE_READ_VERIFY_FAIL};
static const load_sites kWriteSites = {TP_SITE_WRITE_RMW_FILL, TP_SITE_WRITE_RMW_FILL,
                                       TP_SITE_WRITE_RMW_CRC, TP_SITE_WRITE_RMW_VERIFY,
                                       TP_SITE_WRITE_VERIFY_FAIL};

static int verify_failed(tp_engine* e, uint32_t site, const tp_file* f, uint32_t blk,
                         const char* what, uint32_t have, uint32_t want, int present,
                         ordo_failure* failure) {
  uint64_t obj = tp_obj(f, blk);
  uint64_t off = (uint64_t)blk * TP_BLOCK_SIZE;
  ORDO_POINT(e->host, site, obj, ORDO_FAIL_DATA);
  tp_fail(failure, ORDO_FAILURE_VERIFY, obj, f->name, off,
          "read-verify checksum mismatch on block %u of %s (offset %llu): %s crc32c %08x, "
          "%s %08x",
          blk, f->name, (unsigned long long)off, what, have,
          present ? "stored checksum" : "no stored checksum, expected zeros", want);
  return ORDO_FAILED;
}

/* Caller holds the block's lock. Reads the block's data, then its stored
 * checksum, and verifies one against the other. */
static int load_block(tp_engine* e, const tp_file* f, uint32_t blk, unsigned char* buf,
                      int into_cache, const load_sites* s, uint32_t* crc_out,
                      ordo_failure* failure) {
  uint64_t obj = tp_obj(f, blk);
  ORDO_POINT(e->host, into_cache ? s->fill : s->read, obj, 0);
  if (tp_store_read_data(f, blk, buf) != 0) {
    tp_error(failure, "torn_persist: read %s.data block %u: %s", f->name, blk, strerror(errno));
    return ORDO_ERROR;
  }
  uint32_t stored = 0;
  int present = 0;
  ORDO_POINT(e->host, s->crc, obj, 0);
  if (tp_store_read_crc(f, blk, &stored, &present) != 0) {
    tp_error(failure, "torn_persist: read %s.crc block %u: %s", f->name, blk, strerror(errno));
    return ORDO_ERROR;
  }
  uint32_t have = tp_crc32c(buf, TP_BLOCK_SIZE);
  uint32_t want = present ? stored : e->zero_crc;
  ORDO_POINT(e->host, s->verify, obj, 0);
  if (have != want) return verify_failed(e, s->fail, f, blk, "data", have, want, present, failure);
  *crc_out = have;
  return ORDO_OK;
}

static int read_block(tp_engine* e, tp_file* f, uint32_t blk, unsigned char* out, uint32_t from,
                      uint32_t len, ordo_failure* failure) {
  uint64_t obj = tp_obj(f, blk);
  int rc = ORDO_OK;
  tp_block_lock(e, obj, TP_SITE_READ_LOCK);
  tp_cache_lock(e);
  tp_buf* b = tp_cache_lookup(e, obj);
  if (b != NULL) {
    b->pins++;
    b->ref = 1;
  }
  tp_buf* fresh = b != NULL ? NULL : tp_cache_grab(e);
  tp_cache_unlock(e);

  if (b != NULL) { /* hit: the buffer against its in-memory checksum */
    ORDO_POINT(e->host, TP_SITE_READ_HIT_VERIFY, obj, 0);
    uint32_t have = tp_crc32c(b->data, TP_BLOCK_SIZE);
    if (have != b->crc)
      rc = verify_failed(e, TP_SITE_READ_VERIFY_FAIL, f, blk, "cached buffer", have, b->crc, 1,
                         failure);
    else
      memcpy(out, b->data + from, len);
    tp_cache_lock(e);
    tp_cache_unpin(e, b);
    tp_cache_unlock(e);
  } else { /* miss: data and checksum from disk, into a buffer if one was free */
    unsigned char local[TP_BLOCK_SIZE];
    unsigned char* buf = fresh != NULL ? fresh->data : local;
    uint32_t crc = 0;
    rc = load_block(e, f, blk, buf, fresh != NULL, &kReadSites, &crc, failure);
    if (rc == ORDO_OK) memcpy(out, buf + from, len);
    if (fresh != NULL) {
      tp_cache_lock(e);
      if (rc == ORDO_OK) {
        ORDO_POINT(e->host, TP_SITE_READ_INSTALL, obj, 0);
        fresh->obj = obj;
        fresh->file = f;
        fresh->blk = blk;
        fresh->crc = crc;
        fresh->dirty = 0;
        tp_cache_link(e, fresh);
      }
      tp_cache_unpin(e, fresh);
      tp_cache_unlock(e);
    }
  }
  tp_block_unlock(e, obj, TP_SITE_READ_UNLOCK);
  return rc;
}

static int buffer_ready(void* arg) {
  const tp_engine* e = arg;
  return e->io_failed || tp_cache_grabbable(e);
}

static int io_failed_error(tp_engine* e, ordo_failure* failure) {
  tp_error(failure, "torn_persist: flusher failed: %s", e->io_msg);
  return ORDO_ERROR;
}

/* Takes the block's lock and returns it held with the block's buffer pinned:
 * the cached one, or a reserved one (not in the index). When every buffer is
 * dirty or pinned it drops the lock, waits for the flusher, and retries. */
static int write_buffer(tp_engine* e, uint64_t obj, tp_buf** out, int* cached,
                        ordo_failure* failure) {
  tp_buf* reserved = NULL;
  for (;;) {
    tp_block_lock(e, obj, TP_SITE_WRITE_LOCK);
    tp_cache_lock(e);
    tp_buf* b = tp_cache_lookup(e, obj);
    if (b != NULL) {
      b->pins++;
      if (reserved != NULL) tp_cache_unpin(e, reserved);
    } else {
      b = reserved != NULL ? reserved : tp_cache_grab(e);
    }
    reserved = NULL;
    if (b != NULL) *cached = b->in_index;
    tp_cache_unlock(e);
    if (b != NULL) {
      *out = b;
      return ORDO_OK;
    }
    tp_block_unlock(e, obj, TP_SITE_WRITE_UNLOCK);

    tp_cache_lock(e);
    e->waiters++;
    e->host->notify(e->host->ctx, e->cache_mu); /* the flusher cleans some */
    tp_cache_wait(e, buffer_ready, e);
    e->waiters--;
    int failed = e->io_failed;
    if (!failed) reserved = tp_cache_grab(e);
    tp_cache_unlock(e);
    if (failed) return io_failed_error(e, failure);
  }
}

static int write_block(tp_engine* e, tp_file* f, uint32_t blk, const unsigned char* src,
                       uint32_t from, uint32_t len, ordo_failure* failure) {
  uint64_t obj = tp_obj(f, blk);
  tp_buf* b = NULL;
  int cached = 0;
  int rc = write_buffer(e, obj, &b, &cached, failure);
  if (rc != ORDO_OK) return rc;
  if (!cached && len != TP_BLOCK_SIZE) { /* partial write of an uncached block */
    uint32_t crc = 0;
    rc = load_block(e, f, blk, b->data, 1, &kWriteSites, &crc, failure);
    if (rc != ORDO_OK) {
      tp_cache_lock(e);
      tp_cache_unpin(e, b);
      tp_cache_unlock(e);
      tp_block_unlock(e, obj, TP_SITE_WRITE_UNLOCK);
      return rc;
    }
  }
  ORDO_POINT(e->host, TP_SITE_WRITE_UPDATE, obj, 0);
  memcpy(b->data + from, src, len);
  b->crc = tp_crc32c(b->data, TP_BLOCK_SIZE);

  tp_cache_lock(e);
  /* Under the block lock this buffer is the only one of the block: the
   * write replaces whatever was cached. */
  ORDO_POINT(e->host, TP_SITE_WRITE_PUBLISH, obj, ORDO_PUBLISH_REPLACES_ANY);
  if (!b->in_index) {
    b->obj = obj;
    b->file = f;
    b->blk = blk;
    tp_cache_link(e, b);
  }
  b->ref = 1;
  if (!b->dirty) {
    b->dirty = 1;
    e->ndirty++;
  }
  tp_cache_unpin(e, b);
  if (e->ndirty >= e->flush_every) e->host->notify(e->host->ctx, e->cache_mu);
  tp_cache_unlock(e);
  tp_block_unlock(e, obj, TP_SITE_WRITE_UNLOCK);
  return ORDO_OK;
}

/* Splits a request into its blocks. */
static int for_each_block(tp_engine* e, const ordo_request* r, int write, ordo_failure* failure) {
  if (r->length == 0) return ORDO_OK;
  if (r->offset + r->length < r->offset ||
      (r->offset + r->length - 1) / TP_BLOCK_SIZE > UINT32_MAX) {
    tp_error(failure, "torn_persist: request past the largest block (offset %llu)",
             (unsigned long long)r->offset);
    return ORDO_ERROR;
  }
  tp_file* f = tp_file_get(e, r->file, failure);
  if (f == NULL) return ORDO_ERROR;
  uint64_t pos = r->offset, end = r->offset + r->length;
  while (pos < end) {
    uint32_t blk = (uint32_t)(pos / TP_BLOCK_SIZE);
    uint32_t from = (uint32_t)(pos % TP_BLOCK_SIZE);
    uint64_t left = end - pos;
    uint32_t len = left < TP_BLOCK_SIZE - from ? (uint32_t)left : TP_BLOCK_SIZE - from;
    uint64_t at = pos - r->offset;
    int rc = write ? write_block(e, f, blk, (const unsigned char*)r->data + at, from, len, failure)
                   : read_block(e, f, blk, (unsigned char*)r->out + at, from, len, failure);
    if (rc != ORDO_OK) return rc;
    pos += len;
  }
  return ORDO_OK;
}

int tp_apply_read(tp_engine* e, const ordo_request* r, ordo_failure* failure) {
  return for_each_block(e, r, 0, failure);
}

int tp_apply_write(tp_engine* e, const ordo_request* r, ordo_failure* failure) {
  return for_each_block(e, r, 1, failure);
}

/* FSYNC: the flusher persists every dirty block (data and checksum), then
 * both of the file's files are made durable. */
int tp_apply_fsync(tp_engine* e, const ordo_request* r, ordo_failure* failure) {
  tp_file* f = tp_file_get(e, r->file, failure);
  if (f == NULL) return ORDO_ERROR;
  int rc = tp_flush_all(e, failure);
  if (rc != ORDO_OK) return rc;
  if (fdatasync(f->data_fd) != 0 || fdatasync(f->crc_fd) != 0) {
    tp_error(failure, "torn_persist: fdatasync %s: %s", f->name, strerror(errno));
    return ORDO_ERROR;
  }
  return ORDO_OK;
}
