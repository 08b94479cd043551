/* writeback_cache.c: an example third-party cache engine for ordo: the ABI
 * glue.
 *
 * A write-back block cache over real files, written in C11 against the
 * public engine ABI (ordo/engine_abi.h) and nothing else from ordo. This
 * file is what the host sees: ordo_engine_get(), open/apply/check/close, the
 * sites every run registers and the key=value configuration. The engine
 * itself is in the files wb.h lists (the store, the cache, the request paths
 * and the background threads); README.md walks through it and its bug.
 *
 * Build: cc -std=c11 -O2 -fPIC -shared -fvisibility=hidden
 *           -I<ordo>/plugin/include -o libwriteback_cache.so *.c
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wb.h"

/* Every site, registered in open() in exactly this order (the S_* enum). */
static const struct {
  const char* name;
  uint32_t access;
} k_sites[S_COUNT] = {
    {"write.lock", ORDO_ACCESS_ACQUIRE},
    {"write.fill", ORDO_ACCESS_FILL}, /* old block for a partial write */
    {"write.update", ORDO_ACCESS_WRITE},
    {"write.unlock", ORDO_ACCESS_RELEASE},
    {"read.lock", ORDO_ACCESS_ACQUIRE},
    {"read.fill", ORDO_ACCESS_FILL},
    {"read.mark_clean", ORDO_ACCESS_MARK_CLEAN},
    {"read.verify", ORDO_ACCESS_VERIFY},
    {"read.verify_fail", ORDO_ACCESS_VERIFY_FAIL},
    {"read.unlock", ORDO_ACCESS_RELEASE},
    {"readahead.lock", ORDO_ACCESS_ACQUIRE}, /* mode=fixed only */
    {"readahead.lookup", ORDO_ACCESS_FLAG_READ},
    {"readahead.fill", ORDO_ACCESS_FILL},
    {"readahead.mark_clean", ORDO_ACCESS_MARK_CLEAN},
    {"readahead.unlock", ORDO_ACCESS_RELEASE}, /* mode=fixed only */
    {"flush.lock", ORDO_ACCESS_ACQUIRE},
    {"flush.write_back", ORDO_ACCESS_PUBLISH},
    {"flush.mark_clean", ORDO_ACCESS_FLAG_SET},
    {"flush.unlock", ORDO_ACCESS_RELEASE},
};

/* ---- Results ---- */

static void fill_message(ordo_failure* f, const char* fmt, va_list ap) {
  if (WB_FAIL_HAS(f, message)) vsnprintf(f->message, sizeof f->message, fmt, ap);
}

/* ORDO_ERROR: the operation could not be done; message only. */
int wb_error(ordo_failure* f, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fill_message(f, fmt, ap);
  va_end(ap);
  return ORDO_ERROR;
}

/* ORDO_FAILED: a finding (corruption detected). */
int wb_found(ordo_failure* f, uint32_t kind, uint64_t obj, const char* file, uint64_t offset,
             const char* fmt, ...) {
  if (WB_FAIL_HAS(f, kind)) f->kind = kind;
  if (WB_FAIL_HAS(f, object)) f->object = obj;
  if (WB_FAIL_HAS(f, offset)) f->offset = offset;
  if (WB_FAIL_HAS(f, file)) snprintf(f->file, sizeof f->file, "%s", file);
  va_list ap;
  va_start(ap, fmt);
  fill_message(f, fmt, ap);
  va_end(ap);
  return ORDO_FAILED;
}

/* ---- Configuration ---- */

/* Sets one key of `c`; ORDO_ERROR naming the key (unknown) or the value
 * (out of range), and what it wants. */
