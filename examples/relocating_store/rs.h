/* relocating_store: a log-structured block store with a buffer cache and a
 * background relocator, written as an ordo engine against the public ABI
 * (ordo/engine_abi.h) only. Private header shared by the module's C files.
 *
 * On disk: append-only segment files seg-NNNNNNNN.log in the engine's
 * directory, each a row of fixed-size slots. A slot holds one 4 KiB block
 * behind a 32-byte header (magic, CRC32C, the slot's own address, a sequence
 * number, file id, block index). The CRC32C covers the header (with the
 * address, so a record read from the wrong slot fails) and the data.
 * In memory: per logical file a two-level table of block entries (slot, CRC,
 * state flags), a small buffer cache of verified records, and the log state
 * (head segment, live counts, slot owners). open() rebuilds the map by
 * scanning the segments (highest sequence number wins). */
#ifndef RELOCATING_STORE_RS_H_
#define RELOCATING_STORE_RS_H_

#include <stdatomic.h>
#include <stdint.h>

#include "ordo/engine_point.h"

#define RS_BLOCK_SIZE 4096u
#define RS_HDR_SIZE 32u
#define RS_REC_SIZE (RS_HDR_SIZE + RS_BLOCK_SIZE)
#define RS_MAGIC 0x52534c47u /* "RSLG" */

#define RS_MAX_FILES 4096u
#define RS_CHUNK_BLOCKS 1024u
#define RS_MAX_CHUNKS 4096u /* 4 M blocks (16 GiB) per file */
#define RS_MAX_SEGS 65536u
#define RS_STRIPES 64u
#define RS_NO_SLOT UINT64_MAX
#define RS_NO_KEY UINT64_MAX

/* Per-block state flags (rs_block.flags). Changed only under the block's
 * lock; legacy readers load them without it. Invariant under the lock:
 * RS_NEW_SLOT implies !RS_CACHED (a relocation clears "cached valid" when it
 * sets "at new slot"; a read miss that caches the block clears "at new
 * slot"; a write clears both). */
#define RS_CACHED 1u   /* "cached valid": the buffer cache may serve the block */
#define RS_MOVING 2u   /* "move pending": the relocator is moving the block */
#define RS_NEW_SLOT 4u /* "at new slot": moved since it was last cached */

/* Ordering points, registered in this order in open(). */
enum {
  SITE_READ_FLAG_CACHED = 1, /* FLAG_READ  */
  SITE_READ_FLAG_MOVING,     /* FLAG_READ  */
  SITE_READ_FLAG_NEW_SLOT,   /* FLAG_READ  */
  SITE_READ_CACHE_COPY,      /* READ       */
  SITE_READ_LOCK,            /* ACQUIRE    */
  SITE_READ_DISK,            /* FILL       */
  SITE_READ_VERIFY,          /* VERIFY     */
  SITE_READ_VERIFY_FAIL,     /* VERIFY_FAIL */
  SITE_READ_MARK_CLEAN,      /* MARK_CLEAN */
  SITE_READ_UNLOCK,          /* RELEASE    */
  SITE_WRITE_LOCK,           /* ACQUIRE    */
  SITE_WRITE_READ_OLD,       /* READ       */
  SITE_WRITE_VERIFY,         /* VERIFY     */
  SITE_WRITE_VERIFY_FAIL,    /* VERIFY_FAIL */
  SITE_WRITE_INVALIDATE,     /* FLAG_SET   */
  SITE_WRITE_DATA,           /* WRITE      */
  SITE_WRITE_PUBLISH,        /* PUBLISH    */
  SITE_WRITE_UNLOCK,         /* RELEASE    */
  SITE_RELOC_LOCK,           /* ACQUIRE    */
  SITE_RELOC_FLAG_MOVING,    /* FLAG_SET   */
  SITE_RELOC_READ_OLD,       /* READ       */
  SITE_RELOC_VERIFY,         /* VERIFY     */
  SITE_RELOC_VERIFY_FAIL,    /* VERIFY_FAIL */
  SITE_RELOC_COPY,           /* WRITE      */
  SITE_RELOC_MAP_UPDATE,     /* PUBLISH    */
  SITE_RELOC_FLAG_NEW_SLOT,  /* FLAG_SET   */
  SITE_RELOC_FLAG_MOVE_DONE, /* FLAG_SET   */
  SITE_RELOC_UNLOCK,         /* RELEASE    */
  SITE_COUNT_PLUS_ONE
};

