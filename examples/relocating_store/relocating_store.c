/* relocating_store: the engine's entry points (ordo_engine_ops), its
 * configuration and its ordering sites. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rs.h"

void rs_fail(ordo_failure* f, uint32_t kind, uint64_t object, uint32_t file_id, uint64_t offset,
             const char* fmt, ...) {
  if (!f) return;
  ordo_failure t;
  memset(&t, 0, sizeof t);
  t.kind = kind;
  t.object = object;
  t.offset = offset;
  if (file_id != UINT32_MAX) snprintf(t.file, sizeof t.file, "f%u", file_id);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t.message, sizeof t.message, fmt, ap);
  va_end(ap);
  /* Never past the host's struct; its size field stays the host's. */
  size_t n = f->size < sizeof t ? f->size : sizeof t;
  if (n > sizeof t.size)
    memcpy((char*)f + sizeof t.size, (char*)&t + sizeof t.size, n - sizeof t.size);
}

static const struct {
  uint32_t id;
  const char* name;
  uint32_t access;
} kSites[] = {
    {SITE_READ_FLAG_CACHED, "read.flag_cached_valid", ORDO_ACCESS_FLAG_READ},
    {SITE_READ_FLAG_MOVING, "read.flag_move_pending", ORDO_ACCESS_FLAG_READ},
    {SITE_READ_FLAG_NEW_SLOT, "read.flag_at_new_slot", ORDO_ACCESS_FLAG_READ},
    {SITE_READ_CACHE_COPY, "read.cache_copy", ORDO_ACCESS_READ},
    {SITE_READ_LOCK, "read.lock", ORDO_ACCESS_ACQUIRE},
    {SITE_READ_DISK, "read.slot_fill", ORDO_ACCESS_FILL},
    {SITE_READ_VERIFY, "read.verify", ORDO_ACCESS_VERIFY},
    {SITE_READ_VERIFY_FAIL, "read.verify_fail", ORDO_ACCESS_VERIFY_FAIL},
    {SITE_READ_MARK_CLEAN, "read.cache_mark_valid", ORDO_ACCESS_MARK_CLEAN},
    {SITE_READ_UNLOCK, "read.unlock", ORDO_ACCESS_RELEASE},
    {SITE_WRITE_LOCK, "write.lock", ORDO_ACCESS_ACQUIRE},
    {SITE_WRITE_READ_OLD, "write.read_old", ORDO_ACCESS_READ},
    {SITE_WRITE_VERIFY, "write.verify", ORDO_ACCESS_VERIFY},
    {SITE_WRITE_VERIFY_FAIL, "write.verify_fail", ORDO_ACCESS_VERIFY_FAIL},
    {SITE_WRITE_INVALIDATE, "write.flag_invalidate", ORDO_ACCESS_FLAG_SET},
    {SITE_WRITE_DATA, "write.append", ORDO_ACCESS_WRITE},
    {SITE_WRITE_PUBLISH, "write.map_update", ORDO_ACCESS_PUBLISH},
    {SITE_WRITE_UNLOCK, "write.unlock", ORDO_ACCESS_RELEASE},
    {SITE_RELOC_LOCK, "reloc.lock", ORDO_ACCESS_ACQUIRE},
    {SITE_RELOC_FLAG_MOVING, "reloc.flag_set_move_pending", ORDO_ACCESS_FLAG_SET},
    {SITE_RELOC_READ_OLD, "reloc.read_old", ORDO_ACCESS_READ},
    {SITE_RELOC_VERIFY, "reloc.verify", ORDO_ACCESS_VERIFY},
    {SITE_RELOC_VERIFY_FAIL, "reloc.verify_fail", ORDO_ACCESS_VERIFY_FAIL},
    {SITE_RELOC_COPY, "reloc.copy", ORDO_ACCESS_WRITE},
    {SITE_RELOC_MAP_UPDATE, "reloc.map_update", ORDO_ACCESS_PUBLISH},
    {SITE_RELOC_FLAG_NEW_SLOT, "reloc.flag_at_new_slot", ORDO_ACCESS_FLAG_SET},
    {SITE_RELOC_FLAG_MOVE_DONE, "reloc.flag_clear_move_pending", ORDO_ACCESS_FLAG_SET},
    {SITE_RELOC_UNLOCK, "reloc.unlock", ORDO_ACCESS_RELEASE},
};

