/* torn_persist: the engine's entry points (ordo_engine_get, open, apply,
 * check, close), its configuration and its site table. */
#define _POSIX_C_SOURCE 200809L /* pread, openat, fdopendir, fdatasync */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp.h"

typedef struct site_def {
  uint32_t id;
  const char* name;
  uint32_t access;
} site_def;

/* The site table, in registration order (ids 1..N). */
static const site_def kSites[] = {
    {TP_SITE_CACHE_LOCK, "cache.lock", ORDO_ACCESS_ACQUIRE},
    {TP_SITE_CACHE_UNLOCK, "cache.unlock", ORDO_ACCESS_RELEASE},
    {TP_SITE_READ_LOCK, "read.lock", ORDO_ACCESS_ACQUIRE},
    {TP_SITE_READ_HIT_VERIFY, "read.hit_verify", ORDO_ACCESS_VERIFY},
    {TP_SITE_READ_MISS_FILL, "read.miss_fill", ORDO_ACCESS_FILL},
    {TP_SITE_READ_MISS_READ, "read.miss_read", ORDO_ACCESS_READ},
    {TP_SITE_READ_MISS_CRC, "read.miss_crc", ORDO_ACCESS_READ},
    {TP_SITE_READ_MISS_VERIFY, "read.miss_verify", ORDO_ACCESS_VERIFY},
    {TP_SITE_READ_VERIFY_FAIL, "read.verify_fail", ORDO_ACCESS_VERIFY_FAIL},
    {TP_SITE_READ_INSTALL, "read.install", ORDO_ACCESS_MARK_CLEAN},
    {TP_SITE_READ_UNLOCK, "read.unlock", ORDO_ACCESS_RELEASE},
    {TP_SITE_WRITE_LOCK, "write.lock", ORDO_ACCESS_ACQUIRE},
    {TP_SITE_WRITE_RMW_FILL, "write.rmw_fill", ORDO_ACCESS_FILL},
    {TP_SITE_WRITE_RMW_CRC, "write.rmw_crc", ORDO_ACCESS_READ},
    {TP_SITE_WRITE_RMW_VERIFY, "write.rmw_verify", ORDO_ACCESS_VERIFY},
    {TP_SITE_WRITE_VERIFY_FAIL, "write.verify_fail", ORDO_ACCESS_VERIFY_FAIL},
    {TP_SITE_WRITE_UPDATE, "write.update", ORDO_ACCESS_WRITE},
    {TP_SITE_WRITE_PUBLISH, "write.publish", ORDO_ACCESS_PUBLISH},
    {TP_SITE_WRITE_UNLOCK, "write.unlock", ORDO_ACCESS_RELEASE},
    {TP_SITE_CACHE_EVICT, "cache.evict", ORDO_ACCESS_FLAG_SET},
    {TP_SITE_FLUSH_LOCK, "flush.lock", ORDO_ACCESS_ACQUIRE},
    {TP_SITE_FLUSH_DATA, "flush.write_data", ORDO_ACCESS_WRITE},
    {TP_SITE_FLUSH_CRC, "flush.write_crc", ORDO_ACCESS_WRITE},
    {TP_SITE_FLUSH_CLEAN, "flush.mark_clean", ORDO_ACCESS_FLAG_SET},
    {TP_SITE_FLUSH_UNLOCK, "flush.unlock", ORDO_ACCESS_RELEASE},
};

static int parse_u32(const char* s, size_t n, uint32_t lo, uint32_t hi, uint32_t* out) {
  if (n == 0 || n > 10) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v < lo || v > hi) return 0;
  *out = (uint32_t)v;
  return 1;
}

/* "mode=legacy|fixed,cache_blocks=N,flush_every=N,stripes=N"; unknown keys
 * and bad values are errors. */
