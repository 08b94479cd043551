/* wb.h: the private header of the writeback_cache example engine.
 *
 * Not part of any API: the structs its five C files share, the helpers
 * around the host's services, and what each file promises the others. The
 * engine sees ordo only through the public ABI header (ordo/engine_abi.h).
 *
 *   writeback_cache.c  the ABI glue: ordo_engine_get, open/apply/check/close,
 *                      the sites and the configuration
 *   wb_store.c         the on-disk store: NAME.data, NAME.sum (CRC32C
 *                      records), the checksum table, check()'s verification
 *   wb_cache.c         the cache: buffers, block locks (striped host
 *                      mutexes), lookup, install, reserve and eviction
 *   wb_request.c       what apply() does for a read, a write or a trim
 *   wb_background.c    the flusher and read-ahead threads (THE BUG)
 *
 * Locks (all host mutexes), in the only order they nest:
 *   flush_mu (one flush pass at a time) -> a block stripe -> cache_mu.
 * cache_mu guards buffers, files, checksums, the read-ahead queue and
 * counters. A block's data and checksum change only with its stripe held,
 * except in mode=legacy, where read-ahead skips the stripe: THE BUG
 * (wb_background.c, readahead_block()). Nobody waits for a free buffer while
 * holding a stripe, so the flusher can always take the stripes it needs.
 *
 * Every host call (lock, wait, notify, point) is a step the scheduler may
 * interleave: the order of those calls is the engine's behaviour under a
 * seed, and is kept exactly as documented in README.md. */
#ifndef WB_H_
#define WB_H_

#include <stddef.h>
#include <stdint.h>

#include "ordo/engine_abi.h"

/* Only ordo_engine_get leaves the shared object, even when it is built
 * without -fvisibility=hidden: everything declared below is internal. */
#pragma GCC visibility push(hidden)

#define WB_EXPORT __attribute__((visibility("default")))
#define WB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define WB_SUM_MAGIC 0x57425331u /* "WBS1": a .sum record that is present */
#define WB_SUM_REC 8u            /* bytes per .sum record */
/* The object named at points: file id in the high half, block index low. */
#define OBJ(file_id, block) (((uint64_t)(file_id) << 32) | (uint32_t)(block))
/* Like ORDO_HOST_HAS, for the failure struct the host sized. */
#define WB_FAIL_HAS(f, fld) ((f) && (f)->size >= offsetof(ordo_failure, fld) + sizeof((f)->fld))

enum { WB_FREE = 0, WB_CLEAN = 1, WB_DIRTY = 2 }; /* buffer states */
enum { WB_STRIPES = 64, WB_STREAMS = 32 };

/* Sites: registered in open() in exactly this order (names and access kinds
 * in writeback_cache.c; README.md says why each has its kind). */
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

/* ---- The host's services, as the engine calls them ---- */

/* Announces a step at site `s` on `obj` (the scheduler may switch here). */
static inline void point(wb_engine* e, int s, uint64_t obj, uint64_t arg) {
  e->host->point(e->host->ctx, e->site[s], obj, arg);
}
static inline void lock(wb_engine* e, ordo_mutex* m) { e->host->mutex_lock(e->host->ctx, m); }
static inline void unlock(wb_engine* e, ordo_mutex* m) { e->host->mutex_unlock(e->host->ctx, m); }
/* Wakes every waiter on cache_mu (all waits in the engine are on it). */
static inline void notify(wb_engine* e) { e->host->notify(e->host->ctx, e->cache_mu); }

/* ---- Results (writeback_cache.c) ---- */

/* Returns ORDO_ERROR (the operation could not be done), with the message in
 * `f` when the host's struct has room for it; `f` may be NULL. */
int wb_error(ordo_failure* f, const char* fmt, ...) WB_PRINTF(2, 3);
/* Returns ORDO_FAILED (corruption found): fills kind, object, file, offset
 * and message, each only if the host's `f` has the field. */
int wb_found(ordo_failure* f, uint32_t kind, uint64_t obj, const char* file, uint64_t offset,
             const char* fmt, ...) WB_PRINTF(6, 7);

/* ---- The on-disk store (wb_store.c) ---- */

/* Fills the CRC32C (Castagnoli) table `t`. */
void wb_crc_init(uint32_t t[256]);
/* CRC32C of `n` bytes at `p`, with the engine's table. */
uint32_t wb_crc32c(const wb_engine* e, const uint8_t* p, size_t n);
/* Reads block `bi` of `file` into `dst` (block_size bytes); holes and bytes
 * past EOF are zero. ORDO_ERROR on an I/O error (`f` may be NULL). */
int wb_disk_read(wb_engine* e, wb_file* file, uint64_t bi, uint8_t* dst, ordo_failure* f);
/* The checksum a .sum record stores, or the zero block's for an absent
 * (all-zero) record. */
