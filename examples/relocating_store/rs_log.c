/* relocating_store: CRC32C, records, the segment log and recovery. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rs.h"

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78), byte-wise table. */
static uint32_t crc_table[256];
static int crc_ready;

void rs_crc_init(void) {
  if (crc_ready) return;
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crc_table[i] = c;
  }
  crc_ready = 1;
}

uint32_t rs_crc32c(uint32_t crc, const void* buf, size_t len) {
  const unsigned char* p = buf;
  crc = ~crc;
  while (len--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t rs_record_crc(const rs_record* rec) {
  rs_hdr h = rec->hdr;
  h.crc = 0;
  uint32_t c = rs_crc32c(0, &h, sizeof h);
  return rs_crc32c(c, rec->data, RS_BLOCK_SIZE);
}

void rs_record_seal(rs_engine* e, rs_record* rec, uint64_t slot, uint64_t key) {
  memset(&rec->hdr, 0, sizeof rec->hdr);
  rec->hdr.magic = RS_MAGIC;
  rec->hdr.slot = slot;
  rec->hdr.seq = atomic_fetch_add(&e->seq, 1);
  rec->hdr.file = rs_key_file(key);
  rec->hdr.block = rs_key_block(key);
  rec->hdr.crc = rs_record_crc(rec);
}

int rs_record_check(const rs_record* rec, uint64_t key, uint64_t slot, const uint32_t* want,
                    char* why, size_t whylen) {
  uint32_t got = rs_record_crc(rec);
  if (rec->hdr.magic != RS_MAGIC) {
    snprintf(why, whylen, "no record at slot %u:%u (magic %08x)", rs_slot_seg(slot),
             rs_slot_idx(slot), rec->hdr.magic);
  } else if (got != rec->hdr.crc) {
    snprintf(why, whylen, "data crc32c %08x, stored checksum %08x (slot %u:%u)", got, rec->hdr.crc,
             rs_slot_seg(slot), rs_slot_idx(slot));
  } else if (rec->hdr.slot != slot) {
    snprintf(why, whylen, "record of slot %u:%u found at slot %u:%u", rs_slot_seg(rec->hdr.slot),
             rs_slot_idx(rec->hdr.slot), rs_slot_seg(slot), rs_slot_idx(slot));
  } else if (rs_key(rec->hdr.file, rec->hdr.block) != key) {
    snprintf(why, whylen, "slot %u:%u holds block %u of f%u", rs_slot_seg(slot), rs_slot_idx(slot),
             rec->hdr.block, rec->hdr.file);
  } else if (want && *want != rec->hdr.crc) {
    snprintf(why, whylen, "record checksum %08x, block map checksum %08x (slot %u:%u)",
             rec->hdr.crc, *want, rs_slot_seg(slot), rs_slot_idx(slot));
  } else {
    return 0;
  }
  return -1;
}

static void seg_name(char* buf, size_t len, uint32_t id) { snprintf(buf, len, "seg-%08u.log", id); }

int rs_log_init(rs_engine* e, char* err, size_t errlen) {
  rs_crc_init();
  e->segs = calloc(RS_MAX_SEGS, sizeof *e->segs);
  e->log = e->host->mutex_new(e->host->ctx);
  if (!e->segs || !e->log) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (uint32_t i = 0; i < RS_MAX_SEGS; i++) e->segs[i].fd = -1;
  e->head = UINT32_MAX;
  atomic_store(&e->seq, 1);
  return 0;
}

void rs_log_free(rs_engine* e) {
  if (e->segs) {
    for (uint32_t i = 0; i < e->nsegs; i++) {
      if (e->segs[i].fd >= 0) close(e->segs[i].fd);
      free(e->segs[i].owner);
    }
    free(e->segs);
    e->segs = NULL;
  }
  if (e->log) e->host->mutex_free(e->host->ctx, e->log);
  e->log = NULL;
}

static int seg_open(rs_engine* e, uint32_t id, int create) {
  char name[64];
  seg_name(name, sizeof name, id);
  int fd = openat(e->dirfd, name, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
  if (fd < 0) return -1;
  rs_segment* s = &e->segs[id];
  s->owner = malloc(sizeof(uint64_t) * e->cfg.seg_slots);
  if (!s->owner) {
    close(fd);
    return -1;
  }
  for (uint32_t i = 0; i < e->cfg.seg_slots; i++) s->owner[i] = RS_NO_KEY;
  s->fd = fd;
  s->used = s->live = 0;
  s->sealed = 0;
  return 0;
}

/* With the log mutex held: a sealed segment nothing lives in any more is
 * reclaimed (its file unlinked). Slots handed out but not yet written count
 * as live, so no block's home and no write in flight is in it. */
static void reclaim_locked(rs_engine* e, uint32_t seg) {
  rs_segment* s = &e->segs[seg];
  if (s->fd < 0 || !s->sealed || s->live != 0) return;
  char name[64];
  seg_name(name, sizeof name, seg);
  close(s->fd);
  unlinkat(e->dirfd, name, 0);
  free(s->owner);
  s->owner = NULL;
  s->fd = -1;
}

int rs_log_alloc(rs_engine* e, uint64_t key, uint64_t* slot, char* err, size_t errlen) {
  int rc = 0;
  e->host->mutex_lock(e->host->ctx, e->log);
  if (e->head == UINT32_MAX || e->segs[e->head].used == e->cfg.seg_slots) {
    if (e->head != UINT32_MAX) {
      e->segs[e->head].sealed = 1;
      reclaim_locked(e, e->head);
    }
    if (e->nsegs == RS_MAX_SEGS || seg_open(e, e->nsegs, 1) != 0) {
      snprintf(err, errlen, "cannot make segment %u: %s", e->nsegs,
               e->nsegs == RS_MAX_SEGS ? "too many segments" : strerror(errno));
      rc = -1;
      goto out;
    }
    e->head = e->nsegs++;
  }
  rs_segment* s = &e->segs[e->head];
  uint32_t idx = s->used++;
  s->live++;
  s->owner[idx] = key;
  *slot = rs_slot(e->head, idx);
out:
  e->host->mutex_unlock(e->host->ctx, e->log);
  return rc;
}

void rs_log_release(rs_engine* e, uint64_t slot) {
  if (slot == RS_NO_SLOT) return;
  e->host->mutex_lock(e->host->ctx, e->log);
  rs_segment* s = &e->segs[rs_slot_seg(slot)];
  if (s->owner && s->owner[rs_slot_idx(slot)] != RS_NO_KEY) {
    s->owner[rs_slot_idx(slot)] = RS_NO_KEY;
    s->live--;
    if (s->sealed && s->live == 0)
      reclaim_locked(e, rs_slot_seg(slot));
    else if (s->sealed && e->cfg.gc_percent > 0 &&
             (uint64_t)(s->used - s->live) * 100 >= (uint64_t)e->cfg.gc_percent * s->used)
      atomic_store(&e->gc_wanted, 1);
  }
  e->host->mutex_unlock(e->host->ctx, e->log);
}

/* The fd of a slot's segment: set before any of its slots is handed out and
 * closed only once none of them is any block's home, so a holder of the
 * block's lock reads it safely. */
int rs_log_pread(rs_engine* e, uint64_t slot, rs_record* rec) {
  int fd = e->segs[rs_slot_seg(slot)].fd;
  off_t off = (off_t)rs_slot_idx(slot) * RS_REC_SIZE;
  ssize_t n = fd < 0 ? -1 : pread(fd, rec, RS_REC_SIZE, off);
  if (n == (ssize_t)RS_REC_SIZE) return 0;
  if (n >= 0) memset((char*)rec + n, 0, RS_REC_SIZE - (size_t)n); /* short: fails check */
  return n < 0 ? -1 : 0;
}

int rs_log_pwrite(rs_engine* e, uint64_t slot, const rs_record* rec) {
  int fd = e->segs[rs_slot_seg(slot)].fd;
  off_t off = (off_t)rs_slot_idx(slot) * RS_REC_SIZE;
  return fd >= 0 && pwrite(fd, rec, RS_REC_SIZE, off) == (ssize_t)RS_REC_SIZE ? 0 : -1;
}

int rs_log_sync(rs_engine* e) {
  int rc = 0;
  e->host->mutex_lock(e->host->ctx, e->log);
  for (uint32_t i = 0; i < e->nsegs; i++)
    if (e->segs[i].fd >= 0 && fdatasync(e->segs[i].fd) != 0) rc = -1;
  e->host->mutex_unlock(e->host->ctx, e->log);
  return rc;
}

/* Rebuilds the block map from the segments: the record with the highest
 * sequence number of each block is its home. Single-threaded (open). */
int rs_log_recover(rs_engine* e, char* err, size_t errlen) {
  int dfd = dup(e->dirfd);
  DIR* d = dfd < 0 ? NULL : fdopendir(dfd);
  if (!d) {
    snprintf(err, errlen, "cannot list %s: %s", e->dir, strerror(errno));
    if (dfd >= 0) close(dfd);
    return -1;
  }
  struct dirent* de;
  rs_record rec;
  uint64_t maxseq = 0;
  int rc = 0;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    unsigned id;
    char name[64];
    if (sscanf(de->d_name, "seg-%8u.log", &id) != 1) continue;
    seg_name(name, sizeof name, id);
    if (strcmp(name, de->d_name) != 0) continue;
    if (id >= RS_MAX_SEGS || seg_open(e, id, 0) != 0) {
      snprintf(err, errlen, "cannot open segment %s", de->d_name);
      rc = -1;
      break;
    }
    if (id + 1 > e->nsegs) e->nsegs = id + 1;
    struct stat st;
    fstat(e->segs[id].fd, &st);
    uint32_t n = (uint32_t)(st.st_size / RS_REC_SIZE);
    if (n > e->cfg.seg_slots) {
      snprintf(err, errlen, "segment %s has %u slots, seg_slots=%u", de->d_name, n,
               e->cfg.seg_slots);
      rc = -1;
      break;
    }
    e->segs[id].used = n;
    e->segs[id].sealed = 1;
    for (uint32_t i = 0; i < n; i++) {
      uint64_t slot = rs_slot(id, i);
      char why[160];
      if (rs_log_pread(e, slot, &rec) != 0) {
        snprintf(err, errlen, "read %s: %s", de->d_name, strerror(errno));
        rc = -1;
        break;
      }
      if (rec.hdr.magic != RS_MAGIC) continue; /* a slot never written */
      uint64_t key = rs_key(rec.hdr.file, rec.hdr.block);
      if (rec.hdr.file >= RS_MAX_FILES || rs_record_check(&rec, key, slot, NULL, why, sizeof why)) {
        snprintf(err, errlen, "recovery: %s", why);
        rc = -1;
        break;
      }
      rs_block* b = rs_block_get(e, rec.hdr.file, rec.hdr.block, 1);
      if (!b) {
        snprintf(err, errlen, "recovery: block %u of f%u out of range", rec.hdr.block,
                 rec.hdr.file);
        rc = -1;
        break;
      }
      if (b->slot == RS_NO_SLOT || rec.hdr.seq > b->seq) {
        b->slot = slot;
        b->crc = rec.hdr.crc;
        b->seq = rec.hdr.seq;
      }
      if (rec.hdr.seq > maxseq) maxseq = rec.hdr.seq;
    }
  }
  closedir(d);
  if (rc != 0) return rc;
  /* Owners and live counts from the map. */
  for (uint32_t f = 0; f < RS_MAX_FILES; f++) {
    rs_file* file = atomic_load(&e->files[f]);
    if (!file) continue;
    for (uint32_t c = 0; c < RS_MAX_CHUNKS; c++) {
      rs_chunk* ch = atomic_load(&file->chunks[c]);
      if (!ch) continue;
      for (uint32_t i = 0; i < RS_CHUNK_BLOCKS; i++) {
        uint64_t slot = ch->b[i].slot;
        if (slot == RS_NO_SLOT) continue;
        rs_segment* s = &e->segs[rs_slot_seg(slot)];
        s->owner[rs_slot_idx(slot)] = rs_key(f, c * RS_CHUNK_BLOCKS + i);
        s->live++;
      }
    }
  }
  /* Segments nobody lives in any more are reclaimed now. */
  for (uint32_t i = 0; i < e->nsegs; i++) rs_log_reclaim_if_empty(e, i);
  atomic_store(&e->seq, maxseq + 1);
  return 0;
}

int rs_log_pick_victim(rs_engine* e, uint32_t* seg) {
  int found = 0;
  e->host->mutex_lock(e->host->ctx, e->log);
  uint32_t best = 0, best_garbage = 0;
  for (uint32_t i = 0; i < e->nsegs; i++) {
    rs_segment* s = &e->segs[i];
    if (s->fd < 0 || !s->sealed || s->live == 0) continue;
    uint32_t garbage = s->used - s->live;
    if (!found || garbage > best_garbage) {
      best = i;
      best_garbage = garbage;
      found = 1;
    }
  }
  if (!found && e->head != UINT32_MAX && e->segs[e->head].live > 0) {
    /* Only the head holds data: seal it and move its blocks to a new head. */
    e->segs[e->head].sealed = 1;
    best = e->head;
    e->head = UINT32_MAX;
    found = 1;
  }
  e->host->mutex_unlock(e->host->ctx, e->log);
  *seg = best;
  return found ? 0 : -1;
}

uint64_t rs_log_owner(rs_engine* e, uint32_t seg, uint32_t idx, uint32_t* used) {
  e->host->mutex_lock(e->host->ctx, e->log);
  rs_segment* s = &e->segs[seg];
  *used = s->fd >= 0 ? s->used : 0;
  uint64_t key = idx < *used ? s->owner[idx] : RS_NO_KEY;
  e->host->mutex_unlock(e->host->ctx, e->log);
  return key;
}

void rs_log_reclaim_if_empty(rs_engine* e, uint32_t seg) {
  e->host->mutex_lock(e->host->ctx, e->log);
  reclaim_locked(e, seg);
  e->host->mutex_unlock(e->host->ctx, e->log);
}