static int parse_config(tp_engine* e, const char* config, ordo_failure* failure) {
  const char* p = config != NULL ? config : "";
  while (*p != '\0') {
    const char* end = strchr(p, ',');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    const char* eq = memchr(p, '=', len);
    if (len > 0) {
      if (eq == NULL) {
        tp_error(failure, "torn_persist: config item \"%.*s\" is not key=value", (int)len, p);
        return ORDO_ERROR;
      }
      size_t klen = (size_t)(eq - p);
      const char* v = eq + 1;
      size_t vlen = len - klen - 1;
      int ok = 1;
      if (klen == 4 && memcmp(p, "mode", 4) == 0) {
        if (vlen == 6 && memcmp(v, "legacy", 6) == 0)
          e->mode = TP_MODE_LEGACY;
        else if (vlen == 5 && memcmp(v, "fixed", 5) == 0)
          e->mode = TP_MODE_FIXED;
        else
          ok = 0;
      } else if (klen == 12 && memcmp(p, "cache_blocks", 12) == 0) {
        ok = parse_u32(v, vlen, 2, 1u << 20, &e->cache_blocks);
      } else if (klen == 11 && memcmp(p, "flush_every", 11) == 0) {
        ok = parse_u32(v, vlen, 1, 1u << 20, &e->flush_every);
      } else if (klen == 7 && memcmp(p, "stripes", 7) == 0) {
        ok = parse_u32(v, vlen, 1, 4096, &e->stripes);
      } else {
        tp_error(failure,
                 "torn_persist: unknown config key \"%.*s\" (keys: mode, cache_blocks, "
                 "flush_every, stripes)",
                 (int)klen, p);
        return ORDO_ERROR;
      }
      if (!ok) {
        tp_error(failure, "torn_persist: bad value for %.*s: \"%.*s\"", (int)klen, p, (int)vlen, v);
        return ORDO_ERROR;
      }
    }
    p += len;
    if (*p == ',') p++;
  }
  if (e->flush_every > e->cache_blocks) {
    tp_error(failure, "torn_persist: flush_every (%u) must not exceed cache_blocks (%u)",
             e->flush_every, e->cache_blocks);
    return ORDO_ERROR;
  }
  return ORDO_OK;
}

static void engine_free(tp_engine* e) {
  const ordo_host* h = e->host;
  tp_files_close(e);
  tp_cache_free(e);
  if (e->stripe_mu != NULL) {
    for (uint32_t i = 0; i < e->stripes; i++)
      if (e->stripe_mu[i] != NULL) h->mutex_free(h->ctx, e->stripe_mu[i]);
    free(e->stripe_mu);
  }
  if (e->cache_mu != NULL) h->mutex_free(h->ctx, e->cache_mu);
  if (e->files_mu != NULL) h->mutex_free(h->ctx, e->files_mu);
  if (e->dir_fd >= 0) close(e->dir_fd);
  free(e);
}

static int tp_open(const ordo_host* host, const char* dir, const char* config, void** engine,
                   ordo_failure* failure) {
  tp_engine* e = calloc(1, sizeof *e);
  if (e == NULL) {
    tp_error(failure, "torn_persist: out of memory");
    return ORDO_ERROR;
  }
  e->host = host;
  e->mode = TP_MODE_FIXED;
  e->cache_blocks = 8;
  e->flush_every = 4;
  e->stripes = 16;
  e->dir_fd = -1;
  e->flusher = -1;
  e->has_observe = ORDO_HOST_HAS(host, observe) && host->observe != NULL;
  static const unsigned char kZeros[TP_BLOCK_SIZE];
  e->zero_crc = tp_crc32c(kZeros, sizeof kZeros);
  int rc = parse_config(e, config, failure);
  if (rc != ORDO_OK) goto fail;
  rc = ORDO_ERROR;
  e->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (e->dir_fd < 0) {
    tp_error(failure, "torn_persist: open %s: %s", dir, strerror(errno));
    goto fail;
  }
  for (size_t i = 0; i < sizeof kSites / sizeof kSites[0]; i++) {
    if (!ORDO_REGISTER_SITE(host, kSites[i].id, kSites[i].name, kSites[i].access)) {
      tp_error(failure, "torn_persist: site %s did not get id %u", kSites[i].name, kSites[i].id);
      goto fail;
    }
  }
  e->files_mu = host->mutex_new(host->ctx);
  e->cache_mu = host->mutex_new(host->ctx);
  e->stripe_mu = calloc(e->stripes, sizeof *e->stripe_mu);
  if (e->files_mu == NULL || e->cache_mu == NULL || e->stripe_mu == NULL) goto oom;
  for (uint32_t i = 0; i < e->stripes; i++)
    if ((e->stripe_mu[i] = host->mutex_new(host->ctx)) == NULL) goto oom;
  if (tp_cache_init(e) != 0) goto oom;
  if (tp_files_recover(e, failure) != ORDO_OK) goto fail;
  e->flusher = host->spawn(host->ctx, "flusher", tp_flusher_main, e);
  if (e->flusher < 0) {
    tp_error(failure, "torn_persist: could not spawn the flusher");
    goto fail;
  }
  *engine = e;
  return ORDO_OK;
oom:
  tp_error(failure, "torn_persist: out of memory");
fail:
  engine_free(e);
  return ORDO_ERROR;
}

