/* writeback_cache.c: an example third-party cache engine for ordo.
 *
 * A write-back block cache over real files. Each logical file NAME lives in
 * DIR/NAME.data (the blocks) and DIR/NAME.sum (one 8-byte record per block:
 * CRC32C little-endian, then the magic "WBS1"; a zero record is a block never
 * written, whose data is zeroes). The authoritative checksum of every block is
 * kept in memory (loaded from .sum, updated by writes, persisted by flushes).
 *
 * Threads (all the host's):
 *   - callers of apply(): writes (read-modify-write into dirty buffers), reads
 *     (fill on miss, then verify every block against its checksum), fsync,
 * trim;
 *   - one flusher: writes dirty buffers and their checksums to disk;
 *   - readahead_threads read-ahead threads: fill the blocks after a sequential
 *     reader's position into the cache.
 *
 * Locks (all host mutexes), in the only order they nest:
 *   flush_mu (one flush pass at a time) -> a block stripe -> cache_mu.
 * cache_mu guards buffers, files, checksums, the read-ahead queue and counters.
 * A block's data and checksum change only with its stripe held, except in
 * mode=legacy, where read-ahead skips the stripe: THE BUG (readahead_block()).
 * Nobody waits for a free buffer while holding a stripe, so the flusher can
 * always take the stripes it needs.
 *
 * Build: cc -std=c11 -O2 -fPIC -shared -fvisibility=hidden
 *           -I<ordo>/plugin/include -o libwriteback_cache.so writeback_cache.c
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ordo/engine_abi.h"

#define WB_EXPORT __attribute__((visibility("default")))
#define WB_SUM_MAGIC 0x57425331u /* "WBS1": a .sum record that is present */
#define WB_SUM_REC 8u            /* bytes per .sum record */
#define OBJ(file_id, block) (((uint64_t)(file_id) << 32) | (uint32_t)(block))
/* Like ORDO_HOST_HAS, for the failure struct the host sized. */
#define WB_FAIL_HAS(f, fld) ((f) && (f)->size >= offsetof(ordo_failure, fld) + sizeof((f)->fld))

enum { WB_FREE = 0, WB_CLEAN = 1, WB_DIRTY = 2 }; /* buffer states */
enum { WB_STRIPES = 64, WB_STREAMS = 32 };

/* ---- Sites: registered in open() in exactly this order. ---- */
// clang-format off
enum {
  S_WRITE_LOCK, S_WRITE_FILL, S_WRITE_UPDATE, S_WRITE_UNLOCK,
  S_READ_LOCK, S_READ_FILL, S_READ_MARK_CLEAN, S_READ_VERIFY,
  S_READ_VERIFY_FAIL, S_READ_UNLOCK,
  S_RA_LOCK, S_RA_LOOKUP, S_RA_FILL, S_RA_MARK_CLEAN, S_RA_UNLOCK,
  S_FLUSH_LOCK, S_FLUSH_WRITE_BACK, S_FLUSH_MARK_CLEAN, S_FLUSH_UNLOCK,
  S_COUNT
};
// clang-format on
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

typedef struct wb_config {
  int fixed; /* mode=fixed (1, default) or mode=legacy (0) */
  uint32_t block_size, cache_blocks, readahead, readahead_threads, flush_every;
} wb_config;

typedef struct wb_file {
  char name[256];
  uint32_t id; /* order of first use; the high half of an object */
  int data_fd, sum_fd;
  uint32_t* sums; /* authoritative checksum of blocks [0, nsums) */
  uint64_t nsums, cap;
} wb_file;

typedef struct wb_buf {
  uint64_t obj; /* valid when state != WB_FREE */
  int state;
  int pins; /* > 0: a thread uses it; never evicted or reserved then */
  uint8_t* data;
} wb_buf;

typedef struct wb_stream { /* sequential-read detection per (file, thread) */
  int used;
  uint32_t file_id, thread;
  uint64_t next;     /* offset where the last read ended */
  uint64_t ra_until; /* blocks below this are already queued */
} wb_stream;