static int parse_key(wb_config* c, const char* key, const char* val, ordo_failure* f) {
  if (strcmp(key, "mode") == 0) {
    if (strcmp(val, "fixed") == 0) return c->fixed = 1, ORDO_OK;
    if (strcmp(val, "legacy") == 0) return c->fixed = 0, ORDO_OK;
    return wb_error(f,
                    "writeback_cache: bad value '%s' for key 'mode' "
                    "(want legacy or fixed)",
                    val);
  }
  static const struct {
    const char* key;
    size_t at;
    unsigned long lo, hi;
  } num[] = {
      {"block_size", offsetof(wb_config, block_size), 512, 1u << 20},
      {"cache_blocks", offsetof(wb_config, cache_blocks), 1, 1u << 20},
      {"readahead", offsetof(wb_config, readahead), 0, 1024},
      {"readahead_threads", offsetof(wb_config, readahead_threads), 0, 64},
      {"flush_every", offsetof(wb_config, flush_every), 1, 1u << 20},
  };
  for (size_t i = 0; i < sizeof num / sizeof num[0]; i++) {
    if (strcmp(key, num[i].key) != 0) continue;
    char* end = NULL;
    errno = 0;
    unsigned long v = (val[0] >= '0' && val[0] <= '9') ? strtoul(val, &end, 10) : 0;
    int ok = end && *end == '\0' && errno == 0 && v >= num[i].lo && v <= num[i].hi;
    if (ok && i == 0 && (v & (v - 1))) ok = 0; /* block_size: power of two */
    if (!ok)
      return wb_error(f,
                      "writeback_cache: bad value '%s' for key '%s' (want "
                      "%s%lu..%lu)",
                      val, key, i == 0 ? "a power of two in " : "", num[i].lo, num[i].hi);
    *(uint32_t*)((char*)c + num[i].at) = (uint32_t)v;
    return ORDO_OK;
  }
  return wb_error(f,
                  "writeback_cache: unknown config key '%s' (known: mode, "
                  "block_size, cache_blocks, readahead, readahead_threads, "
                  "flush_every)",
                  key);
}

/* Parses "key=value,key=value" (NULL or empty: the defaults) into `c`. */
static int parse_config(const char* config, wb_config* c, ordo_failure* f) {
  *c = (wb_config){1, 4096, 256, 4, 1, 8}; /* defaults */
  for (const char* p = config ? config : ""; *p;) {
    const char* end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char item[128];
    if (n >= sizeof item)
      return wb_error(f, "writeback_cache: config item too long: '%.40s...'", p);
    memcpy(item, p, n);
    item[n] = '\0';
    char* eq = strchr(item, '=');
    if (n > 0 && !eq)
      return wb_error(f, "writeback_cache: config item '%s' is not key=value", item);
    if (n > 0) {
      *eq = '\0';
      int rc = parse_key(c, item, eq + 1, f);
      if (rc != ORDO_OK) return rc;
    }
    p += n + (end ? 1 : 0);
  }
  return ORDO_OK;
}

/* ---- Entry points ---- */

/* Frees everything; returns nonzero if closing a file failed. */
static int destroy(wb_engine* e) {
  int bad = 0;
  void* ctx = e->host->ctx;
  for (uint32_t i = 0; i < e->nfiles; i++) {
    bad |= close(e->files[i]->data_fd) | close(e->files[i]->sum_fd);
    free(e->files[i]->sums);
    free(e->files[i]);
  }
  if (e->cache_mu) e->host->mutex_free(ctx, e->cache_mu);
  if (e->flush_mu) e->host->mutex_free(ctx, e->flush_mu);
  for (int i = 0; i < WB_STRIPES; i++)
    if (e->stripe[i]) e->host->mutex_free(ctx, e->stripe[i]);
  free(e->files), free(e->bufs), free(e->arena), free(e->queue);
  free(e->flush_list), free(e->stage), free(e->zero), free(e->ra);
  free(e);
  return bad;
}

/* Nonzero when the host provides every service this engine calls. */
static int host_usable(const ordo_host* h) {
#define WB_NEED(fld) (ORDO_HOST_HAS(h, fld) && h->fld)
  return WB_NEED(spawn) && WB_NEED(join) && WB_NEED(mutex_new) && WB_NEED(mutex_free) &&
         WB_NEED(mutex_lock) && WB_NEED(mutex_unlock) && WB_NEED(wait) && WB_NEED(notify) &&
         WB_NEED(site) && WB_NEED(point);
#undef WB_NEED
}