static int tp_apply(void* engine, const ordo_request* r, ordo_failure* failure) {
  tp_engine* e = engine;
  switch (r->op) {
    case ORDO_OP_READ:
      return tp_apply_read(e, r, failure);
    case ORDO_OP_WRITE:
      return tp_apply_write(e, r, failure);
    case ORDO_OP_FSYNC:
      return tp_apply_fsync(e, r, failure);
    default:
      tp_error(failure, "torn_persist: operation %u not supported", r->op);
      return ORDO_ERROR;
  }
}

/* Persists everything, then verifies every block of every file on disk and
 * every cached clean buffer. */
static int tp_check(void* engine, ordo_failure* failure) {
  tp_engine* e = engine;
  int rc = tp_flush_all(e, failure);
  if (rc != ORDO_OK) return rc;
  e->host->mutex_lock(e->host->ctx, e->files_mu);
  uint32_t nfiles = e->nfiles;
  e->host->mutex_unlock(e->host->ctx, e->files_mu);
  unsigned char buf[TP_BLOCK_SIZE];
  for (uint32_t i = 0; i < nfiles && rc == ORDO_OK; i++) {
    const tp_file* f = e->files[i];
    uint32_t n = tp_store_blocks(f);
    for (uint32_t blk = 0; blk < n && rc == ORDO_OK; blk++) {
      uint32_t stored = 0;
      int present = 0;
      if (tp_store_read_data(f, blk, buf) != 0 ||
          tp_store_read_crc(f, blk, &stored, &present) != 0) {
        tp_error(failure, "torn_persist: check: read %s block %u: %s", f->name, blk,
                 strerror(errno));
        return ORDO_ERROR;
      }
      uint32_t have = tp_crc32c(buf, TP_BLOCK_SIZE);
      uint32_t want = present ? stored : e->zero_crc;
      if (have != want) {
        uint64_t off = (uint64_t)blk * TP_BLOCK_SIZE;
        tp_fail(failure, ORDO_FAILURE_CORRUPT, tp_obj(f, blk), f->name, off,
                "block %u of %s (offset %llu) on disk: data crc32c %08x, stored checksum %08x", blk,
                f->name, (unsigned long long)off, have, want);
        rc = ORDO_FAILED;
      }
    }
  }
  if (rc == ORDO_OK) rc = tp_cache_check(e, failure);
  return rc;
}

static int tp_close(void* engine, ordo_failure* failure) {
  tp_engine* e = engine;
  tp_flusher_stop(e);
  int rc = ORDO_OK;
  if (e->io_failed) {
    tp_error(failure, "torn_persist: flusher failed: %s", e->io_msg);
    rc = ORDO_ERROR;
  }
  engine_free(e);
  return rc;
}

static const ordo_engine_ops kOps = {
    .size = sizeof(ordo_engine_ops),
    .major = ORDO_ENGINE_ABI_MAJOR,
    .minor = ORDO_ENGINE_ABI_MINOR,
    .name = "torn-persist",
    .open = tp_open,
    .apply = tp_apply,
    .check = tp_check,
    .close = tp_close,
};

ORDO_ENGINE_EXPORT int ordo_engine_get(uint16_t host_major, uint16_t host_minor,
                                       const ordo_engine_ops** ops) {
  (void)host_minor; /* only 1.0 kinds are registered; observe() is checked at open */
  if (host_major != ORDO_ENGINE_ABI_MAJOR) return ORDO_ERROR;
  *ops = &kOps;
  return ORDO_OK;
}
