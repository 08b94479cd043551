/* evict_race: the ABI glue. ordo_engine_get, open/apply/check/close, the
 * site table and the configuration. */
#define _POSIX_C_SOURCE 200809L /* pread, openat, fdopendir, strndup under -std=c11 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "er.h"

int er_fail(ordo_failure* f, int status, uint32_t kind, uint64_t object, const char* file,
            uint64_t offset, const char* fmt, ...) {
  if (f == NULL) return status;
  if (ORDO_HAS(ordo_failure, f, kind)) f->kind = kind;
  if (ORDO_HAS(ordo_failure, f, object)) f->object = object;
  if (ORDO_HAS(ordo_failure, f, offset)) f->offset = offset;
  if (file != NULL && ORDO_HAS(ordo_failure, f, file))
    snprintf(f->file, sizeof f->file, "%s", file);
  if (ORDO_HAS(ordo_failure, f, message)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
  }
  return status;
}

static const struct {
  uint32_t id;
  const char* name;
  uint32_t access;
} kSites[] = {
    {SITE_READ_LOCK, "read.lock", ORDO_ACCESS_ACQUIRE},
    {SITE_READ_LOOKUP, "read.lookup", ORDO_ACCESS_FLAG_READ},
    {SITE_READ_PIN, "read.pin", ORDO_ACCESS_FLAG_SET},
    {SITE_READ_COPY, "read.copy", ORDO_ACCESS_READ},
    {SITE_READ_VERIFY, "read.verify", ORDO_ACCESS_VERIFY},
    {SITE_READ_VERIFY_FAIL, "read.verify_fail", ORDO_ACCESS_VERIFY_FAIL},
    {SITE_READ_UNPIN, "read.unpin", ORDO_ACCESS_FLAG_SET},
    {SITE_READ_UNLOCK, "read.unlock", ORDO_ACCESS_RELEASE},
    {SITE_CACHE_ALLOC, "cache.alloc", ORDO_ACCESS_NONE},
    {SITE_CACHE_STEAL, "cache.steal", ORDO_ACCESS_FLAG_SET},
    {SITE_MISS_FILL, "miss.fill", ORDO_ACCESS_FILL},
    {SITE_MISS_VERIFY, "miss.verify", ORDO_ACCESS_VERIFY},
    {SITE_MISS_VERIFY_FAIL, "miss.verify_fail", ORDO_ACCESS_VERIFY_FAIL},
    {SITE_MISS_INSTALL, "miss.install", ORDO_ACCESS_MARK_CLEAN},
    {SITE_WRITE_LOCK, "write.lock", ORDO_ACCESS_ACQUIRE},
    {SITE_WRITE_READ_OLD, "write.read_old", ORDO_ACCESS_READ},
    {SITE_WRITE_DATA, "write.data", ORDO_ACCESS_WRITE},
    {SITE_WRITE_PUBLISH, "write.publish", ORDO_ACCESS_PUBLISH},
    {SITE_WRITE_UNLOCK, "write.unlock", ORDO_ACCESS_RELEASE},
    {SITE_INDEX_LOCK, "index.lock", ORDO_ACCESS_ACQUIRE},
    {SITE_INDEX_UNLOCK, "index.unlock", ORDO_ACCESS_RELEASE},
    {SITE_EVICT_DETACH, "evict.detach", ORDO_ACCESS_FLAG_SET},
};

/* Parses a decimal in [lo, hi]; 0 on success. */
static int parse_u32(const char* s, size_t n, uint32_t lo, uint32_t hi, uint32_t* out) {
  uint64_t v = 0;
  if (n == 0 || n > 10) return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v < lo || v > hi) return -1;
  *out = (uint32_t)v;
  return 0;
}

static int parse_config(const char* config, er_config* c, ordo_failure* failure) {
  int low_water_set = 0;
  c->mode = ER_MODE_FIXED;
  c->cache_blocks = 8;
  c->low_water = 0;
  c->evict_every = 0;
  c->write_allocate = 1;
  const char* p = config != NULL ? config : "";
  while (*p != '\0') {
    const char* end = strchr(p, ',');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    const char* eq = memchr(p, '=', len);
    if (len == 0) {
      p = end != NULL ? end + 1 : p + len;
      continue;
    }
    if (eq == NULL)
      return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "config: \"%.*s\" is not key=value",
                     (int)len, p);
    size_t klen = (size_t)(eq - p);
    const char* v = eq + 1;
    size_t vlen = len - klen - 1;
    int bad = 0;
    if (klen == 4 && memcmp(p, "mode", 4) == 0) {
      if (vlen == 6 && memcmp(v, "legacy", 6) == 0)
        c->mode = ER_MODE_LEGACY;
      else if (vlen == 5 && memcmp(v, "fixed", 5) == 0)
        c->mode = ER_MODE_FIXED;
      else
        bad = 1;
    } else if (klen == 12 && memcmp(p, "cache_blocks", 12) == 0) {
      bad = parse_u32(v, vlen, 1, ER_MAX_CACHE_BLOCKS, &c->cache_blocks);
    } else if (klen == 9 && memcmp(p, "low_water", 9) == 0) {
      bad = parse_u32(v, vlen, 0, ER_MAX_CACHE_BLOCKS, &c->low_water);
      low_water_set = 1;
    } else if (klen == 11 && memcmp(p, "evict_every", 11) == 0) {
      bad = parse_u32(v, vlen, 0, 1000000000u, &c->evict_every);
    } else if (klen == 14 && memcmp(p, "write_allocate", 14) == 0) {
      bad = parse_u32(v, vlen, 0, 1, &c->write_allocate);
    } else {
      return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0,
                     "config: unknown key \"%.*s\" (known: mode, cache_blocks, low_water, "
                     "evict_every, write_allocate)",
                     (int)klen, p);
    }
    if (bad)
      return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "config: bad value in \"%.*s\"", (int)len,
                     p);
    p = end != NULL ? end + 1 : p + len;
  }
  if (!low_water_set) c->low_water = c->cache_blocks / 4;
  if (c->low_water >= c->cache_blocks)
    return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0,
                   "config: low_water (%u) must be below cache_blocks (%u)", c->low_water,
                   c->cache_blocks);
  return ORDO_OK;
}

