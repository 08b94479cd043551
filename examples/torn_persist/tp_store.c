/* torn_persist: the on-disk store (data and checksum files), CRC32C and the
 * failure helpers. */
#define _POSIX_C_SOURCE 200809L /* pread, openat, fdopendir, fdatasync */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp.h"

/* CRC32C (Castagnoli, reflected polynomial 0x82f63b78), one table. */
static const uint32_t kCrc32cTable[256] = {
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

uint32_t tp_crc32c(const void* data, size_t len) {
  const unsigned char* p = data;
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < len; i++) c = kCrc32cTable[(c ^ p[i]) & 0xffu] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

void tp_fail(ordo_failure* f, uint32_t kind, uint64_t obj, const char* file, uint64_t offset,
             const char* fmt, ...) {
  if (f == NULL) return;
  if (ORDO_HAS(ordo_failure, f, kind)) f->kind = kind;
  if (ORDO_HAS(ordo_failure, f, object)) f->object = obj;
  if (ORDO_HAS(ordo_failure, f, offset)) f->offset = offset;
  if (ORDO_HAS(ordo_failure, f, file)) snprintf(f->file, sizeof f->file, "%s", file);
  if (ORDO_HAS(ordo_failure, f, message)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
  }
}

void tp_error(ordo_failure* f, const char* fmt, ...) {
  if (f == NULL || !ORDO_HAS(ordo_failure, f, message)) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->message, sizeof f->message, fmt, ap);
  va_end(ap);
}

uint64_t tp_obj(const tp_file* f, uint32_t blk) { return ((uint64_t)f->id << 32) | blk; }

/* Names become file names in the engine directory: keep them plain. */
static int name_ok(const char* name) {
  size_t n = strlen(name);
  if (n == 0 || n >= TP_NAME_MAX || name[0] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.';
    if (!ok) return 0;
  }
  return 1;
}

/* "f<N>" (canonical decimal, N < 2^30) is file id N; other names get ids
 * from 2^30 up, in order of first use. */
static int parse_id(const char* name, uint32_t* id) {
  if (name[0] != 'f' || name[1] < '0' || name[1] > '9') return 0;
  if (name[1] == '0' && name[2] != '\0') return 0;
  uint64_t v = 0;
  for (const char* p = name + 1; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    v = v * 10 + (uint64_t)(*p - '0');
    if (v >= (1u << 30)) return 0;
  }
  *id = (uint32_t)v;
  return 1;
}

