/* relocating_store: the relocator, one host thread.
 *
 * It sleeps in host->wait on the ctl mutex until a pass is wanted (every
 * relocate_every requests, or when a sealed segment's garbage reaches
 * gc_percent) or the engine closes. A pass picks the sealed segment with the
 * most garbage (or seals the head when it is the only segment with data),
 * moves each block that still lives there to the log head, and reclaims the
 * segment (unlinks its file) once nothing lives in it.
 *
 * Moving one block, under the block's lock from the first step to the last:
 *   (1) set "move pending";
 *   (2) read and verify the old record, copy data and checksum to a slot at
 *       the log head (the checksum covers the slot address, so it is
 *       recomputed for the new slot);
 *   (3) switch the block map to the new slot, then clear "cached valid" and
 *       set "at new slot" (one flag store): the cached buffer belongs to the
 *       old slot;
 *   (4) clear "move pending".
 * Readers holding the block lock (mode=fixed) see either the state before
 * (1) or after (4). Unlocked readers (mode=legacy) can see any mix. */
#include <stdio.h>
#include <string.h>

#include "rs.h"

static void bg_fail(rs_engine* e, int rc, const ordo_failure* f) {
  e->host->mutex_lock(e->host->ctx, e->ctl);
  if (!e->bg_failed) {
    e->bg_failed = rc;
    memcpy(&e->bg_failure, f, sizeof *f);
  }
  e->host->mutex_unlock(e->host->ctx, e->ctl);
}

/* Returns 0, or ORDO_FAILED / ORDO_ERROR with *f filled. */
static int move_block(rs_engine* e, uint64_t key, uint64_t from, ordo_failure* f) {
  rs_block* b = rs_block_get(e, rs_key_file(key), rs_key_block(key), 0);
  if (!b) return 0;
  ordo_mutex* m = rs_block_lock(e, key);
  rs_record rec;
  char why[200];
  int rc = 0;
  e->host->mutex_lock(e->host->ctx, m);
  RS_POINT(e, SITE_RELOC_LOCK, key, 0);
  if (b->slot != from) goto out; /* rewritten since the pass looked */

  /* (1) */
  RS_POINT(e, SITE_RELOC_FLAG_MOVING, key, 0);
  atomic_fetch_or_explicit(&b->flags, RS_MOVING, memory_order_acq_rel);

  /* (2) */
  RS_POINT(e, SITE_RELOC_READ_OLD, key, 0);
  if (rs_log_pread(e, from, &rec) != 0) {
    rs_fail(f, 0, key, rs_key_file(key), 0, "relocator: read slot %u:%u failed", rs_slot_seg(from),
            rs_slot_idx(from));
    rc = ORDO_ERROR;
    goto done;
  }
  RS_POINT(e, SITE_RELOC_VERIFY, key, 0);
  if (rs_record_check(&rec, key, from, &b->crc, why, sizeof why) != 0) {
    RS_POINT(e, SITE_RELOC_VERIFY_FAIL, key, ORDO_FAIL_DATA);
    rs_fail(f, ORDO_FAILURE_VERIFY, key, rs_key_file(key),
            (uint64_t)rs_key_block(key) * RS_BLOCK_SIZE,
            "relocator: read-verify checksum mismatch on block %u of f%u: %s", rs_key_block(key),
            rs_key_file(key), why);
    rc = ORDO_FAILED;
    goto done;
  }
  uint64_t dest;
  if (rs_log_alloc(e, key, &dest, why, sizeof why) != 0) {
    rs_fail(f, 0, key, rs_key_file(key), 0, "relocator: %s", why);
    rc = ORDO_ERROR;
    goto done;
  }
  rs_record_seal(e, &rec, dest, key);
  RS_POINT(e, SITE_RELOC_COPY, key, 0);
  if (rs_log_pwrite(e, dest, &rec) != 0) {
    rs_log_release(e, dest);
    rs_fail(f, 0, key, rs_key_file(key), 0, "relocator: write slot %u:%u failed", rs_slot_seg(dest),
            rs_slot_idx(dest));
    rc = ORDO_ERROR;
    goto done;
  }

  /* (3) */
  /* arg 0: the map switch replaces no cached buffer; clearing "cached
   * valid", the next step, is what retires it. */
  RS_POINT(e, SITE_RELOC_MAP_UPDATE, key, 0);
  b->slot = dest;
  b->crc = rec.hdr.crc;
  b->seq = rec.hdr.seq;
  rs_log_release(e, from);
  RS_POINT(e, SITE_RELOC_FLAG_NEW_SLOT, key, 0);
  uint32_t fl = atomic_load_explicit(&b->flags, memory_order_relaxed);
  atomic_store_explicit(&b->flags, (fl & ~RS_CACHED) | RS_NEW_SLOT, memory_order_release);

done:
  /* (4) */
  RS_POINT(e, SITE_RELOC_FLAG_MOVE_DONE, key, 0);
  atomic_fetch_and_explicit(&b->flags, ~RS_MOVING, memory_order_acq_rel);
out:
  RS_POINT(e, SITE_RELOC_UNLOCK, key, 0);
  e->host->mutex_unlock(e->host->ctx, m);
  return rc;
}