typedef enum rs_mode { RS_MODE_FIXED = 0, RS_MODE_LEGACY = 1 } rs_mode;

typedef struct rs_config {
  rs_mode mode;
  uint32_t relocate_every; /* requests between relocation passes (0: never by count) */
  uint32_t seg_slots;      /* slots per segment */
  uint32_t cache_blocks;   /* buffers in the buffer cache */
  uint32_t gc_percent;     /* garbage share of a sealed segment that triggers a pass */
} rs_config;

/* The on-disk record header (host byte order; the lab's files stay local). */
typedef struct rs_hdr {
  uint32_t magic;
  uint32_t crc; /* CRC32C of the header (crc field zero) and the data */
  uint64_t slot;
  uint64_t seq;
  uint32_t file;
  uint32_t block;
} rs_hdr;

typedef struct rs_record {
  rs_hdr hdr;
  unsigned char data[RS_BLOCK_SIZE];
} rs_record;

/* One logical block. slot and crc change only under the block's lock. */
typedef struct rs_block {
  _Atomic uint32_t flags;
  uint32_t crc;  /* the CRC32C of the record at slot */
  uint64_t slot; /* RS_NO_SLOT: a hole */
  uint64_t seq;  /* the record's sequence number */
} rs_block;

typedef struct rs_chunk {
  rs_block b[RS_CHUNK_BLOCKS];
} rs_chunk;

typedef struct rs_file {
  _Atomic(rs_chunk*) chunks[RS_MAX_CHUNKS];
} rs_file;

typedef struct rs_segment {
  int fd;          /* -1: not open (never made, or reclaimed) */
  uint32_t used;   /* slots appended */
  uint32_t live;   /* slots still the home of their block */
  int sealed;      /* no more appends */
  uint64_t* owner; /* per slot: the block key living there, or RS_NO_KEY */
} rs_segment;

typedef struct rs_cache_buf {
  uint64_t key; /* RS_NO_KEY: free */
  uint64_t tick;
  rs_record rec;
} rs_cache_buf;

typedef struct rs_engine {
  const ordo_host* host;
  rs_config cfg;
  int dirfd;
  char dir[512];

  /* Files (meta mutex guards creation; chunk pointers are published). */
  ordo_mutex* meta;
  _Atomic(rs_file*) files[RS_MAX_FILES];

  /* Block locks: stripes; announced per block. */
  ordo_mutex* stripe[RS_STRIPES];

  /* The log (log mutex). */
  ordo_mutex* log;
  rs_segment* segs; /* RS_MAX_SEGS */
  uint32_t nsegs;   /* ids 0..nsegs-1 made so far */
  uint32_t head;    /* the segment appends go to (UINT32_MAX: none yet) */
  _Atomic uint64_t seq;
  _Atomic int gc_wanted;

  /* The buffer cache (cache mutex). */
  ordo_mutex* cache;
  rs_cache_buf* bufs;
  uint64_t tick;

  /* The relocator (ctl mutex). */
  ordo_mutex* ctl;
  int reloc_thread; /* handle, -1: none */
  int pass_wanted;
  int busy;
  int stop;
  _Atomic uint64_t requests;

  /* A failure found by the relocator, reported by the next call (ctl). */
  int bg_failed;
  int bg_reported;
  ordo_failure bg_failure;
} rs_engine;

/* relocating_store.c */
void rs_fail(ordo_failure* f, uint32_t kind, uint64_t object, uint32_t file_id, uint64_t offset,
             const char* fmt, ...) __attribute__((format(printf, 6, 7)));
