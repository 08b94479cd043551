/* torn_persist: a write-back block cache engine for ordo, written against
 * ordo/engine_abi.h alone. Private header shared by the engine's C files.
 *
 * Each logical file NAME ("f0", "f1", ...) lives in the engine directory as
 *   NAME.data  the blocks, 4 KiB each, at block * 4096
 *   NAME.crc   one 8-byte entry per block at block * 8: CRC32C of the block's
 *              data (little endian) and a magic word; an entry without the
 *              magic (a hole) means "never persisted": the block must read as
 *              zeros.
 * Lock order: files_mu alone; block stripe -> cache_mu. Nobody waits for a
 * buffer while holding a block stripe. */
#ifndef TORN_PERSIST_TP_H_
#define TORN_PERSIST_TP_H_

#include <stddef.h>
#include <stdint.h>

#include "ordo/engine_point.h"

#define TP_BLOCK_SIZE 4096u
#define TP_CRC_ENTRY 8u
#define TP_CRC_MAGIC 0x31435054u /* "TPC1" */
#define TP_MAX_FILES 1024u
#define TP_NAME_MAX 64u
/* The object the cache mutex is announced on (never a block key in use). */
#define TP_CACHE_OBJECT UINT64_MAX

enum tp_mode { TP_MODE_FIXED = 0, TP_MODE_LEGACY = 1 };

/* Sites, registered in this order in open() (ids 1..N). */
enum tp_site {
  TP_SITE_CACHE_LOCK = 1,    /* cache.lock         ACQUIRE (observed) */
  TP_SITE_CACHE_UNLOCK,      /* cache.unlock       RELEASE (observed) */
  TP_SITE_READ_LOCK,         /* read.lock          ACQUIRE */
  TP_SITE_READ_HIT_VERIFY,   /* read.hit_verify    VERIFY */
  TP_SITE_READ_MISS_FILL,    /* read.miss_fill     FILL */
  TP_SITE_READ_MISS_READ,    /* read.miss_read     READ */
  TP_SITE_READ_MISS_CRC,     /* read.miss_crc      READ */
  TP_SITE_READ_MISS_VERIFY,  /* read.miss_verify   VERIFY */
  TP_SITE_READ_VERIFY_FAIL,  /* read.verify_fail   VERIFY_FAIL */
  TP_SITE_READ_INSTALL,      /* read.install       MARK_CLEAN */
  TP_SITE_READ_UNLOCK,       /* read.unlock        RELEASE */
  TP_SITE_WRITE_LOCK,        /* write.lock         ACQUIRE */
  TP_SITE_WRITE_RMW_FILL,    /* write.rmw_fill     FILL */
  TP_SITE_WRITE_RMW_CRC,     /* write.rmw_crc      READ */
  TP_SITE_WRITE_RMW_VERIFY,  /* write.rmw_verify   VERIFY */
  TP_SITE_WRITE_VERIFY_FAIL, /* write.verify_fail VERIFY_FAIL */
  TP_SITE_WRITE_UPDATE,      /* write.update       WRITE */
  TP_SITE_WRITE_PUBLISH,     /* write.publish      PUBLISH */
  TP_SITE_WRITE_UNLOCK,      /* write.unlock       RELEASE */
  TP_SITE_CACHE_EVICT,       /* cache.evict        FLAG_SET */
  TP_SITE_FLUSH_LOCK,        /* flush.lock         ACQUIRE */
  TP_SITE_FLUSH_DATA,        /* flush.write_data   WRITE */
  TP_SITE_FLUSH_CRC,         /* flush.write_crc    WRITE */
  TP_SITE_FLUSH_CLEAN,       /* flush.mark_clean   FLAG_SET */
  TP_SITE_FLUSH_UNLOCK,      /* flush.unlock       RELEASE */
  TP_SITE_END
};

typedef struct tp_file {
  char name[TP_NAME_MAX];
  uint32_t id; /* the high half of the file's block keys */
  int data_fd;
  int crc_fd;
} tp_file;

/* A cache buffer. Free: !in_index && pins == 0. Reserved (taken by a thread
 * that will fill or write it): !in_index && pins > 0. data and crc are
 * guarded by the block's stripe; everything else by cache_mu. */
