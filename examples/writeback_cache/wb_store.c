/* wb_store.c: the on-disk store of the writeback_cache example engine.
 *
 * Each logical file NAME lives in DIR/NAME.data (the blocks) and DIR/NAME.sum
 * (one 8-byte record per block: CRC32C little-endian, then the magic "WBS1";
 * a zero record is a block never written, whose data is zeroes). The
 * authoritative checksum of every block is kept in memory (wb_file.sums):
 * loaded from .sum here, updated by writes, persisted by the flusher through
 * wb_disk_write(). Nothing here announces a point: the callers do, before
 * the I/O they ask for. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wb.h"

void wb_crc_init(uint32_t t[256]) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
}

uint32_t wb_crc32c(const wb_engine* e, const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = e->crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}

int wb_disk_read(wb_engine* e, wb_file* file, uint64_t bi, uint8_t* dst, ordo_failure* f) {
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

/* A .sum record: CRC32C and WB_SUM_MAGIC, little-endian. */
uint32_t wb_rec_get(const wb_engine* e, const uint8_t r[WB_SUM_REC]) {
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

int wb_disk_write(wb_engine* e, wb_file* file, uint32_t bi, const uint8_t* data, uint32_t sum) {
  const uint32_t bs = e->cfg.block_size;
  uint8_t r[WB_SUM_REC];
  rec_put(r, sum);
  if (pwrite_all(file->data_fd, data, bs, (uint64_t)bi * bs) ||
      pwrite_all(file->sum_fd, r, sizeof r, (uint64_t)bi * WB_SUM_REC))
    return -1;
  return 0;
}

int wb_sums_reserve(wb_engine* e, wb_file* file, uint64_t n) {
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

/* Loads the checksums persisted in `spath` (of `sum_size` bytes), covering
 * every block of a .data of `data_size` bytes. */
static int load_sums(wb_engine* e, wb_file* file, uint64_t data_size, uint64_t sum_size,
                     const char* spath, ordo_failure* f) {
  uint64_t bs = e->cfg.block_size, nrec = sum_size / WB_SUM_REC;
  uint64_t nblk = (data_size + bs - 1) / bs;
  if (wb_sums_reserve(e, file, nrec > nblk ? nrec : nblk))
    return wb_error(f, "writeback_cache: out of memory");
  for (uint64_t i = 0; i < nrec; i++) {
    uint8_t r[WB_SUM_REC];
    if (pread(file->sum_fd, r, sizeof r, (off_t)(i * WB_SUM_REC)) != sizeof r)
      return wb_error(f, "writeback_cache: read %s", spath);
    file->sums[i] = wb_rec_get(e, r);
  }
  return ORDO_OK;
}

/* Opens (creating) DIR/NAME.data and DIR/NAME.sum and loads the checksums.
 * On failure a descriptor not opened is -1; the caller closes the others. */
static int open_store(wb_engine* e, wb_file* file, ordo_failure* f) {
  char dpath[4400], spath[4400];
  snprintf(dpath, sizeof dpath, "%s/%s.data", e->dir, file->name);
  snprintf(spath, sizeof spath, "%s/%s.sum", e->dir, file->name);
  struct stat ds, ss;
  int rc = ORDO_OK;
  file->data_fd = open(dpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (file->data_fd < 0 || fstat(file->data_fd, &ds))
    rc = wb_error(f, "writeback_cache: open %s: %s", dpath, strerror(errno));
  file->sum_fd = rc ? -1 : open(spath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (rc == ORDO_OK && (file->sum_fd < 0 || fstat(file->sum_fd, &ss)))
    rc = wb_error(f, "writeback_cache: open %s: %s", spath, strerror(errno));
  if (rc == ORDO_OK) rc = load_sums(e, file, (uint64_t)ds.st_size, (uint64_t)ss.st_size, spath, f);
  return rc;
}

int wb_get_file(wb_engine* e, const char* name, wb_file** out, ordo_failure* f) {
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
  int rc = open_store(e, file, f);
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

int wb_check_file(wb_engine* e, wb_file* file, uint8_t* buf, ordo_failure* f) {
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
    int rc = wb_disk_read(e, file, bi, buf, f);
    if (rc != ORDO_OK) return rc;
    uint8_t r[WB_SUM_REC] = {0};
    if (bi < nrec && pread(file->sum_fd, r, sizeof r, (off_t)(bi * WB_SUM_REC)) != sizeof r)
      return wb_error(f, "writeback_cache: check: read %s.sum", file->name);
    uint32_t stored = wb_rec_get(e, r);
    uint32_t data = wb_crc32c(e, buf, bs);
    lock(e, e->cache_mu);
    uint32_t auth = wb_sum_of(e, file, bi);
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
