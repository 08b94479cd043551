/* evict_race: the on-disk store. CRC32C, the file table, the block stripe
 * locks, whole-block reads and writes, recovery at open and check(). */
#define _POSIX_C_SOURCE 200809L /* pread, openat, fdopendir, strndup under -std=c11 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "er.h"

#define ER_CRC_MAGIC 0x31435245u /* "ERC1" little-endian */
#define ER_RECORD 8u             /* bytes per checksum record */

/* CRC32C (Castagnoli, reflected 0x82f63b78), one table, a byte at a time. */
static const uint32_t kCrc32c[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu, 0x26a1e7e8u,
    0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu, 0x4d43cfd0u, 0xbf284cd3u,
    0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu, 0xf165b798u, 0x030e349bu, 0xd7c45070u,
    0x25afd373u, 0x36ff2087u, 0xc494a384u, 0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u,
    0x5d1d08bfu, 0xaf768bbcu, 0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u,
    0x33ed7d2au, 0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
    0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau, 0x30e349b1u,
    0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu, 0x1642ae59u, 0xe4292d5au,
    0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au, 0x7da08661u, 0x8fcb0562u, 0x9c9bf696u,
    0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu, 0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u,
    0x67dafa54u, 0x95b17957u, 0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu,
    0xfe53516fu, 0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu, 0x3ac7f2ebu,
    0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u, 0x61c69362u, 0x93ad1061u,
    0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu, 0x4767748au, 0xb50cf789u, 0xeb1fcbadu,
    0x197448aeu, 0x0a24bb5au, 0xf84f3859u, 0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u,
    0x7198540du, 0x83f3d70eu, 0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u,
    0xa55230e6u, 0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
    0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu, 0x456cac67u,
    0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u, 0xe9141340u, 0x1b7f9043u,
    0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu, 0x92a8fc17u, 0x60c37f14u, 0x73938ce0u,
    0x81f80fe3u, 0x55326b08u, 0xa759e80bu, 0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu,
    0xf94ad42fu, 0x0b21572cu, 0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u,
    0x502036a5u, 0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u, 0x0e330a81u,
    0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du, 0x758fe5d6u, 0x87e466d5u,
    0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u, 0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u,
    0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu, 0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u,
    0x0417b1dbu, 0xf67c32d8u, 0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu,
    0x5a048dffu, 0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u, 0x590ab964u,
    0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u, 0x7fab5e8cu, 0x8dc0dd8fu,
    0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu, 0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u,
    0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u, 0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u,
    0x4f48173du, 0xbd23943eu, 0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au,
    0xc69f7b69u, 0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t er_crc32c(const void* data, size_t len) {
  const uint8_t* p = data;
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < len; i++) c = kCrc32c[(c ^ p[i]) & 0xffu] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint32_t er_zero_crc(void) { return 0x98f94189u; /* er_crc32c of 4096 zero bytes */ }

ordo_mutex* er_block_lock(er_engine* e, uint64_t key) {
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  return e->stripes[(h >> 32) % ER_STRIPES];
}

static int valid_name(const char* name) {
  size_t n = strlen(name);
  if (n == 0 || n > ER_NAME_MAX || name[0] == '.') return 0;
  for (size_t i = 0; i < n; i++)
    if (name[i] == '/' || name[i] < 0x21 || name[i] > 0x7e) return 0;
  return 1;
}

/* "fN" (N < 2^31, no leading zero) gets id N; any other name 2^31 + slot. */
static uint32_t file_id(const char* name, uint32_t slot) {
  uint64_t v = 0;
  size_t n = strlen(name);
  if (n < 2 || n > 11 || name[0] != 'f' || (name[1] == '0' && n > 2)) return 0x80000000u + slot;
  for (size_t i = 1; i < n; i++) {
    if (name[i] < '0' || name[i] > '9') return 0x80000000u + slot;
    v = v * 10 + (uint64_t)(name[i] - '0');
  }
  return v < 0x80000000u ? (uint32_t)v : 0x80000000u + slot;
}

static int ensure_cap(er_file* f, uint64_t n) {
  if (n <= f->cap) return 0;
  uint64_t cap = f->cap ? f->cap : 64;
  while (cap < n) cap *= 2;
  uint32_t* p = realloc(f->crcs, cap * sizeof *p);
  if (p == NULL) return -ENOMEM;
  f->crcs = p;
  f->cap = cap;
  return 0;
}

/* Opens (creating when `create`) NAME.dat and NAME.crc and loads the
 * checksums. Called with files_lock held (or from open). */
static er_file* file_load(er_engine* e, const char* name, int create, ordo_failure* failure) {
  char path[ER_NAME_MAX + 8];
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  er_file* f = calloc(1, sizeof *f);
  if (f == NULL) {
    er_fail(failure, ORDO_ERROR, 0, 0, name, 0, "out of memory");
    return NULL;
  }
  snprintf(f->name, sizeof f->name, "%s", name);
  f->id = file_id(name, e->nfiles);
  f->crc_fd = -1;
  snprintf(path, sizeof path, "%s.dat", name);
  f->data_fd = openat(e->dir_fd, path, flags, 0600);
  if (f->data_fd < 0 && !create && errno == ENOENT) {
    free(f);
    return NULL; /* absent, and not asked to create it */
  }
  snprintf(path, sizeof path, "%s.crc", name);
  if (f->data_fd >= 0) f->crc_fd = openat(e->dir_fd, path, O_RDWR | O_CLOEXEC | O_CREAT, 0600);
  struct stat ds, cs;
  if (f->data_fd < 0 || f->crc_fd < 0 || fstat(f->data_fd, &ds) != 0 ||
      fstat(f->crc_fd, &cs) != 0) {
    er_fail(failure, ORDO_ERROR, 0, 0, name, 0, "open %s: %s", path, strerror(errno));
    goto fail;
  }
  if ((f->meta = e->host->mutex_new(e->host->ctx)) == NULL) goto fail;
  uint64_t nrec = (uint64_t)cs.st_size / ER_RECORD;
  uint64_t ndata = ((uint64_t)ds.st_size + ER_BLOCK_SIZE - 1) / ER_BLOCK_SIZE;
  f->nblocks = nrec > ndata ? nrec : ndata;
  if (ensure_cap(f, f->nblocks) != 0) {
    er_fail(failure, ORDO_ERROR, 0, 0, name, 0, "out of memory");
    goto fail;
  }
  for (uint64_t i = 0; i < f->nblocks; i++) f->crcs[i] = er_zero_crc();
  uint8_t rec[ER_RECORD * 512];
  for (uint64_t done = 0; done < nrec;) {
    uint64_t want = nrec - done < 512 ? nrec - done : 512;
    ssize_t n = pread(f->crc_fd, rec, want * ER_RECORD, (off_t)(done * ER_RECORD));
    if (n <= 0) {
      er_fail(failure, ORDO_ERROR, 0, 0, name, 0, "read %s: %s", path,
              n < 0 ? strerror(errno) : "short");
      goto fail;
    }
    for (uint64_t i = 0; i < (uint64_t)n / ER_RECORD; i++) {
      uint32_t crc, magic;
      memcpy(&crc, rec + i * ER_RECORD, 4);
      memcpy(&magic, rec + i * ER_RECORD + 4, 4);
      if (magic == ER_CRC_MAGIC) f->crcs[done + i] = crc;
    }
    done += (uint64_t)n / ER_RECORD;
  }
  return f;
fail:
  if (f->data_fd >= 0) close(f->data_fd);
  if (f->crc_fd >= 0) close(f->crc_fd);
  if (f->meta != NULL) e->host->mutex_free(e->host->ctx, f->meta);
  free(f->crcs);
  free(f);
  return NULL;
}

static int cmp_str(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

int er_store_open(er_engine* e, ordo_failure* failure) {
  int fd = dup(e->dir_fd);
  DIR* d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    if (fd >= 0) close(fd);
    return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "opendir: %s", strerror(errno));
  }
  char* names[ER_MAX_FILES];
  uint32_t n = 0;
  struct dirent* de;
  while ((de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);
    if (len <= 4 || strcmp(de->d_name + len - 4, ".dat") != 0 || len - 4 > ER_NAME_MAX) continue;
    if (n == ER_MAX_FILES || (names[n] = strndup(de->d_name, len - 4)) == NULL) break;
    if (valid_name(names[n]))
      n++;
    else
      free(names[n]);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp_str); /* ids of other names: stable order */
  int rc = ORDO_OK;
  for (uint32_t i = 0; i < n; i++) {
    /* create=1: the .dat exists; a NULL is an error file_load described. */
    er_file* f = rc == ORDO_OK ? file_load(e, names[i], 1, failure) : NULL;
    if (f != NULL)
      e->files[e->nfiles++] = f;
    else
      rc = ORDO_ERROR;
    free(names[i]);
  }
  return rc;
}

