/* relocating_store: the read and write paths, and check().
 *
 * A read of a block first decides from its state flags whether the buffer
 * cache may serve it ("cached valid" set, "move pending" clear) and checks
 * that the flags are consistent ("at new slot" never goes with "cached
 * valid"); otherwise it reads the block's slot under the block lock,
 * verifies it and caches it.
 *
 * mode=legacy (THE BUG) makes that decision without the block lock, reading
 * "cached valid" first, then "move pending", then "at new slot", each a
 * separate load. The relocator changes those flags in three steps with the
 * data copy between them, so the three loads can straddle a move: "cached
 * valid" (set) from before its step (3), "at new slot" (set) from after it,
 * "move pending" from anywhere in it, a state that never existed. The read
 * reports it as a read-verify failure (ORDO_FAIL_FLAGS). Taken at face value
 * the pair "cached valid, not moving" would serve the buffer cached from the
 * old slot after the map moved on (here the relocated bytes are the same, so
 * the flag check is what turns the torn state into a finding).
 *
 * mode=fixed (THE FIX) takes the block lock first and reads "move pending"
 * before "cached valid" and "at new slot": the relocator holds the lock from
 * its first flag step to its last, so the three loads see one state, and a
 * cache hit is also checked against the block map's current slot and CRC. */
#include <stdio.h>
#include <string.h>

#include "rs.h"

static void lock_block(rs_engine* e, uint64_t key, uint32_t site) {
  e->host->mutex_lock(e->host->ctx, rs_block_lock(e, key));
  RS_POINT(e, site, key, 0); /* announced once held */
}

static void unlock_block(rs_engine* e, uint64_t key, uint32_t site) {
  RS_POINT(e, site, key, 0); /* announced before it is released */
  e->host->mutex_unlock(e->host->ctx, rs_block_lock(e, key));
}

static uint32_t read_flag(rs_engine* e, rs_block* b, uint64_t key, uint32_t site, uint32_t flag) {
  RS_POINT(e, site, key, 0);
  return atomic_load_explicit(&b->flags, memory_order_acquire) & flag;
}

static int verify_failed(rs_engine* e, uint64_t key, uint32_t site, uint64_t arg, ordo_failure* f,
                         const char* what, const char* why) {
  RS_POINT(e, site, key, arg);
  rs_fail(f, ORDO_FAILURE_VERIFY, key, rs_key_file(key),
          (uint64_t)rs_key_block(key) * RS_BLOCK_SIZE, "%s on block %u of f%u (offset %llu): %s",
          what, rs_key_block(key), rs_key_file(key),
          (unsigned long long)rs_key_block(key) * RS_BLOCK_SIZE, why);
  return ORDO_FAILED;
}

/* The miss path, with the block's lock held: read its slot, verify, cache. */
static int read_slot_locked(rs_engine* e, rs_block* b, uint64_t key, unsigned char* out,
                            ordo_failure* f) {
  rs_record rec;
  char why[200];
  uint64_t slot = b->slot;
  if (slot == RS_NO_SLOT) {
    memset(out, 0, RS_BLOCK_SIZE);
    return ORDO_OK;
  }
  RS_POINT(e, SITE_READ_DISK, key, 0);
  if (rs_log_pread(e, slot, &rec) != 0) {
    rs_fail(f, 0, key, rs_key_file(key), 0, "read slot %u:%u failed", rs_slot_seg(slot),
            rs_slot_idx(slot));
    return ORDO_ERROR;
  }
  RS_POINT(e, SITE_READ_VERIFY, key, 0);
  if (rs_record_check(&rec, key, slot, &b->crc, why, sizeof why) != 0)
    return verify_failed(e, key, SITE_READ_VERIFY_FAIL, ORDO_FAIL_DATA, f,
                         "read-verify checksum mismatch", why);
  /* Make the verified buffer servable: cache it, set "cached valid", clear
   * "at new slot" (one flag store). */
  RS_POINT(e, SITE_READ_MARK_CLEAN, key, 0);
  rs_cache_put(e, key, &rec);
  uint32_t fl = atomic_load_explicit(&b->flags, memory_order_relaxed);
  atomic_store_explicit(&b->flags, (fl | RS_CACHED) & ~RS_NEW_SLOT, memory_order_release);
  memcpy(out, rec.data, RS_BLOCK_SIZE);
  return ORDO_OK;
}

