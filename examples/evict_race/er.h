/* evict_race: a write-through block cache with a background evictor, an
 * example third-party engine for ordo, written against ordo/engine_abi.h only.
 *
 * Private header shared by the engine's C files: the structs, the site ids,
 * the lock order and the contract of every function the files share.
 *
 * Lock order (a thread never takes them the other way round):
 *   block stripe lock  ->  index lock  ->  file meta lock
 *   files lock (the file table) is taken alone, never while holding another.
 * A thread holds at most one block stripe lock at a time. */
#ifndef EVICT_RACE_ER_H_
#define EVICT_RACE_ER_H_

#include <stddef.h>
#include <stdint.h>

#include "ordo/engine_abi.h"
#include "ordo/engine_point.h"

#define ER_BLOCK_SIZE 4096u
#define ER_BLOCK_SHIFT 12
#define ER_STRIPES 64u     /* block lock stripes */
#define ER_MAX_FILES 4096u /* logical files per engine */
#define ER_NAME_MAX 200u   /* longest logical file name */
#define ER_MAX_CACHE_BLOCKS 65536u
/* The object announced for the index lock: "block 0 of file 0xffffffff", a
 * file id no logical file gets (ids are below 2^31 + ER_MAX_FILES). */
#define ER_INDEX_OBJECT 0xffffffff00000000ull

/* Sites, registered in this order in open() (ids 1..SITE_COUNT-1). */
enum {
  SITE_READ_LOCK = 1,    /* ACQUIRE    block  reader holds the block's stripe lock */
  SITE_READ_LOOKUP,      /* FLAG_READ  block  index lookup (arg: buffer + 1, 0 = miss) */
  SITE_READ_PIN,         /* FLAG_SET   block  fixed: pin count + 1 (arg: buffer) */
  SITE_READ_COPY,        /* READ       block  copy the cached buffer out (arg: buffer) */
  SITE_READ_VERIFY,      /* VERIFY     block  copied bytes vs the block's checksum */
  SITE_READ_VERIFY_FAIL, /* VERIFY_FAIL block (arg: ORDO_FAIL_DATA) */
  SITE_READ_UNPIN,       /* FLAG_SET   block  fixed: pin count - 1 (arg: buffer) */
  SITE_READ_UNLOCK,      /* RELEASE    block */
  SITE_CACHE_ALLOC,      /* NONE       block  a free buffer is taken for the block */
  SITE_CACHE_STEAL,      /* FLAG_SET   victim block: detached by a miss/write for reuse */
  SITE_MISS_FILL,        /* FILL       block  pread into the buffer (arg: buffer) */
  SITE_MISS_VERIFY,      /* VERIFY     block  the filled buffer vs the checksum */
  SITE_MISS_VERIFY_FAIL, /* VERIFY_FAIL block (arg: ORDO_FAIL_DATA) */
  SITE_MISS_INSTALL,     /* MARK_CLEAN block  the buffer enters the index, servable */
  SITE_WRITE_LOCK,       /* ACQUIRE    block */
  SITE_WRITE_READ_OLD,   /* READ       block  read-modify-write of a partial block */
  SITE_WRITE_DATA,       /* WRITE      block  pwrite data + checksum record */
  SITE_WRITE_PUBLISH,    /* PUBLISH    block  update the cached buffer (REPLACES_ANY) */
  SITE_WRITE_UNLOCK,     /* RELEASE    block */
  SITE_INDEX_LOCK,       /* ACQUIRE    ER_INDEX_OBJECT */
  SITE_INDEX_UNLOCK,     /* RELEASE    ER_INDEX_OBJECT */
  SITE_EVICT_DETACH,     /* FLAG_SET   victim block: evictor detaches it (arg: buffer) */
  SITE_COUNT
};

#define ER_POINT(e, site, object, arg) ORDO_POINT((e)->host, (site), (object), (arg))

typedef enum { ER_MODE_FIXED = 0, ER_MODE_LEGACY = 1 } er_mode;

typedef struct er_config {
  er_mode mode;            /* mode=legacy|fixed (default fixed) */
  uint32_t cache_blocks;   /* cache_blocks=N (default 8) */
  uint32_t low_water;      /* low_water=N: evict while fewer free (default cache_blocks/4) */
  uint32_t evict_every;    /* evict_every=N: also evict one buffer every N requests (0: off) */
  uint32_t write_allocate; /* write_allocate=0|1: a write of an uncached block caches it (1) */
} er_config;

/* One logical file: NAME.dat (whole 4 KiB blocks) and NAME.crc (one 8-byte
 * record per block: CRC32C little-endian, then the magic "ERC1"; a record
 * without the magic means the block was never written: its data is zeroes). */
typedef struct er_file {
  char name[ER_NAME_MAX + 1];
  uint32_t id; /* N for "fN", else 2^31 + index; objects are (id << 32) | block */
  int data_fd;
  int crc_fd;
  ordo_mutex* meta; /* guards nblocks, cap, crcs */
  uint64_t nblocks; /* blocks with a checksum (the rest read as zeroes) */
  uint64_t cap;
  uint32_t* crcs; /* the authoritative checksum of each block, in memory */
} er_file;

typedef enum { ER_BUF_FREE = 0, ER_BUF_FILLING = 1, ER_BUF_VALID = 2 } er_buf_state;