void er_store_close(er_engine* e) {
  for (uint32_t i = 0; i < e->nfiles; i++) {
    er_file* f = e->files[i];
    close(f->data_fd);
    close(f->crc_fd);
    e->host->mutex_free(e->host->ctx, f->meta);
    free(f->crcs);
    free(f);
  }
  e->nfiles = 0;
}

int er_file_get(er_engine* e, const char* name, int create, er_file** out, ordo_failure* failure) {
  *out = NULL;
  if (name == NULL || !valid_name(name))
    return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "bad logical file name");
  int rc = ORDO_OK;
  er_file* f = NULL;
  e->host->mutex_lock(e->host->ctx, e->files_lock);
  for (uint32_t i = 0; i < e->nfiles && f == NULL; i++)
    if (strcmp(e->files[i]->name, name) == 0) f = e->files[i];
  if (f == NULL && create) {
    if (e->nfiles == ER_MAX_FILES)
      rc = er_fail(failure, ORDO_ERROR, 0, 0, name, 0, "more than %u files", ER_MAX_FILES);
    else if ((f = file_load(e, name, 1, failure)) != NULL)
      e->files[e->nfiles++] = f;
    else
      rc = ORDO_ERROR; /* file_load said why */
  }
  e->host->mutex_unlock(e->host->ctx, e->files_lock);
  *out = f;
  return rc;
}