/* Serves the block from the cache if the flags say so. Returns ORDO_OK with
 * *served set, or ORDO_FAILED. `locked`: the block's lock is held, so the
 * block map may be consulted too. */
static int try_cache(rs_engine* e, rs_block* b, uint64_t key, uint32_t cached, uint32_t moving,
                     uint32_t new_slot, int locked, unsigned char* out, int* served,
                     ordo_failure* f) {
  rs_record rec;
  char why[200];
  *served = 0;
  if (cached && new_slot) {
    snprintf(why, sizeof why,
             "inconsistent state flags: cached valid=1, move pending=%u, at new slot=1 "
             "(a relocation clears cached valid when it sets at new slot)",
             moving ? 1u : 0u);
    return verify_failed(e, key, SITE_READ_VERIFY_FAIL, ORDO_FAIL_FLAGS, f,
                         "read-verify flag check failed", why);
  }
  if (!cached || moving) return ORDO_OK;
  RS_POINT(e, SITE_READ_CACHE_COPY, key, 0);
  if (!rs_cache_get(e, key, &rec)) return ORDO_OK; /* evicted: read the slot */
  RS_POINT(e, SITE_READ_VERIFY, key, 0);
  int bad = locked ? rs_record_check(&rec, key, b->slot, &b->crc, why, sizeof why)
                   : rs_record_check(&rec, key, rec.hdr.slot, NULL, why, sizeof why);
  if (bad)
    return verify_failed(e, key, SITE_READ_VERIFY_FAIL, ORDO_FAIL_DATA, f,
                         "read-verify checksum mismatch (cached)", why);
  memcpy(out, rec.data, RS_BLOCK_SIZE);
  *served = 1;
  return ORDO_OK;
}

static int read_block(rs_engine* e, uint32_t file_id, uint32_t block, unsigned char* out,
                      ordo_failure* f) {
  uint64_t key = rs_key(file_id, block);
  rs_block* b = rs_block_get(e, file_id, block, 0);
  if (!b) {
    memset(out, 0, RS_BLOCK_SIZE); /* a hole */
    return ORDO_OK;
  }
  int served = 0, rc;
  if (e->cfg.mode == RS_MODE_LEGACY) {
    /* THE BUG: three separate unlocked loads, "cached valid" first. */
    uint32_t cached = read_flag(e, b, key, SITE_READ_FLAG_CACHED, RS_CACHED);
    uint32_t moving = read_flag(e, b, key, SITE_READ_FLAG_MOVING, RS_MOVING);
    uint32_t new_slot = read_flag(e, b, key, SITE_READ_FLAG_NEW_SLOT, RS_NEW_SLOT);
    rc = try_cache(e, b, key, cached, moving, new_slot, 0, out, &served, f);
    if (rc != ORDO_OK || served) return rc;
    lock_block(e, key, SITE_READ_LOCK);
  } else {
    /* THE FIX: under the block lock, "move pending" first. */
    lock_block(e, key, SITE_READ_LOCK);
    uint32_t moving = read_flag(e, b, key, SITE_READ_FLAG_MOVING, RS_MOVING);
    uint32_t cached = read_flag(e, b, key, SITE_READ_FLAG_CACHED, RS_CACHED);
    uint32_t new_slot = read_flag(e, b, key, SITE_READ_FLAG_NEW_SLOT, RS_NEW_SLOT);
    rc = try_cache(e, b, key, cached, moving, new_slot, 1, out, &served, f);
    if (rc != ORDO_OK || served) {
      unlock_block(e, key, SITE_READ_UNLOCK);
      return rc;
    }
  }
  rc = read_slot_locked(e, b, key, out, f);
  unlock_block(e, key, SITE_READ_UNLOCK);
  return rc;
}