static int parse_u32(const char* v, uint32_t max, uint32_t* out) {
  char* end;
  errno = 0;
  unsigned long x = strtoul(v, &end, 10);
  if (errno || end == v || *end || x > max || v[0] == '-') return -1;
  *out = (uint32_t)x;
  return 0;
}

static int parse_config(const char* config, rs_config* c, char* err, size_t errlen) {
  c->mode = RS_MODE_FIXED;
  c->relocate_every = 16;
  c->seg_slots = 32;
  c->cache_blocks = 32;
  c->gc_percent = 50;
  char buf[1024];
  if (!config) return 0;
  if (strlen(config) >= sizeof buf) {
    snprintf(err, errlen, "config too long");
    return -1;
  }
  strcpy(buf, config);
  char* save = NULL;
  for (char* kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char* eq = strchr(kv, '=');
    if (!eq) {
      snprintf(err, errlen, "config: \"%s\" is not key=value", kv);
      return -1;
    }
    *eq = '\0';
    const char* k = kv;
    const char* v = eq + 1;
    int bad = 0;
    if (strcmp(k, "mode") == 0) {
      if (strcmp(v, "legacy") == 0)
        c->mode = RS_MODE_LEGACY;
      else if (strcmp(v, "fixed") == 0)
        c->mode = RS_MODE_FIXED;
      else
        bad = 1;
    } else if (strcmp(k, "relocate_every") == 0) {
      bad = parse_u32(v, 1000000000u, &c->relocate_every);
    } else if (strcmp(k, "seg_slots") == 0) {
      bad = parse_u32(v, 1u << 20, &c->seg_slots) || c->seg_slots < 2;
    } else if (strcmp(k, "cache_blocks") == 0) {
      bad = parse_u32(v, 1u << 16, &c->cache_blocks);
    } else if (strcmp(k, "gc_percent") == 0) {
      bad = parse_u32(v, 100, &c->gc_percent);
    } else {
      snprintf(err, errlen,
               "config: unknown key \"%s\" (keys: mode, relocate_every, seg_slots, cache_blocks, "
               "gc_percent)",
               k);
      return -1;
    }
    if (bad) {
      snprintf(err, errlen, "config: bad value \"%s\" for %s", v, k);
      return -1;
    }
  }
  return 0;
}

static void engine_free(rs_engine* e) {
  const ordo_host* h = e->host;
  rs_cache_free(e);
  rs_log_free(e);
  for (uint32_t f = 0; f < RS_MAX_FILES; f++) {
    rs_file* file = atomic_load(&e->files[f]);
    if (!file) continue;
    for (uint32_t c = 0; c < RS_MAX_CHUNKS; c++) free(atomic_load(&file->chunks[c]));
    free(file);
  }
  for (uint32_t i = 0; i < RS_STRIPES; i++)
    if (e->stripe[i]) h->mutex_free(h->ctx, e->stripe[i]);
  if (e->meta) h->mutex_free(h->ctx, e->meta);
  if (e->ctl) h->mutex_free(h->ctx, e->ctl);
  if (e->dirfd >= 0) close(e->dirfd);
  free(e);
}

static int rs_open(const ordo_host* host, const char* dir, const char* config, void** engine,
                   ordo_failure* failure) {
  char err[400] = "";
  rs_engine* e = calloc(1, sizeof *e);
  if (!e) {
    rs_fail(failure, 0, 0, UINT32_MAX, 0, "out of memory");
    return ORDO_ERROR;
  }
  e->host = host;
  e->dirfd = -1;
  e->reloc_thread = -1;
  if (parse_config(config, &e->cfg, err, sizeof err) != 0) goto fail;
  for (size_t i = 0; i < sizeof kSites / sizeof kSites[0]; i++) {
    if (!ORDO_REGISTER_SITE(host, kSites[i].id, kSites[i].name, kSites[i].access)) {
      snprintf(err, sizeof err, "site %s did not get id %u", kSites[i].name, kSites[i].id);
      goto fail;
    }
  }
  snprintf(e->dir, sizeof e->dir, "%s", dir);
  e->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (e->dirfd < 0) {
    snprintf(err, sizeof err, "open %s: %s", dir, strerror(errno));
    goto fail;
  }
  e->meta = host->mutex_new(host->ctx);
  e->ctl = host->mutex_new(host->ctx);
  int have = e->meta && e->ctl;
  for (uint32_t i = 0; i < RS_STRIPES; i++) {
    e->stripe[i] = host->mutex_new(host->ctx);
    have = have && e->stripe[i];
  }
  if (!have) {
    snprintf(err, sizeof err, "host gave no mutex");
    goto fail;
  }
  if (rs_log_init(e, err, sizeof err) != 0) goto fail;
  if (rs_cache_init(e) != 0) {
    snprintf(err, sizeof err, "out of memory");
    goto fail;
  }
  if (rs_log_recover(e, err, sizeof err) != 0) goto fail;
  if (rs_relocator_start(e) != 0) {
    snprintf(err, sizeof err, "cannot spawn the relocator");
    goto fail;
  }
  *engine = e;
  return ORDO_OK;
fail:
  rs_fail(failure, 0, 0, UINT32_MAX, 0, "relocating_store: %s", err);
  engine_free(e);
  return ORDO_ERROR;
}