static void relocate_pass(rs_engine* e) {
  uint32_t seg, used = 0;
  if (rs_log_pick_victim(e, &seg) != 0) return;
  for (uint32_t idx = 0;; idx++) {
    uint64_t key = rs_log_owner(e, seg, idx, &used);
    if (idx >= used) break;
    if (key == RS_NO_KEY) continue;
    ordo_failure f;
    memset(&f, 0, sizeof f);
    f.size = sizeof f;
    int rc = move_block(e, key, rs_slot(seg, idx), &f);
    if (rc != 0) {
      bg_fail(e, rc, &f);
      return;
    }
  }
  rs_log_reclaim_if_empty(e, seg);
}

static int wanted(void* arg) {
  rs_engine* e = arg;
  return e->pass_wanted || e->stop;
}

static int idle(void* arg) {
  rs_engine* e = arg;
  return !e->busy;
}

static void relocator_main(void* arg) {
  rs_engine* e = arg;
  e->host->mutex_lock(e->host->ctx, e->ctl);
  for (;;) {
    e->host->wait(e->host->ctx, e->ctl, wanted, e);
    if (e->stop) break;
    e->pass_wanted = 0;
    e->busy = 1;
    e->host->mutex_unlock(e->host->ctx, e->ctl);
    relocate_pass(e);
    e->host->mutex_lock(e->host->ctx, e->ctl);
    e->busy = 0;
    e->host->notify(e->host->ctx, e->ctl);
  }
  e->host->mutex_unlock(e->host->ctx, e->ctl);
}

int rs_relocator_start(rs_engine* e) {
  e->reloc_thread = e->host->spawn(e->host->ctx, "relocator", relocator_main, e);
  return e->reloc_thread < 0 ? -1 : 0;
}

void rs_relocator_kick(rs_engine* e) {
  e->host->mutex_lock(e->host->ctx, e->ctl);
  e->pass_wanted = 1;
  e->host->notify(e->host->ctx, e->ctl);
  e->host->mutex_unlock(e->host->ctx, e->ctl);
}

/* Drops a wanted pass and waits for the running one to end. */
void rs_relocator_quiesce(rs_engine* e) {
  e->host->mutex_lock(e->host->ctx, e->ctl);
  e->pass_wanted = 0;
  e->host->wait(e->host->ctx, e->ctl, idle, e);
  e->host->mutex_unlock(e->host->ctx, e->ctl);
}

void rs_relocator_stop(rs_engine* e) {
  if (e->reloc_thread < 0) return;
  e->host->mutex_lock(e->host->ctx, e->ctl);
  e->stop = 1;
  e->host->notify(e->host->ctx, e->ctl);
  e->host->mutex_unlock(e->host->ctx, e->ctl);
  e->host->join(e->host->ctx, e->reloc_thread);
  e->reloc_thread = -1;
}