int rs_read(rs_engine* e, uint32_t file_id, uint64_t offset, uint64_t length, unsigned char* out,
            ordo_failure* f) {
  unsigned char buf[RS_BLOCK_SIZE];
  uint64_t done = 0;
  while (done < length) {
    uint64_t pos = offset + done;
    uint64_t blk = pos / RS_BLOCK_SIZE, in = pos % RS_BLOCK_SIZE;
    uint64_t n = RS_BLOCK_SIZE - in;
    if (n > length - done) n = length - done;
    if (blk >= (uint64_t)RS_CHUNK_BLOCKS * RS_MAX_CHUNKS) break; /* past any file: zeros */
    int rc = read_block(e, file_id, (uint32_t)blk, buf, f);
    if (rc != ORDO_OK) return rc;
    memcpy(out + done, buf + in, n);
    done += n;
  }
  return ORDO_OK;
}

static int write_block(rs_engine* e, uint32_t file_id, uint32_t block, uint32_t in, uint32_t n,
                       const unsigned char* data, ordo_failure* f) {
  uint64_t key = rs_key(file_id, block);
  rs_block* b = rs_block_get(e, file_id, block, 1);
  if (!b) {
    rs_fail(f, 0, key, file_id, (uint64_t)block * RS_BLOCK_SIZE, "block %u of f%u: out of range",
            block, file_id);
    return ORDO_ERROR;
  }
  rs_record rec;
  char why[200];
  int rc = ORDO_OK;
  lock_block(e, key, SITE_WRITE_LOCK);
  uint64_t old = b->slot;
  if (n < RS_BLOCK_SIZE && old != RS_NO_SLOT) {
    /* Read-modify-write of a partial block. */
    RS_POINT(e, SITE_WRITE_READ_OLD, key, 0);
    if (rs_log_pread(e, old, &rec) != 0) {
      rs_fail(f, 0, key, file_id, 0, "read slot %u:%u failed", rs_slot_seg(old), rs_slot_idx(old));
      rc = ORDO_ERROR;
      goto out;
    }
    RS_POINT(e, SITE_WRITE_VERIFY, key, 0);
    if (rs_record_check(&rec, key, old, &b->crc, why, sizeof why) != 0) {
      rc = verify_failed(e, key, SITE_WRITE_VERIFY_FAIL, ORDO_FAIL_DATA, f,
                         "read-verify checksum mismatch (write)", why);
      goto out;
    }
  } else {
    memset(rec.data, 0, RS_BLOCK_SIZE);
  }
  memcpy(rec.data + in, data, n);
  /* The cached copy is about to be stale: clear "cached valid" and "at new
   * slot" and drop the buffer, before the data changes. */
  RS_POINT(e, SITE_WRITE_INVALIDATE, key, 0);
  atomic_fetch_and_explicit(&b->flags, ~(RS_CACHED | RS_NEW_SLOT), memory_order_acq_rel);
  rs_cache_drop(e, key);
  uint64_t slot;
  if (rs_log_alloc(e, key, &slot, why, sizeof why) != 0) {
    rs_fail(f, 0, key, file_id, 0, "%s", why);
    rc = ORDO_ERROR;
    goto out;
  }
  rs_record_seal(e, &rec, slot, key);
  RS_POINT(e, SITE_WRITE_DATA, key, 0);
  if (rs_log_pwrite(e, slot, &rec) != 0) {
    rs_log_release(e, slot);
    rs_fail(f, 0, key, file_id, 0, "write slot %u:%u failed", rs_slot_seg(slot), rs_slot_idx(slot));
    rc = ORDO_ERROR;
    goto out;
  }
  /* The map switch makes the new version visible; the buffer was dropped, so
   * nothing cached for the block survives it. */
  RS_POINT(e, SITE_WRITE_PUBLISH, key, ORDO_PUBLISH_REPLACES_ANY);
  b->slot = slot;
  b->crc = rec.hdr.crc;
  b->seq = rec.hdr.seq;
  rs_log_release(e, old);
out:
  unlock_block(e, key, SITE_WRITE_UNLOCK);
  return rc;
}