/* Allocates an engine for `cfg` in `dir`: registers every site (always all
 * of them, in their order), then makes the buffers, the read-ahead queue and
 * the host mutexes (cache_mu, flush_mu, then the stripes). No thread yet. */
static int new_engine(const ordo_host* host, const char* dir, const wb_config* cfg, wb_engine** out,
                      ordo_failure* f) {
  wb_engine* e = calloc(1, sizeof *e);
  if (!e) return wb_error(f, "writeback_cache: out of memory");
  e->host = host, e->cfg = *cfg, e->flusher = -1;
  snprintf(e->dir, sizeof e->dir, "%s", dir);
  wb_crc_init(e->crc_table);
  for (int s = 0; s < S_COUNT; s++) /* every site, always, in this order */
    e->site[s] = host->site(host->ctx, k_sites[s].name, k_sites[s].access);
  const size_t bs = cfg->block_size, nb = cfg->cache_blocks;
  e->zero = calloc(1, bs);
  e->bufs = calloc(nb, sizeof *e->bufs);
  e->arena = malloc(nb * bs);
  e->qcap = cfg->readahead * 16 > 64 ? cfg->readahead * 16 : 64;
  e->queue = calloc(e->qcap, sizeof *e->queue);
  e->flush_list = calloc(nb, sizeof *e->flush_list);
  e->stage = malloc(bs);
  e->ra = malloc((cfg->readahead_threads + 1) * sizeof *e->ra);
  e->cache_mu = host->mutex_new(host->ctx);
  e->flush_mu = host->mutex_new(host->ctx);
  int ok = e->zero && e->bufs && e->arena && e->queue && e->flush_list && e->stage && e->ra &&
           e->cache_mu && e->flush_mu;
  for (int i = 0; i < WB_STRIPES; i++) ok &= (e->stripe[i] = host->mutex_new(host->ctx)) != NULL;
  for (int s = 0; s < S_COUNT; s++) ok &= e->site[s] > 0;
  if (!ok) {
    destroy(e);
    return wb_error(f, "writeback_cache: open: out of memory, mutexes or sites");
  }
  e->zero_crc = wb_crc32c(e, e->zero, bs);
  for (size_t i = 0; i < nb; i++) e->bufs[i].data = e->arena + i * bs;
  *out = e;
  return ORDO_OK;
}

/* The ops below keep the contracts of ordo_engine_ops (ordo/engine_abi.h). */

static int wb_open(const ordo_host* host, const char* dir, const char* config, void** engine,
                   ordo_failure* f) {
  if (!host || !dir || !engine)
    return wb_error(f, "writeback_cache: open: null host, dir or engine");
  *engine = NULL;
  if (host->major != ORDO_ENGINE_ABI_MAJOR)
    return wb_error(f, "writeback_cache: host ABI %u.%u, engine needs %d.x", host->major,
                    host->minor, ORDO_ENGINE_ABI_MAJOR);
  if (!host_usable(host)) return wb_error(f, "writeback_cache: the host lacks a service it needs");
  wb_config cfg;
  int rc = parse_config(config, &cfg, f);
  if (rc != ORDO_OK) return rc;
  if (strlen(dir) >= sizeof((wb_engine*)0)->dir)
    return wb_error(f, "writeback_cache: directory name too long");
  wb_engine* e = NULL;
  rc = new_engine(host, dir, &cfg, &e, f);
  if (rc != ORDO_OK) return rc;
  if (wb_start_threads(e) != 0) {
    wb_stop_threads(e);
    destroy(e);
    return wb_error(f, "writeback_cache: open: could not spawn a thread");
  }
  *engine = e;
  return ORDO_OK;
}

