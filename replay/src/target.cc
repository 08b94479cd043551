#include "target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ordo::replay {

// Byte i is the top byte of (offset + i) * K + index; stepping by K (an add,
// not a multiply per byte) lets the compiler vectorize it.
void FillContent(uint32_t index, uint64_t offset, char* out, size_t length) {
  constexpr uint64_t kStep = 0x9E3779B97F4A7C15ull;
  uint64_t x = offset * kStep + index;
  for (size_t i = 0; i < length; ++i, x += kStep) out[i] = static_cast<char>(x >> 56);
}

// Byte i is the low byte of (offset + i) * 31 + thread * 7 + op * 13 + 1,
// which repeats every 256 bytes: one period computed, then copied.
void FillWriteData(uint32_t thread, uint64_t op, uint64_t offset, char* out, size_t length) {
  size_t head = std::min<size_t>(length, 256);
  for (size_t i = 0; i < head; ++i)
    out[i] = static_cast<char>((offset + i) * 31 + thread * 7 + op * 13 + 1);
  for (size_t done = head; done < length;) {
    size_t n = std::min(done, length - done);  // doubling copies of what is already there
    std::memcpy(out + done, out, n);
    done += n;
  }
}

Status CreatePlainFiles(const std::string& dir, const std::vector<PlannedFile>& files) {
  std::string fdir = dir + "/files";
  int dfd = OpenBeneath(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::IoError(dir + ": " + std::strerror(errno));
  int made = mkdirat(dfd, "files", 0755);
  int err = errno;
  close(dfd);
  if (made != 0 && err != EEXIST) return Status::IoError(fdir + ": " + std::strerror(err));
  std::string chunk(1 << 20, '\0');
  for (uint32_t i = 0; i < files.size(); ++i) {
    std::string path = fdir + "/" + files[i].local_name;
    int fd = OpenBeneath(dir, "files/" + files[i].local_name,
                         O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ELOOP) {
      return Status::InvalidArgument(path +
                                     ": a symlink on the way (ordo follows none under a target)");
    }
    if (fd < 0) return Status::IoError(path + ": " + std::strerror(errno));
    for (uint64_t off = 0; off < files[i].size; off += chunk.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), files[i].size - off));
      FillContent(i, off, chunk.data(), n);
      if (pwrite(fd, chunk.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) {
        close(fd);
        return Status::IoError(path + ": " + std::strerror(errno));
      }
    }
    close(fd);
  }
  return Status::Ok();
}

}  // namespace ordo::replay