uint32_t wb_rec_get(const wb_engine* e, const uint8_t r[WB_SUM_REC]);
/* Writes block `bi`'s data (block_size bytes), then its .sum record holding
 * `sum`. Returns 0, or -1 with errno set. */
int wb_disk_write(wb_engine* e, wb_file* file, uint32_t bi, const uint8_t* data, uint32_t sum);
/* Grows `file`'s checksum table to cover `n` blocks (new ones: the zero
 * block's checksum). Returns 0, or -1 out of memory. Under cache_mu. */
int wb_sums_reserve(wb_engine* e, wb_file* file, uint64_t n);
/* Finds logical file `name`, or opens (creating) DIR/NAME.data and
 * DIR/NAME.sum, loads its persisted checksums and gives it the next id.
 * Under cache_mu; ORDO_ERROR for a bad name or an I/O error. */
int wb_get_file(wb_engine* e, const char* name, wb_file** out, ordo_failure* f);
/* Verifies one file on disk: each block's data against its persisted
 * checksum, and each persisted checksum against the authoritative one
 * (ORDO_FAILED, ORDO_FAILURE_CORRUPT). `buf` holds a block. Takes cache_mu
 * briefly; call with nothing held and the cache flushed. */
int wb_check_file(wb_engine* e, wb_file* file, uint8_t* buf, ordo_failure* f);

/* ---- The cache (wb_cache.c) ---- */

/* Takes block `obj`'s lock (a stripe), then announces ACQUIRE at `s`. */
void wb_block_lock(wb_engine* e, int s, uint64_t obj);
/* Announces RELEASE at `s` while the lock is held, then drops it. So the
 * recorded intervals of one block never overlap between threads. */
void wb_block_unlock(wb_engine* e, int s, uint64_t obj);
/* The buffer holding `obj` (clean or dirty), or NULL. Under cache_mu. */
wb_buf* wb_lookup(wb_engine* e, uint64_t obj);
/* Block `bi`'s authoritative checksum (a block never written: zeroes').
 * Under cache_mu. */
uint32_t wb_sum_of(wb_engine* e, wb_file* file, uint64_t bi);
/* Makes `b` the cached copy of `obj` in `state`, dropping any other buffer
 * that held `obj`, whatever its state (a cache "put" replaces). Under
 * cache_mu. */
void wb_install(wb_engine* e, uint64_t obj, wb_buf* b, int state);
/* Drops a pin taken by wb_reserve() or a lookup. Under cache_mu. */
void wb_unpin(wb_engine* e, wb_buf* b);
/* Takes a free buffer (evicting a clean one if needed) and pins it; waits
 * for the flusher when every buffer is dirty or pinned. Call with nothing
 * held (no stripe: the flusher needs them). Returns NULL after an I/O error
 * (or, for read-ahead, when stopping). */
wb_buf* wb_reserve(wb_engine* e, int readahead);
/* ORDO_ERROR naming the I/O error that stopped the engine. Takes cache_mu. */
int wb_io_failed_error(wb_engine* e, ordo_failure* f);

/* ---- Requests (wb_request.c): called by apply() with nothing held ---- */

/* Writes `len` bytes of `src` (or zeroes, src == NULL: trim) at `off`, block
 * by block, each into a dirty buffer with its new checksum. */
int wb_do_write(wb_engine* e, wb_file* file, uint64_t off, uint64_t len, const uint8_t* src,
                ordo_failure* f);
/* Reads r's range into r->out, each block verified against its checksum
 * (ORDO_FAILED, ORDO_FAILURE_VERIFY on a mismatch); then tells read-ahead. */
int wb_do_read(wb_engine* e, wb_file* file, const ordo_request* r, ordo_failure* f);

/* ---- Background threads (wb_background.c) ---- */

/* After a successful read of [off, off+len) by `thread`: if it was
 * sequential, queues the next `readahead` blocks (never past the last block
 * known to exist) for the read-ahead threads. Takes cache_mu. */
void wb_note_read(wb_engine* e, wb_file* file, uint32_t thread, uint64_t off, uint64_t len);
/* Wait predicate (cache_mu held): the queue is empty and no read-ahead
 * thread is filling a block. */
int wb_readahead_idle(void* arg);
/* Flushes every block dirty when it starts (one pass at a time). An I/O error
 * is kept (later calls report it) and returned as ORDO_ERROR; `f` may be
 * NULL. Call with nothing held. */
int wb_flush_pass(wb_engine* e, ordo_failure* f);
/* Spawns the flusher, then the read-ahead threads, in that order. Returns 0,
 * or -1 if one could not be spawned (call wb_stop_threads() then). */
int wb_start_threads(wb_engine* e);
/* Stops and joins every thread that was started. Call with nothing held. */
void wb_stop_threads(wb_engine* e);

#pragma GCC visibility pop

#endif /* WB_H_ */