/* A failure the relocator found, once. */
static int take_bg_failure(rs_engine* e, ordo_failure* f) {
  int rc = ORDO_OK;
  e->host->mutex_lock(e->host->ctx, e->ctl);
  if (e->bg_failed && !e->bg_reported) {
    e->bg_reported = 1;
    rc = e->bg_failed;
    const ordo_failure* b = &e->bg_failure;
    rs_fail(f, b->kind, b->object, UINT32_MAX, b->offset, "%s", b->message);
    if (f && f->size >= offsetof(ordo_failure, message)) memcpy(f->file, b->file, sizeof f->file);
  }
  e->host->mutex_unlock(e->host->ctx, e->ctl);
  return rc;
}

static int rs_apply(void* engine, const ordo_request* r, ordo_failure* f) {
  rs_engine* e = engine;
  int rc = take_bg_failure(e, f);
  if (rc != ORDO_OK) return rc;
  uint32_t fid = 0;
  if (r->op != ORDO_OP_FSYNC && r->op != ORDO_OP_TRIM && rs_file_id(r->file, &fid) != 0) {
    rs_fail(f, 0, 0, UINT32_MAX, 0, "unsupported file name \"%s\" (f0, f1, ... below f%u)",
            r->file ? r->file : "(null)", RS_MAX_FILES);
    return ORDO_ERROR;
  }
  switch (r->op) {
    case ORDO_OP_READ:
      rc = rs_read(e, fid, r->offset, r->length, r->out, f);
      break;
    case ORDO_OP_WRITE:
      rc = rs_write(e, fid, r->offset, r->length, r->data, f);
      break;
    case ORDO_OP_FSYNC:
      rc = rs_log_sync(e) == 0 ? ORDO_OK : ORDO_ERROR;
      if (rc != ORDO_OK) rs_fail(f, 0, 0, UINT32_MAX, 0, "fdatasync: %s", strerror(errno));
      break;
    case ORDO_OP_TRIM:
      rc = ORDO_OK; /* not replayed by this ABI version */
      break;
    default:
      rs_fail(f, 0, 0, UINT32_MAX, 0, "unknown op %u", r->op);
      return ORDO_ERROR;
  }
  uint64_t n = atomic_fetch_add(&e->requests, 1) + 1;
  int by_count = e->cfg.relocate_every && n % e->cfg.relocate_every == 0;
  if (by_count || atomic_exchange(&e->gc_wanted, 0)) rs_relocator_kick(e);
  return rc;
}

static int rs_check(void* engine, ordo_failure* f) {
  rs_engine* e = engine;
  rs_relocator_quiesce(e);
  int rc = take_bg_failure(e, f);
  if (rc != ORDO_OK) return rc;
  return rs_check_all(e, f);
}

static int rs_close(void* engine, ordo_failure* f) {
  rs_engine* e = engine;
  rs_relocator_stop(e);
  int rc = take_bg_failure(e, f);
  engine_free(e);
  return rc;
}

static const ordo_engine_ops kOps = {
    sizeof(ordo_engine_ops),
    ORDO_ENGINE_ABI_MAJOR,
    ORDO_ENGINE_ABI_MINOR,
    "relocating-store",
    rs_open,
    rs_apply,
    rs_check,
    rs_close,
};

ORDO_ENGINE_EXPORT int ordo_engine_get(uint16_t host_major, uint16_t host_minor,
                                       const ordo_engine_ops** ops) {
  (void)host_minor; /* only 1.0 access kinds and host fields are used */
  if (host_major != ORDO_ENGINE_ABI_MAJOR) return ORDO_ERROR;
  rs_crc_init();
  *ops = &kOps;
  return ORDO_OK;
}