static void engine_free(er_engine* e) {
  const ordo_host* h = e->host;
  er_cache_close(e);
  er_store_close(e);
  for (uint32_t i = 0; i < ER_STRIPES; i++)
    if (e->stripes[i] != NULL) h->mutex_free(h->ctx, e->stripes[i]);
  if (e->files_lock != NULL) h->mutex_free(h->ctx, e->files_lock);
  if (e->dir_fd >= 0) close(e->dir_fd);
  free(e);
}

static int er_open(const ordo_host* host, const char* dir, const char* config, void** engine,
                   ordo_failure* failure) {
  if (host == NULL || host->major != ORDO_ENGINE_ABI_MAJOR)
    return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "evict_race: unsupported host ABI");
  er_config cfg;
  int rc = parse_config(config, &cfg, failure);
  if (rc != ORDO_OK) return rc;
  for (size_t i = 0; i < sizeof kSites / sizeof kSites[0]; i++)
    if (!ORDO_REGISTER_SITE(host, kSites[i].id, kSites[i].name, kSites[i].access))
      return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "evict_race: site %s did not get id %u",
                     kSites[i].name, kSites[i].id);

  er_engine* e = calloc(1, sizeof *e);
  if (e == NULL) return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "out of memory");
  e->host = host;
  e->cfg = cfg;
  e->evictor = -1;
  e->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (e->dir_fd < 0) {
    rc = er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "open %s: %s", dir, strerror(errno));
    free(e);
    return rc;
  }
  e->files_lock = host->mutex_new(host->ctx);
  for (uint32_t i = 0; i < ER_STRIPES; i++) e->stripes[i] = host->mutex_new(host->ctx);
  rc = ORDO_OK;
  for (uint32_t i = 0; i < ER_STRIPES; i++)
    if (e->stripes[i] == NULL) rc = ORDO_ERROR;
  if (e->files_lock == NULL || rc != ORDO_OK) {
    engine_free(e);
    return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "mutex_new failed");
  }
  if ((rc = er_store_open(e, failure)) != ORDO_OK || (rc = er_cache_open(e, failure)) != ORDO_OK) {
    engine_free(e);
    return rc;
  }
  e->evictor = host->spawn(host->ctx, "evictor", er_evictor_main, e);
  if (e->evictor < 0) {
    engine_free(e);
    return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "spawn evictor failed");
  }
  *engine = e;
  return ORDO_OK;
}

static int er_apply_op(void* engine, const ordo_request* request, ordo_failure* failure) {
  return er_apply((er_engine*)engine, request, failure);
}

static int er_check(void* engine, ordo_failure* failure) {
  er_engine* e = engine;
  int rc = er_store_check(e, failure);
  if (rc != ORDO_OK) return rc;
  return er_cache_check(e, failure);
}

static int er_close(void* engine, ordo_failure* failure) {
  (void)failure;
  er_engine* e = engine;
  er_evictor_stop(e);
  engine_free(e);
  return ORDO_OK;
}

static const ordo_engine_ops kOps = {
    .size = sizeof(ordo_engine_ops),
    .major = ORDO_ENGINE_ABI_MAJOR,
    .minor = ORDO_ENGINE_ABI_MINOR,
    .name = "evict-race",
    .open = er_open,
    .apply = er_apply_op,
    .check = er_check,
    .close = er_close,
};

ORDO_ENGINE_EXPORT int ordo_engine_get(uint16_t host_major, uint16_t host_minor,
                                       const ordo_engine_ops** ops) {
  (void)host_minor; /* only 1.0 access kinds are used */
  if (host_major != ORDO_ENGINE_ABI_MAJOR || ops == NULL) return ORDO_ERROR;
  *ops = &kOps;
  return ORDO_OK;
}