#define RS_POINT(e, site, object, arg) ORDO_POINT((e)->host, site, object, arg)

static inline uint64_t rs_key(uint32_t file_id, uint32_t block) {
  return ((uint64_t)file_id << 32) | block;
}
static inline uint32_t rs_key_file(uint64_t key) { return (uint32_t)(key >> 32); }
static inline uint32_t rs_key_block(uint64_t key) { return (uint32_t)key; }
static inline uint64_t rs_slot(uint32_t seg, uint32_t idx) { return ((uint64_t)seg << 32) | idx; }
static inline uint32_t rs_slot_seg(uint64_t slot) { return (uint32_t)(slot >> 32); }
static inline uint32_t rs_slot_idx(uint64_t slot) { return (uint32_t)slot; }

/* rs_log.c: CRC32C, records, segments, recovery. */
void rs_crc_init(void);
uint32_t rs_crc32c(uint32_t crc, const void* buf, size_t len);
uint32_t rs_record_crc(const rs_record* rec);
int rs_log_init(rs_engine* e, char* err, size_t errlen);
void rs_log_free(rs_engine* e);
/* Allocates the next slot at the log head for `key` (log mutex inside). */
int rs_log_alloc(rs_engine* e, uint64_t key, uint64_t* slot, char* err, size_t errlen);
/* The slot no longer holds its block's current version. */
void rs_log_release(rs_engine* e, uint64_t slot);
int rs_log_pread(rs_engine* e, uint64_t slot, rs_record* rec);
int rs_log_pwrite(rs_engine* e, uint64_t slot, const rs_record* rec);
/* Fills hdr (slot, a fresh sequence number, key) and the CRC of `rec`. */
void rs_record_seal(rs_engine* e, rs_record* rec, uint64_t slot, uint64_t key);
/* 0 when `rec` is an intact record of `key` at `slot` (and, when `want` is
 * not NULL, its CRC is *want); else -1 with the reason in `why`. */
int rs_record_check(const rs_record* rec, uint64_t key, uint64_t slot, const uint32_t* want,
                    char* why, size_t whylen);
int rs_log_recover(rs_engine* e, char* err, size_t errlen);
int rs_log_sync(rs_engine* e);
/* Picks a segment to relocate (seals the head if it is the only one). */
int rs_log_pick_victim(rs_engine* e, uint32_t* seg);
/* The block key at slot idx of seg, or RS_NO_KEY. */
uint64_t rs_log_owner(rs_engine* e, uint32_t seg, uint32_t idx, uint32_t* used);
void rs_log_reclaim_if_empty(rs_engine* e, uint32_t seg);

/* rs_map.c: files, block entries, the buffer cache. */
int rs_file_id(const char* name, uint32_t* id);
rs_block* rs_block_get(rs_engine* e, uint32_t file_id, uint32_t block, int create);
ordo_mutex* rs_block_lock(rs_engine* e, uint64_t key);
int rs_cache_init(rs_engine* e);
void rs_cache_free(rs_engine* e);
int rs_cache_get(rs_engine* e, uint64_t key, rs_record* out);
void rs_cache_put(rs_engine* e, uint64_t key, const rs_record* rec);
void rs_cache_drop(rs_engine* e, uint64_t key);

/* rs_io.c: the request paths. */
int rs_read(rs_engine* e, uint32_t file_id, uint64_t offset, uint64_t length, unsigned char* out,
            ordo_failure* f);
int rs_write(rs_engine* e, uint32_t file_id, uint64_t offset, uint64_t length,
             const unsigned char* data, ordo_failure* f);
int rs_check_all(rs_engine* e, ordo_failure* f);

/* rs_relocator.c: the background relocator. */
int rs_relocator_start(rs_engine* e);
void rs_relocator_kick(rs_engine* e);
void rs_relocator_quiesce(rs_engine* e);
void rs_relocator_stop(rs_engine* e);

#endif /* RELOCATING_STORE_RS_H_ */