uint32_t er_block_crc(er_engine* e, er_file* f, uint64_t block) {
  e->host->mutex_lock(e->host->ctx, f->meta);
  uint32_t crc = block < f->nblocks ? f->crcs[block] : er_zero_crc();
  e->host->mutex_unlock(e->host->ctx, f->meta);
  return crc;
}

int er_block_read(er_file* f, uint64_t block, uint8_t* buf) {
  size_t done = 0;
  while (done < ER_BLOCK_SIZE) {
    ssize_t n =
        pread(f->data_fd, buf + done, ER_BLOCK_SIZE - done, (off_t)(block * ER_BLOCK_SIZE + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break; /* past EOF: zeroes */
    done += (size_t)n;
  }
  memset(buf + done, 0, ER_BLOCK_SIZE - done);
  return 0;
}

static int pwrite_all(int fd, const void* p, size_t len, off_t off) {
  const uint8_t* b = p;
  while (len > 0) {
    ssize_t n = pwrite(fd, b, len, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? -errno : -EIO;
    b += n;
    len -= (size_t)n;
    off += n;
  }
  return 0;
}

int er_block_write(er_engine* e, er_file* f, uint64_t block, const uint8_t* buf, uint32_t crc) {
  uint8_t rec[ER_RECORD];
  uint32_t magic = ER_CRC_MAGIC;
  memcpy(rec, &crc, 4);
  memcpy(rec + 4, &magic, 4);
  int rc = pwrite_all(f->data_fd, buf, ER_BLOCK_SIZE, (off_t)(block * ER_BLOCK_SIZE));
  if (rc == 0) rc = pwrite_all(f->crc_fd, rec, ER_RECORD, (off_t)(block * ER_RECORD));
  if (rc != 0) return rc;
  e->host->mutex_lock(e->host->ctx, f->meta);
  if (block >= f->nblocks) {
    rc = ensure_cap(f, block + 1);
    for (uint64_t i = f->nblocks; rc == 0 && i < block; i++) f->crcs[i] = er_zero_crc();
    if (rc == 0) f->nblocks = block + 1;
  }
  if (rc == 0) f->crcs[block] = crc;
  e->host->mutex_unlock(e->host->ctx, f->meta);
  return rc;
}

int er_file_sync(er_file* f) {
  if (fsync(f->data_fd) != 0 || fsync(f->crc_fd) != 0) return -errno;
  return 0;
}

/* One file: every block on disk against its on-disk record (and the copy in
 * memory). Block locks are taken so a late evictor step cannot matter. */
static int check_file(er_engine* e, er_file* f, uint8_t* buf, ordo_failure* failure) {
  const ordo_host* h = e->host;
  h->mutex_lock(h->ctx, f->meta);
  uint64_t nblocks = f->nblocks;
  h->mutex_unlock(h->ctx, f->meta);
  for (uint64_t b = 0; b < nblocks; b++) {
    uint64_t key = er_key(f, b);
    uint8_t rec[ER_RECORD] = {0};
    uint32_t disk_crc = er_zero_crc(), magic;
    ordo_mutex* m = er_block_lock(e, key);
    h->mutex_lock(h->ctx, m);
    int rc = er_block_read(f, b, buf);
    ssize_t n = pread(f->crc_fd, rec, ER_RECORD, (off_t)(b * ER_RECORD));
    uint32_t mem_crc = er_block_crc(e, f, b);
    h->mutex_unlock(h->ctx, m);
    if (rc != 0 || n < 0)
      return er_fail(failure, ORDO_ERROR, 0, key, f->name, b * ER_BLOCK_SIZE,
                     "check: read block %llu of %s: %s", (unsigned long long)b, f->name,
                     strerror(rc != 0 ? -rc : errno));
    memcpy(&magic, rec + 4, 4);
    if (n == ER_RECORD && magic == ER_CRC_MAGIC) memcpy(&disk_crc, rec, 4);
    uint32_t data_crc = er_crc32c(buf, ER_BLOCK_SIZE);
    if (data_crc != disk_crc || disk_crc != mem_crc)
      return er_fail(failure, ORDO_FAILED, ORDO_FAILURE_CORRUPT, key, f->name, b * ER_BLOCK_SIZE,
                     "check: block %llu of %s (offset %llu): data crc32c %08x, record %08x, "
                     "in memory %08x",
                     (unsigned long long)b, f->name, (unsigned long long)(b * ER_BLOCK_SIZE),
                     data_crc, disk_crc, mem_crc);
  }
  return ORDO_OK;
}

int er_store_check(er_engine* e, ordo_failure* failure) {
  uint8_t* buf = malloc(ER_BLOCK_SIZE);
  if (buf == NULL) return er_fail(failure, ORDO_ERROR, 0, 0, NULL, 0, "out of memory");
  e->host->mutex_lock(e->host->ctx, e->files_lock);
  uint32_t n = e->nfiles;
  e->host->mutex_unlock(e->host->ctx, e->files_lock);
  int rc = ORDO_OK;
  for (uint32_t i = 0; i < n && rc == ORDO_OK; i++) rc = check_file(e, e->files[i], buf, failure);
  free(buf);
  return rc;
}