typedef struct wb_engine {
  const ordo_host* host;
  wb_config cfg;
  char dir[4096];
  uint32_t site[S_COUNT];
  uint32_t crc_table[256];
  uint32_t zero_crc; /* checksum of a block of zeroes */
  uint8_t* zero;     /* a block of zeroes (trim) */
  ordo_mutex* cache_mu;
  ordo_mutex* flush_mu;
  ordo_mutex* stripe[WB_STRIPES];
  /* under cache_mu */
  wb_file** files;
  uint32_t nfiles, files_cap;
  wb_buf* bufs;
  uint8_t* arena;
  uint32_t hand, ndirty, dirtied, buf_waiters;
  uint64_t* queue; /* read-ahead ring */
  uint32_t qcap, qhead, qlen, ra_active;
  wb_stream streams[WB_STREAMS];
  uint32_t stream_next;
  int stopping, io_failed;
  char io_error[400];
  /* under flush_mu */
  uint64_t* flush_list;
  uint8_t* stage;
  /* threads */
  int flusher;
  int* ra;
} wb_engine;

/* ---- Small helpers ---- */

static void fill_message(ordo_failure* f, const char* fmt, va_list ap) {
  if (WB_FAIL_HAS(f, message)) vsnprintf(f->message, sizeof f->message, fmt, ap);
}

/* ORDO_ERROR: the operation could not be done; message only. */
static int wb_error(ordo_failure* f, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fill_message(f, fmt, ap);
  va_end(ap);
  return ORDO_ERROR;
}

/* ORDO_FAILED: a finding (corruption detected). */
static int wb_found(ordo_failure* f, uint32_t kind, uint64_t obj, const char* file, uint64_t offset,
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

static void crc_init(uint32_t t[256]) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
}

static uint32_t crc32c(const wb_engine* e, const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = e->crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}

static void point(wb_engine* e, int s, uint64_t obj, uint64_t arg) {
  e->host->point(e->host->ctx, e->site[s], obj, arg);
}
static void lock(wb_engine* e, ordo_mutex* m) { e->host->mutex_lock(e->host->ctx, m); }
static void unlock(wb_engine* e, ordo_mutex* m) { e->host->mutex_unlock(e->host->ctx, m); }
static void notify(wb_engine* e) { e->host->notify(e->host->ctx, e->cache_mu); }

/* A block's lock is one of WB_STRIPES host mutexes. ACQUIRE is announced once
 * the lock is held and RELEASE while it still is, so the recorded intervals of
 * one block never overlap between threads. */
static ordo_mutex* stripe_of(wb_engine* e, uint64_t obj) {
  uint64_t h = obj * 0x9E3779B97F4A7C15ull;
  return e->stripe[h >> 58]; /* top 6 bits: WB_STRIPES == 64 */
}
static void block_lock(wb_engine* e, int s, uint64_t obj) {
  lock(e, stripe_of(e, obj));
  point(e, s, obj, 0);
}
static void block_unlock(wb_engine* e, int s, uint64_t obj) {
  point(e, s, obj, 0);
  unlock(e, stripe_of(e, obj));
}