typedef struct er_buf {
  uint64_t tag;   /* block key while FILLING or VALID */
  er_file* file;  /* the tag's file */
  uint32_t state; /* er_buf_state */
  uint32_t pins;  /* fixed mode: readers copying out of it */
  int32_t next;   /* hash chain (VALID) or free list (FREE); -1 ends */
  uint8_t* data;  /* ER_BLOCK_SIZE bytes */
} er_buf;

typedef struct er_engine {
  const ordo_host* host;
  er_config cfg;
  int dir_fd;

  ordo_mutex* files_lock; /* guards nfiles, files */
  uint32_t nfiles;
  er_file* files[ER_MAX_FILES];

  ordo_mutex* stripes[ER_STRIPES]; /* block locks */

  /* The cache: everything below is guarded by index_lock. */
  ordo_mutex* index_lock;
  er_buf* bufs;
  uint32_t nbuckets; /* power of two */
  int32_t* buckets;  /* hash chains of VALID buffers */
  int32_t free_head; /* FREE buffers */
  uint32_t nfree;
  uint64_t requests; /* counted for evict_every */
  int kick;          /* evict_every asked for an eviction */
  int stop;          /* close() asks the evictor to end */
  int evictor;       /* its handle, -1 when none */
  uint64_t evictions, steals, hits, misses;
} er_engine;

/* ---- evict_race.c: failures ---- */
/* Fills `f` (never past f->size) and returns `status`. */
int er_fail(ordo_failure* f, int status, uint32_t kind, uint64_t object, const char* file,
            uint64_t offset, const char* fmt, ...) __attribute__((format(printf, 7, 8)));

/* ---- er_store.c: CRC32C, files, block locks, disk ---- */
uint32_t er_crc32c(const void* data, size_t len);
/* CRC32C of a block of zeroes: the checksum of every block never written. */
uint32_t er_zero_crc(void);
static inline uint64_t er_key(const er_file* f, uint64_t block) {
  return ((uint64_t)f->id << 32) | block;
}
/* Opens every NAME.dat already in the directory and loads its checksums. */
int er_store_open(er_engine* e, ordo_failure* failure);
void er_store_close(er_engine* e);
/* Sets *out to the file named `name`, created when `create` (else NULL when
 * absent). ORDO_OK, or ORDO_ERROR with a message (I/O error, bad name). */
int er_file_get(er_engine* e, const char* name, int create, er_file** out, ordo_failure* failure);
/* The block's stripe lock (the caller announces ACQUIRE/RELEASE). */
ordo_mutex* er_block_lock(er_engine* e, uint64_t key);
/* The block's checksum (under its block lock). */
uint32_t er_block_crc(er_engine* e, er_file* f, uint64_t block);
/* Reads the whole block from disk into buf (zeroes past EOF). 0 or -errno. */
int er_block_read(er_file* f, uint64_t block, uint8_t* buf);
/* Writes the whole block and its checksum record, then updates the checksum in
 * memory (under its block lock). 0 or -errno. */
int er_block_write(er_engine* e, er_file* f, uint64_t block, const uint8_t* buf, uint32_t crc);
int er_file_sync(er_file* f);
/* check(): every block of every file on disk against its on-disk record. */
int er_store_check(er_engine* e, ordo_failure* failure);

/* ---- er_cache.c: the pool, the index, the evictor ---- */
int er_cache_open(er_engine* e, ordo_failure* failure);
void er_cache_close(er_engine* e);
/* The evictor thread's body (spawned by open). */
void er_evictor_main(void* arg);
/* Asks the evictor to end and joins it. */
void er_evictor_stop(er_engine* e);
/* Counts a request; every evict_every requests, kicks the evictor. */
void er_cache_count_request(er_engine* e);
/* Reader, holding the block lock: looks the block up. Returns the buffer
 * index or -1 on a miss. Fixed mode pins the buffer it returns. */
int32_t er_cache_lookup(er_engine* e, uint64_t key);
/* Fixed mode: drops the pin taken by er_cache_lookup. */
void er_cache_unpin(er_engine* e, uint64_t key, int32_t b);
/* Miss, holding the block lock: a buffer detached from everything, FILLING
 * for `key` (from the free list, else a stolen victim; waits if none). */
int32_t er_cache_reserve(er_engine* e, uint64_t key, er_file* f);
/* Installs a reserved, filled buffer as VALID (MARK_CLEAN). */
void er_cache_install(er_engine* e, uint64_t key, int32_t b);
/* Returns a reserved buffer to the free list (the fill failed). */
void er_cache_unreserve(er_engine* e, int32_t b);
/* Writer, holding the block lock: copies the new block into whatever buffer
 * caches it (PUBLISH, replaces any); with write_allocate, an uncached block
 * gets a buffer (reserved like a miss's) holding the new bytes. */
void er_cache_publish(er_engine* e, uint64_t key, er_file* f, const uint8_t* block);
/* The block a buffer caches now ("fN block M", or "free"), for messages. */
void er_cache_describe(er_engine* e, int32_t b, char* out, size_t len);
/* check(): every VALID buffer against its block's checksum. */
int er_cache_check(er_engine* e, ordo_failure* failure);

/* ---- er_request.c ---- */
int er_apply(er_engine* e, const ordo_request* r, ordo_failure* failure);

#endif /* EVICT_RACE_ER_H_ */