typedef struct tp_buf {
  uint64_t obj;
  tp_file* file;
  uint32_t blk;
  uint32_t crc; /* CRC32C of data */
  uint32_t pins;
  uint8_t in_index;
  uint8_t dirty;
  uint8_t ref; /* clock reference bit */
  struct tp_buf* hnext;
  unsigned char* data;
} tp_buf;

/* One block of a flusher batch: what the flusher persists. */
typedef struct tp_flush_item {
  tp_buf* buf;
  tp_file* file;
  uint64_t obj;
  uint32_t blk;
  uint32_t crc; /* the checksum of the data it wrote */
} tp_flush_item;

typedef struct tp_engine {
  const ordo_host* host;
  int mode;
  uint32_t cache_blocks;
  uint32_t flush_every;
  uint32_t stripes;
  int has_observe;
  int dir_fd;
  uint32_t zero_crc; /* CRC32C of a block of zeros */

  ordo_mutex* files_mu;
  tp_file* files[TP_MAX_FILES];
  uint32_t nfiles;
  uint32_t next_other_id;

  ordo_mutex** stripe_mu;

  /* The cache; guarded by cache_mu. */
  ordo_mutex* cache_mu;
  tp_buf* bufs;
  unsigned char* mem;
  tp_buf** buckets;
  uint32_t nbuckets;
  uint32_t hand;
  uint32_t ndirty;
  uint32_t waiters;    /* writers waiting for a buffer */
  uint64_t flush_req;  /* flush-everything requests made */
  uint64_t flush_done; /* ... and completed */
  int stop;
  int io_failed;
  char io_msg[256];

  int flusher; /* thread handle, -1 when not started */
  tp_flush_item* batch;
} tp_engine;

/* tp_store.c */
uint32_t tp_crc32c(const void* data, size_t len);
void tp_fail(ordo_failure* f, uint32_t kind, uint64_t obj, const char* file, uint64_t offset,
             const char* fmt, ...) __attribute__((format(printf, 6, 7)));
void tp_error(ordo_failure* f, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t tp_obj(const tp_file* f, uint32_t blk);
tp_file* tp_file_get(tp_engine* e, const char* name, ordo_failure* failure);
int tp_files_recover(tp_engine* e, ordo_failure* failure);
void tp_files_close(tp_engine* e);
int tp_store_read_data(const tp_file* f, uint32_t blk, unsigned char* buf);
int tp_store_read_crc(const tp_file* f, uint32_t blk, uint32_t* crc, int* present);
int tp_store_write_data(const tp_file* f, uint32_t blk, const unsigned char* buf);
int tp_store_write_crc(const tp_file* f, uint32_t blk, uint32_t crc);
uint32_t tp_store_blocks(const tp_file* f);

/* tp_cache.c */
int tp_cache_init(tp_engine* e);
void tp_cache_free(tp_engine* e);
void tp_cache_lock(tp_engine* e);
void tp_cache_unlock(tp_engine* e);
void tp_cache_wait(tp_engine* e, int (*ready)(void*), void* arg);
void tp_block_lock(tp_engine* e, uint64_t obj, uint32_t site);
void tp_block_unlock(tp_engine* e, uint64_t obj, uint32_t site);
tp_buf* tp_cache_lookup(tp_engine* e, uint64_t obj);
tp_buf* tp_cache_grab(tp_engine* e);
int tp_cache_grabbable(const tp_engine* e);
void tp_cache_link(tp_engine* e, tp_buf* b);
void tp_cache_unpin(tp_engine* e, tp_buf* b);
int tp_cache_check(tp_engine* e, ordo_failure* failure);

/* tp_request.c */
int tp_apply_read(tp_engine* e, const ordo_request* r, ordo_failure* failure);
int tp_apply_write(tp_engine* e, const ordo_request* r, ordo_failure* failure);
int tp_apply_fsync(tp_engine* e, const ordo_request* r, ordo_failure* failure);

/* tp_flusher.c */
void tp_flusher_main(void* arg);
int tp_flush_all(tp_engine* e, ordo_failure* failure);
void tp_flusher_stop(tp_engine* e);

#endif /* TORN_PERSIST_TP_H_ */