/* Reads block `bi` of `file` from disk; holes and bytes past EOF are zero. */
static int disk_read(wb_engine* e, wb_file* file, uint64_t bi, uint8_t* dst, ordo_failure* f) {
  const size_t bs = e->cfg.block_size;
  size_t got = 0;
  while (got < bs) {
    ssize_t n = pread(file->data_fd, dst + got, bs - got, (off_t)(bi * bs + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return wb_error(f, "writeback_cache: read %s.data block %llu: %s", file->name,
                      (unsigned long long)bi, strerror(errno));
    if (n == 0) break;
    got += (size_t)n;
  }
  memset(dst + got, 0, bs - got);
  return ORDO_OK;
}

/* A .sum record: CRC32C and WB_SUM_MAGIC, little-endian. Returns the stored
 * checksum, or the zero block's for an absent (all-zero) record. */
static uint32_t rec_get(const wb_engine* e, const uint8_t r[WB_SUM_REC]) {
  uint32_t v[2];
  for (int k = 0; k < 2; k++)
    v[k] = r[4 * k] | r[4 * k + 1] << 8 | r[4 * k + 2] << 16 | (uint32_t)r[4 * k + 3] << 24;
  return v[1] == WB_SUM_MAGIC ? v[0] : e->zero_crc;
}
static void rec_put(uint8_t r[WB_SUM_REC], uint32_t crc) {
  for (int k = 0; k < 4; k++)
    r[k] = (uint8_t)(crc >> 8 * k), r[4 + k] = (uint8_t)(WB_SUM_MAGIC >> 8 * k);
}

static int pwrite_all(int fd, const uint8_t* p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, (off_t)off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w, n -= (size_t)w, off += (uint64_t)w;
  }
  return 0;
}

/* ---- The cache (all under cache_mu) ---- */

static wb_buf* lookup(wb_engine* e, uint64_t obj) {
  for (uint32_t i = 0; i < e->cfg.cache_blocks; i++) /* a real one hashes */
    if (e->bufs[i].state != WB_FREE && e->bufs[i].obj == obj) return &e->bufs[i];
  return NULL;
}

static uint32_t sum_of(wb_engine* e, wb_file* file, uint64_t bi) {
  return bi < file->nsums ? file->sums[bi] : e->zero_crc;
}

/* Makes `b` the cached copy of `obj` in `state`, dropping any other buffer
 * that held `obj` (whatever its state: a cache "put" replaces). */
static void install(wb_engine* e, uint64_t obj, wb_buf* b, int state) {
  wb_buf* old = lookup(e, obj);
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

static void unpin(wb_engine* e, wb_buf* b) {
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

/* Takes a free buffer (evicting a clean one if needed) and pins it; waits for
 * the flusher when every buffer is dirty or pinned. Call with no stripe held.
 * Returns NULL after an I/O error (or, for read-ahead, when stopping). */
static wb_buf* reserve(wb_engine* e, int readahead) {
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

static int io_failed_error(wb_engine* e, ordo_failure* f) {
  lock(e, e->cache_mu);
  int rc = wb_error(f, "writeback_cache: earlier I/O error: %s", e->io_error);
  unlock(e, e->cache_mu);
  return rc;
}

/* Grows the checksum table to cover `n` blocks (new blocks: zeroes). */
static int sums_reserve(wb_engine* e, wb_file* file, uint64_t n) {
  if (n <= file->nsums) return 0;
  if (n > file->cap) {
    uint64_t cap = file->cap ? file->cap : 64;
    while (cap < n) cap *= 2;
    uint32_t* s = realloc(file->sums, cap * sizeof *s);
    if (!s) return -1;
    file->sums = s, file->cap = cap;
  }
  while (file->nsums < n) file->sums[file->nsums++] = e->zero_crc;
  return 0;
}

/* Finds or opens logical file `name`; under cache_mu. */
static int get_file(wb_engine* e, const char* name, wb_file** out, ordo_failure* f) {
  for (uint32_t i = 0; i < e->nfiles; i++)
    if (strcmp(e->files[i]->name, name) == 0) return *out = e->files[i], 0;
  size_t len = strlen(name);
  if (len == 0 || len > 200 || strchr(name, '/') || name[0] == '.')
    return wb_error(f, "writeback_cache: bad file name '%.64s'", name);
  if (e->nfiles == e->files_cap) {
    uint32_t cap = e->files_cap ? e->files_cap * 2 : 8;
    wb_file** v = realloc(e->files, cap * sizeof *v);
    if (!v) return wb_error(f, "writeback_cache: out of memory");
    e->files = v, e->files_cap = cap;
  }
  wb_file* file = calloc(1, sizeof *file);
  if (!file) return wb_error(f, "writeback_cache: out of memory");
  snprintf(file->name, sizeof file->name, "%s", name);
  file->id = e->nfiles;
  char dpath[4400], spath[4400];
  snprintf(dpath, sizeof dpath, "%s/%s.data", e->dir, name);
  snprintf(spath, sizeof spath, "%s/%s.sum", e->dir, name);
  struct stat ds, ss;
  int rc = ORDO_OK;
  file->data_fd = open(dpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (file->data_fd < 0 || fstat(file->data_fd, &ds))
    rc = wb_error(f, "writeback_cache: open %s: %s", dpath, strerror(errno));
  file->sum_fd = rc ? -1 : open(spath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (rc == ORDO_OK && (file->sum_fd < 0 || fstat(file->sum_fd, &ss)))
    rc = wb_error(f, "writeback_cache: open %s: %s", spath, strerror(errno));
  if (rc == ORDO_OK) { /* load the persisted checksums */
    uint64_t bs = e->cfg.block_size, nrec = (uint64_t)ss.st_size / WB_SUM_REC;
    uint64_t nblk = ((uint64_t)ds.st_size + bs - 1) / bs;
    if (sums_reserve(e, file, nrec > nblk ? nrec : nblk))
      rc = wb_error(f, "writeback_cache: out of memory");
    for (uint64_t i = 0; rc == ORDO_OK && i < nrec; i++) {
      uint8_t r[WB_SUM_REC];
      if (pread(file->sum_fd, r, sizeof r, (off_t)(i * WB_SUM_REC)) != sizeof r) {
        rc = wb_error(f, "writeback_cache: read %s", spath);
        break;
      }
      file->sums[i] = rec_get(e, r);
    }
  }
  if (rc != ORDO_OK) {
    if (file->data_fd >= 0) close(file->data_fd);
    if (file->sum_fd >= 0) close(file->sum_fd);
    free(file->sums);
    free(file);
    return rc;
  }
  e->files[e->nfiles++] = file;
  *out = file;
  return ORDO_OK;
}

/* ---- Write path ---- */

/* Writes n bytes of src at byte boff of block bi (read-modify-write). */
static int write_block(wb_engine* e, wb_file* file, uint32_t bi, uint32_t boff, uint32_t n,
                       const uint8_t* src, ordo_failure* f) {
  const uint32_t bs = e->cfg.block_size;
  const uint64_t obj = OBJ(file->id, bi);
  wb_buf* spare = reserve(e, 0); /* before the stripe: see reserve() */
  if (!spare) return io_failed_error(e, f);
  block_lock(e, S_WRITE_LOCK, obj);
  lock(e, e->cache_mu);
  wb_buf* b = lookup(e, obj);
  if (b) b->pins++;
  int rc = sums_reserve(e, file, (uint64_t)bi + 1) ? wb_error(f, "writeback_cache: out of memory")
                                                   : ORDO_OK;
  unlock(e, e->cache_mu);
  if (!b) { /* miss: the spare becomes the block's buffer */
    b = spare, spare = NULL;
    if (rc == ORDO_OK && n < bs) { /* partial block: read the old one first */
      point(e, S_WRITE_FILL, obj, (uint64_t)(b - e->bufs));
      rc = disk_read(e, file, bi, b->data, f);
    }
  }
  int wake = 0;
  if (rc == ORDO_OK) point(e, S_WRITE_UPDATE, obj, n);
  lock(e, e->cache_mu);
  if (rc == ORDO_OK) {
    install(e, obj, b, WB_DIRTY);
    memcpy(b->data + boff, src, n);
    file->sums[bi] = crc32c(e, b->data, bs); /* the new authoritative sum */
    wake = ++e->dirtied >= e->cfg.flush_every;
  }
  unpin(e, b);
  if (spare) unpin(e, spare);
  if (wake) notify(e); /* every flush_every dirtied blocks */
  unlock(e, e->cache_mu);
  block_unlock(e, S_WRITE_UNLOCK, obj);
  return rc;
}

/* Writes (src) or zeroes (src == NULL: trim) a byte range, block by block. */
static int do_write(wb_engine* e, wb_file* file, uint64_t off, uint64_t len, const uint8_t* src,
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

/* ---- Read path ---- */

/* Copies block bi into `scratch` (filling the cache on a miss) and verifies
 * it against the block's authoritative checksum. */
static int read_block(wb_engine* e, wb_file* file, uint32_t bi, uint8_t* scratch, ordo_failure* f) {
  const uint32_t bs = e->cfg.block_size;
  const uint64_t obj = OBJ(file->id, bi);
  wb_buf* spare = reserve(e, 0);
  if (!spare) return io_failed_error(e, f);
  block_lock(e, S_READ_LOCK, obj);
  uint32_t expect = 0;
  int rc = ORDO_OK;
  lock(e, e->cache_mu);
  wb_buf* b = lookup(e, obj);
  if (b) { /* hit, clean or dirty: serve the buffer */
    memcpy(scratch, b->data, bs);
    expect = sum_of(e, file, bi);
  }
  unlock(e, e->cache_mu);
  if (!b) { /* miss: fill the spare from disk, then make it servable */
    b = spare, spare = NULL;
    point(e, S_READ_FILL, obj, (uint64_t)(b - e->bufs));
    rc = disk_read(e, file, bi, b->data, f);
    if (rc == ORDO_OK) point(e, S_READ_MARK_CLEAN, obj, (uint64_t)(b - e->bufs));
    lock(e, e->cache_mu);
    if (rc == ORDO_OK) {
      install(e, obj, b, WB_CLEAN);
      memcpy(scratch, b->data, bs);
      expect = sum_of(e, file, bi);
    }
    unpin(e, b);
    unlock(e, e->cache_mu);
  }
  if (rc == ORDO_OK) { /* read-verify */
    point(e, S_READ_VERIFY, obj, expect);
    uint32_t got = crc32c(e, scratch, bs);
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
    unpin(e, spare);
    unlock(e, e->cache_mu);
  }
  block_unlock(e, S_READ_UNLOCK, obj);
  return rc;
}

/* After a read of [off, off+len): a read starting where this thread's last
 * read of the file ended is sequential; queue the next `readahead` blocks. */
static void note_read(wb_engine* e, wb_file* file, uint32_t thread, uint64_t off, uint64_t len) {
  if (e->cfg.readahead == 0 || e->cfg.readahead_threads == 0) return;
  const uint64_t bs = e->cfg.block_size, last = (off + len - 1) / bs;
  lock(e, e->cache_mu);
  wb_stream* s = NULL;
  for (int i = 0; i < WB_STREAMS && !s; i++)
    if (e->streams[i].used && e->streams[i].file_id == file->id && e->streams[i].thread == thread)
      s = &e->streams[i];
  int sequential = s && s->next == off;
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

static int do_read(wb_engine* e, wb_file* file, const ordo_request* r, ordo_failure* f) {
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
  if (rc == ORDO_OK && r->length > 0) note_read(e, file, r->thread, r->offset, r->length);
  return rc;
}

/* ---- Read-ahead threads ---- */

static void readahead_block(wb_engine* e, wb_file* file, uint64_t obj) {
  wb_buf* spare = reserve(e, 1);
  if (!spare) return;
  /* THE BUG (mode=legacy): read-ahead does not take the block's lock, so
   * between its lookup and its install a writer may install a newer, dirty
   * copy of the block; the install below then replaces it with the old bytes
   * read from disk, marked clean, while the checksum table already holds the
   * writer's checksum. mode=fixed holds the lock over lookup+fill+install.
   * Nothing fails on purpose: both modes run the same lookup, disk read and
   * install; only the lock differs, and only a real interleaving hurts. */
  const int locked = e->cfg.fixed;
  if (locked) block_lock(e, S_RA_LOCK, obj);
  point(e, S_RA_LOOKUP, obj, 0);
  lock(e, e->cache_mu);
  int cached = lookup(e, obj) != NULL;
  unlock(e, e->cache_mu);
  int filled = 0;
  if (!cached) {
    point(e, S_RA_FILL, obj, (uint64_t)(spare - e->bufs));
    /* best effort: an I/O error just skips the block */
    filled = disk_read(e, file, (uint32_t)obj, spare->data, NULL) == ORDO_OK;
    if (filled) point(e, S_RA_MARK_CLEAN, obj, (uint64_t)(spare - e->bufs));
  }
  lock(e, e->cache_mu);
  if (filled) install(e, obj, spare, WB_CLEAN); /* legacy: may hide a write */
  unpin(e, spare);
  unlock(e, e->cache_mu);
  if (locked) block_unlock(e, S_RA_UNLOCK, obj);
}

static int ra_ready(void* arg) {
  wb_engine* e = arg;
  return e->stopping || e->qlen > 0;
}
static int ra_idle(void* arg) {
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

/* Writes one dirty block and its checksum to disk and marks it clean. */
static int flush_block(wb_engine* e, uint64_t obj, char* err, size_t errlen) {
  const uint32_t bs = e->cfg.block_size, bi = (uint32_t)obj;
  int rc = 0;
  block_lock(e, S_FLUSH_LOCK, obj);
  lock(e, e->cache_mu);
  wb_file* file = e->files[obj >> 32];
  wb_buf* b = lookup(e, obj);
  int dirty = b && b->state == WB_DIRTY;
  uint32_t sum = sum_of(e, file, bi);
  if (dirty) memcpy(e->stage, b->data, bs);
  unlock(e, e->cache_mu);
  if (dirty) {
    /* PUBLISH: the cached version becomes the one on disk, the one a fill
     * reads; the block's data and checksum do not change. */
    point(e, S_FLUSH_WRITE_BACK, obj, sum);
    uint8_t r[WB_SUM_REC];
    rec_put(r, sum);
    if (pwrite_all(file->data_fd, e->stage, bs, (uint64_t)bi * bs) ||
        pwrite_all(file->sum_fd, r, sizeof r, (uint64_t)bi * WB_SUM_REC)) {
      snprintf(err, errlen, "write back block %u of %s: %s", bi, file->name, strerror(errno));
      rc = -1;
    } else {
      point(e, S_FLUSH_MARK_CLEAN, obj, 0);
      lock(e, e->cache_mu);
      b = lookup(e, obj);
      if (b && b->state == WB_DIRTY) {
        b->state = WB_CLEAN;
        e->ndirty--;
        if (e->buf_waiters) notify(e);
      }
      unlock(e, e->cache_mu);
    }
  }
  block_unlock(e, S_FLUSH_UNLOCK, obj);
  return rc;
}

/* Flushes every block dirty when it starts. An I/O error is kept (later
 * calls report it) and returned as ORDO_ERROR. */
static int flush_pass(wb_engine* e, ordo_failure* f) {
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
    flush_pass(e, NULL); /* errors are kept in e->io_error */
    if (stop) return;
  }
}

/* ---- Configuration ---- */

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

static void stop_threads(wb_engine* e) {
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

static int host_usable(const ordo_host* h) {
#define WB_NEED(fld) (ORDO_HOST_HAS(h, fld) && h->fld)
  return WB_NEED(spawn) && WB_NEED(join) && WB_NEED(mutex_new) && WB_NEED(mutex_free) &&
         WB_NEED(mutex_lock) && WB_NEED(mutex_unlock) && WB_NEED(wait) && WB_NEED(notify) &&
         WB_NEED(site) && WB_NEED(point);
#undef WB_NEED
}

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

  wb_engine* e = calloc(1, sizeof *e);
  if (!e) return wb_error(f, "writeback_cache: out of memory");
  e->host = host, e->cfg = cfg, e->flusher = -1;
  snprintf(e->dir, sizeof e->dir, "%s", dir);
  crc_init(e->crc_table);
  for (int s = 0; s < S_COUNT; s++) /* every site, always, in this order */
    e->site[s] = host->site(host->ctx, k_sites[s].name, k_sites[s].access);
  const size_t bs = cfg.block_size, nb = cfg.cache_blocks;
  e->zero = calloc(1, bs);
  e->bufs = calloc(nb, sizeof *e->bufs);
  e->arena = malloc(nb * bs);
  e->qcap = cfg.readahead * 16 > 64 ? cfg.readahead * 16 : 64;
  e->queue = calloc(e->qcap, sizeof *e->queue);
  e->flush_list = calloc(nb, sizeof *e->flush_list);
  e->stage = malloc(bs);
  e->ra = malloc((cfg.readahead_threads + 1) * sizeof *e->ra);
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
  e->zero_crc = crc32c(e, e->zero, bs);
  for (size_t i = 0; i < nb; i++) e->bufs[i].data = e->arena + i * bs;
  for (uint32_t i = 0; i < cfg.readahead_threads; i++) e->ra[i] = -1;

  e->flusher = host->spawn(host->ctx, "wb-flusher", flusher_main, e);
  ok = e->flusher >= 0;
  for (uint32_t i = 0; ok && i < cfg.readahead_threads; i++)
    ok = (e->ra[i] = host->spawn(host->ctx, "wb-readahead", ra_main, e)) >= 0;
  if (!ok) {
    stop_threads(e);
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
  int rc = failed ? ORDO_OK : get_file(e, r->file, &file, f);
  unlock(e, e->cache_mu);
  if (failed) return io_failed_error(e, f);
  if (rc != ORDO_OK) return rc;
  switch (r->op) {
    case ORDO_OP_READ:
      return do_read(e, file, r, f);
    case ORDO_OP_WRITE:
      return do_write(e, file, r->offset, r->length, r->data, f);
    case ORDO_OP_TRIM: /* the range reads as zeroes afterwards */
      return do_write(e, file, r->offset, r->length, NULL, f);
    case ORDO_OP_FSYNC:
      rc = flush_pass(e, f);
      if (rc == ORDO_OK && (fsync(file->data_fd) || fsync(file->sum_fd)))
        rc = wb_error(f, "writeback_cache: fsync %s: %s", file->name, strerror(errno));
      return rc;
    default:
      return wb_error(f, "writeback_cache: unknown op %u", r->op);
  }
}

/* Verifies one file on disk: each block's data against its persisted
 * checksum, and each persisted checksum against the authoritative one. */
static int check_file(wb_engine* e, wb_file* file, uint8_t* buf, ordo_failure* f) {
  const uint64_t bs = e->cfg.block_size;
  struct stat ds, ss;
  if (fstat(file->data_fd, &ds) || fstat(file->sum_fd, &ss))
    return wb_error(f, "writeback_cache: check: stat %s: %s", file->name, strerror(errno));
  uint64_t nrec = (uint64_t)ss.st_size / WB_SUM_REC;
  uint64_t n = ((uint64_t)ds.st_size + bs - 1) / bs;
  if (nrec > n) n = nrec;
  lock(e, e->cache_mu);
  if (file->nsums > n) n = file->nsums;
  unlock(e, e->cache_mu);
  for (uint64_t bi = 0; bi < n; bi++) {
    int rc = disk_read(e, file, bi, buf, f);
    if (rc != ORDO_OK) return rc;
    uint8_t r[WB_SUM_REC] = {0};
    if (bi < nrec && pread(file->sum_fd, r, sizeof r, (off_t)(bi * WB_SUM_REC)) != sizeof r)
      return wb_error(f, "writeback_cache: check: read %s.sum", file->name);
    uint32_t stored = rec_get(e, r);
    uint32_t data = crc32c(e, buf, bs);
    lock(e, e->cache_mu);
    uint32_t auth = sum_of(e, file, bi);
    unlock(e, e->cache_mu);
    const uint64_t obj = OBJ(file->id, bi);
    if (data != stored)
      return wb_found(f, ORDO_FAILURE_CORRUPT, obj, file->name, bi * bs,
                      "check: block %llu of %s (offset %llu): data on disk "
                      "%08x, persisted checksum %08x",
                      (unsigned long long)bi, file->name, (unsigned long long)(bi * bs), data,
                      stored);
    if (stored != auth)
      return wb_found(f, ORDO_FAILURE_CORRUPT, obj, file->name, bi * bs,
                      "check: block %llu of %s (offset %llu): persisted "
                      "checksum %08x, authoritative %08x (a write was lost)",
                      (unsigned long long)bi, file->name, (unsigned long long)(bi * bs), stored,
                      auth);
  }
  return ORDO_OK;
}

static int wb_check(void* engine, ordo_failure* f) {
  wb_engine* e = engine;
  if (!e) return wb_error(f, "writeback_cache: check: no engine");
  lock(e, e->cache_mu);
  e->host->wait(e->host->ctx, e->cache_mu, ra_idle, e); /* read-ahead done */
  uint32_t nfiles = e->nfiles;
  unlock(e, e->cache_mu);
  int rc = flush_pass(e, f);
  uint8_t* buf = malloc(e->cfg.block_size);
  if (rc == ORDO_OK && !buf) rc = wb_error(f, "writeback_cache: out of memory");
  for (uint32_t i = 0; rc == ORDO_OK && i < nfiles; i++) {
    lock(e, e->cache_mu);
    wb_file* file = e->files[i];
    unlock(e, e->cache_mu);
    rc = check_file(e, file, buf, f);
  }
  free(buf);
  return rc;
}

static int wb_close(void* engine, ordo_failure* f) {
  wb_engine* e = engine;
  if (!e) return wb_error(f, "writeback_cache: close: no engine");
  stop_threads(e);
  int rc = e->io_failed ? io_failed_error(e, f) : flush_pass(e, f);
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