static int wb_apply(void* engine, const ordo_request* r, ordo_failure* f) {
  wb_engine* e = engine;
  if (!e || !r || r->size < offsetof(ordo_request, thread) + sizeof r->thread || !r->file)
    return wb_error(f, "writeback_cache: apply: bad request");
  const uint64_t bs = e->cfg.block_size;
  if (r->length > UINT64_MAX - r->offset ||
      (r->length && (r->offset + r->length - 1) / bs > UINT32_MAX))
    return wb_error(f, "writeback_cache: request past the largest file");
  if ((r->op == ORDO_OP_WRITE && r->length && !r->data) ||
      (r->op == ORDO_OP_READ && r->length && !r->out))
    return wb_error(f, "writeback_cache: apply: missing data buffer");
  wb_file* file = NULL;
  lock(e, e->cache_mu);
  int failed = e->io_failed;
  int rc = failed ? ORDO_OK : wb_get_file(e, r->file, &file, f);
  unlock(e, e->cache_mu);
  if (failed) return wb_io_failed_error(e, f);
  if (rc != ORDO_OK) return rc;
  switch (r->op) {
    case ORDO_OP_READ:
      return wb_do_read(e, file, r, f);
    case ORDO_OP_WRITE:
      return wb_do_write(e, file, r->offset, r->length, r->data, f);
    case ORDO_OP_TRIM: /* the range reads as zeroes afterwards */
      return wb_do_write(e, file, r->offset, r->length, NULL, f);
    case ORDO_OP_FSYNC:
      rc = wb_flush_pass(e, f);
      if (rc == ORDO_OK && (fsync(file->data_fd) || fsync(file->sum_fd)))
        rc = wb_error(f, "writeback_cache: fsync %s: %s", file->name, strerror(errno));
      return rc;
    default:
      return wb_error(f, "writeback_cache: unknown op %u", r->op);
  }
}

static int wb_check(void* engine, ordo_failure* f) {
  wb_engine* e = engine;
  if (!e) return wb_error(f, "writeback_cache: check: no engine");
  lock(e, e->cache_mu);
  e->host->wait(e->host->ctx, e->cache_mu, wb_readahead_idle, e); /* read-ahead done */
  uint32_t nfiles = e->nfiles;
  unlock(e, e->cache_mu);
  int rc = wb_flush_pass(e, f);
  uint8_t* buf = malloc(e->cfg.block_size);
  if (rc == ORDO_OK && !buf) rc = wb_error(f, "writeback_cache: out of memory");
  for (uint32_t i = 0; rc == ORDO_OK && i < nfiles; i++) {
    lock(e, e->cache_mu);
    wb_file* file = e->files[i];
    unlock(e, e->cache_mu);
    rc = wb_check_file(e, file, buf, f);
  }
  free(buf);
  return rc;
}

static int wb_close(void* engine, ordo_failure* f) {
  wb_engine* e = engine;
  if (!e) return wb_error(f, "writeback_cache: close: no engine");
  wb_stop_threads(e);
  int rc = e->io_failed ? wb_io_failed_error(e, f) : wb_flush_pass(e, f);
  if (destroy(e) && rc == ORDO_OK)
    rc = wb_error(f, "writeback_cache: close: closing a file failed");
  return rc;
}

static const ordo_engine_ops k_ops = {
    .size = sizeof(ordo_engine_ops),
    .major = ORDO_ENGINE_ABI_MAJOR,
    .minor = ORDO_ENGINE_ABI_MINOR,
    .name = "writeback-cache",
    .open = wb_open,
    .apply = wb_apply,
    .check = wb_check,
    .close = wb_close,
};

WB_EXPORT int ordo_engine_get(uint16_t host_major, uint16_t host_minor,
                              const ordo_engine_ops** ops) {
  (void)host_minor; /* this engine uses nothing past ABI 1.0 */
  if (host_major != ORDO_ENGINE_ABI_MAJOR || !ops) return ORDO_ERROR;
  *ops = &k_ops;
  return ORDO_OK;
}