/* Caller holds files_mu. */
static tp_file* file_open_locked(tp_engine* e, const char* name, ordo_failure* failure) {
  for (uint32_t i = 0; i < e->nfiles; i++)
    if (strcmp(e->files[i]->name, name) == 0) return e->files[i];
  if (!name_ok(name)) {
    tp_error(failure, "torn_persist: unusable file name \"%s\"", name);
    return NULL;
  }
  if (e->nfiles == TP_MAX_FILES) {
    tp_error(failure, "torn_persist: more than %u files", TP_MAX_FILES);
    return NULL;
  }
  tp_file* f = calloc(1, sizeof *f);
  if (f == NULL) {
    tp_error(failure, "torn_persist: out of memory");
    return NULL;
  }
  snprintf(f->name, sizeof f->name, "%s", name);
  if (!parse_id(name, &f->id)) f->id = (1u << 30) + e->next_other_id++;
  char path[TP_NAME_MAX + 8];
  snprintf(path, sizeof path, "%s.data", name);
  f->data_fd = openat(e->dir_fd, path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  snprintf(path, sizeof path, "%s.crc", name);
  f->crc_fd = openat(e->dir_fd, path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (f->data_fd < 0 || f->crc_fd < 0) {
    tp_error(failure, "torn_persist: open %s.{data,crc}: %s", name, strerror(errno));
    if (f->data_fd >= 0) close(f->data_fd);
    if (f->crc_fd >= 0) close(f->crc_fd);
    free(f);
    return NULL;
  }
  e->files[e->nfiles++] = f;
  return f;
}

tp_file* tp_file_get(tp_engine* e, const char* name, ordo_failure* failure) {
  e->host->mutex_lock(e->host->ctx, e->files_mu);
  tp_file* f = file_open_locked(e, name, failure);
  e->host->mutex_unlock(e->host->ctx, e->files_mu);
  return f;
}

/* Recovery at open: every NAME.data in the directory is a file (check()
 * verifies them all, touched by the run or not). Sorted, so ids of other
 * names do not depend on the directory's order. */
static int cmp_str(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

int tp_files_recover(tp_engine* e, ordo_failure* failure) {
  int fd = dup(e->dir_fd);
  DIR* d = fd < 0 ? NULL : fdopendir(fd);
  if (d == NULL) {
    if (fd >= 0) close(fd);
    tp_error(failure, "torn_persist: read the engine directory: %s", strerror(errno));
    return ORDO_ERROR;
  }
  char* names[TP_MAX_FILES];
  size_t n = 0;
  struct dirent* de;
  while ((de = readdir(d)) != NULL && n < TP_MAX_FILES) {
    size_t len = strlen(de->d_name);
    if (len <= 5 || len - 5 >= TP_NAME_MAX || strcmp(de->d_name + len - 5, ".data") != 0) continue;
    names[n] = strndup(de->d_name, len - 5);
    if (names[n] != NULL) n++;
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp_str);
  int rc = ORDO_OK;
  e->host->mutex_lock(e->host->ctx, e->files_mu);
  for (size_t i = 0; i < n; i++) {
    if (rc == ORDO_OK && name_ok(names[i]) && file_open_locked(e, names[i], failure) == NULL)
      rc = ORDO_ERROR;
    free(names[i]);
  }
  e->host->mutex_unlock(e->host->ctx, e->files_mu);
  return rc;
}

void tp_files_close(tp_engine* e) {
  for (uint32_t i = 0; i < e->nfiles; i++) {
    close(e->files[i]->data_fd);
    close(e->files[i]->crc_fd);
    free(e->files[i]);
    e->files[i] = NULL;
  }
  e->nfiles = 0;
}

/* Full-length positional I/O; bytes past the end read as zeros. */
static int read_full(int fd, unsigned char* buf, size_t len, off_t off) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = pread(fd, buf + got, len - got, off + (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  memset(buf + got, 0, len - got);
  return 0;
}

static int write_full(int fd, const unsigned char* buf, size_t len, off_t off) {
  size_t put = 0;
  while (put < len) {
    ssize_t r = pwrite(fd, buf + put, len - put, off + (off_t)put);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    put += (size_t)r;
  }
  return 0;
}

int tp_store_read_data(const tp_file* f, uint32_t blk, unsigned char* buf) {
  return read_full(f->data_fd, buf, TP_BLOCK_SIZE, (off_t)blk * TP_BLOCK_SIZE);
}

int tp_store_write_data(const tp_file* f, uint32_t blk, const unsigned char* buf) {
  return write_full(f->data_fd, buf, TP_BLOCK_SIZE, (off_t)blk * TP_BLOCK_SIZE);
}

static void put_le32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int tp_store_read_crc(const tp_file* f, uint32_t blk, uint32_t* crc, int* present) {
  unsigned char entry[TP_CRC_ENTRY];
  if (read_full(f->crc_fd, entry, sizeof entry, (off_t)blk * TP_CRC_ENTRY) != 0) return -1;
  *present = get_le32(entry + 4) == TP_CRC_MAGIC;
  *crc = *present ? get_le32(entry) : 0;
  return 0;
}

int tp_store_write_crc(const tp_file* f, uint32_t blk, uint32_t crc) {
  unsigned char entry[TP_CRC_ENTRY];
  put_le32(entry, crc);
  put_le32(entry + 4, TP_CRC_MAGIC);
  return write_full(f->crc_fd, entry, sizeof entry, (off_t)blk * TP_CRC_ENTRY);
}

/* Blocks a file has on disk: data blocks or checksum entries, the larger. */
uint32_t tp_store_blocks(const tp_file* f) {
  struct stat ds, cs;
  uint64_t n = 0;
  if (fstat(f->data_fd, &ds) == 0) n = ((uint64_t)ds.st_size + TP_BLOCK_SIZE - 1) / TP_BLOCK_SIZE;
  if (fstat(f->crc_fd, &cs) == 0 && (uint64_t)cs.st_size / TP_CRC_ENTRY > n)
    n = (uint64_t)cs.st_size / TP_CRC_ENTRY;
  return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}