int rs_write(rs_engine* e, uint32_t file_id, uint64_t offset, uint64_t length,
             const unsigned char* data, ordo_failure* f) {
  uint64_t done = 0;
  while (done < length) {
    uint64_t pos = offset + done;
    uint64_t blk = pos / RS_BLOCK_SIZE, in = pos % RS_BLOCK_SIZE;
    uint64_t n = RS_BLOCK_SIZE - in;
    if (n > length - done) n = length - done;
    if (blk >= (uint64_t)RS_CHUNK_BLOCKS * RS_MAX_CHUNKS) {
      rs_fail(f, 0, 0, file_id, pos, "offset %llu of f%u is past the largest file",
              (unsigned long long)pos, file_id);
      return ORDO_ERROR;
    }
    int rc = write_block(e, file_id, (uint32_t)blk, (uint32_t)in, (uint32_t)n, data + done, f);
    if (rc != ORDO_OK) return rc;
    done += n;
  }
  return ORDO_OK;
}

/* Every mapped block's record verifies, and the log's live counts match the
 * map. The relocator is idle (quiesced) and no request runs any more. */
int rs_check_all(rs_engine* e, ordo_failure* f) {
  rs_record rec;
  char why[200];
  uint64_t mapped = 0, live = 0;
  for (uint32_t fid = 0; fid < RS_MAX_FILES; fid++) {
    rs_file* file = atomic_load(&e->files[fid]);
    if (!file) continue;
    for (uint32_t c = 0; c < RS_MAX_CHUNKS; c++) {
      rs_chunk* ch = atomic_load(&file->chunks[c]);
      if (!ch) continue;
      for (uint32_t i = 0; i < RS_CHUNK_BLOCKS; i++) {
        rs_block* b = &ch->b[i];
        uint64_t key = rs_key(fid, c * RS_CHUNK_BLOCKS + i);
        e->host->mutex_lock(e->host->ctx, rs_block_lock(e, key));
        uint64_t slot = b->slot;
        int bad = 0;
        if (slot != RS_NO_SLOT) {
          mapped++;
          if (rs_log_pread(e, slot, &rec) != 0) {
            snprintf(why, sizeof why, "read slot %u:%u failed", rs_slot_seg(slot),
                     rs_slot_idx(slot));
            bad = 1;
          } else {
            bad = rs_record_check(&rec, key, slot, &b->crc, why, sizeof why) != 0;
          }
        }
        e->host->mutex_unlock(e->host->ctx, rs_block_lock(e, key));
        if (bad) {
          rs_fail(f, ORDO_FAILURE_VERIFY, key, fid, (uint64_t)rs_key_block(key) * RS_BLOCK_SIZE,
                  "check: block %u of f%u: %s", rs_key_block(key), fid, why);
          return ORDO_FAILED;
        }
      }
    }
  }
  e->host->mutex_lock(e->host->ctx, e->log);
  for (uint32_t s = 0; s < e->nsegs; s++)
    if (e->segs[s].fd >= 0) live += e->segs[s].live;
  e->host->mutex_unlock(e->host->ctx, e->log);
  if (live != mapped) {
    rs_fail(f, ORDO_FAILURE_CORRUPT, 0, UINT32_MAX, 0,
            "check: %llu blocks mapped but %llu live slots in the log", (unsigned long long)mapped,
            (unsigned long long)live);
    return ORDO_FAILED;
  }
  return ORDO_OK;
}
