// Claiming a replay target: lock, marker, symlink refusal and space checks.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ordo/units.h"
#include "ordo/util/dirs.h"
#include "target.h"

namespace ordo::replay {

namespace fs = std::filesystem;

namespace {

// Entries replay replaces wholesale; in a directory ordo did not create
// they belong to someone else.
constexpr const char* kReplaced[] = {"engine", "engine-template", "files"};

std::string StripTrailingSlashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

// True when the directory `dir` holds ordo's marker.
bool Marked(const std::string& dir) {
  struct stat st;
  return lstat((dir + "/" + kTargetMarker).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

bool NeedsForce(const std::string& given) {
  const std::string dir = StripTrailingSlashes(given);
  struct stat st;
  std::error_code ec;
  return lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && !fs::is_empty(dir, ec) &&
         !Marked(dir);
}

TargetClaim& TargetClaim::operator=(TargetClaim&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) close(lock_fd_);
    lock_fd_ = other.lock_fd_;
    other.lock_fd_ = -1;
  }
  return *this;
}

TargetClaim::~TargetClaim() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

Result<TargetClaim> ClaimTarget(const std::string& given, bool force) {
  if (given.empty()) return Status::InvalidArgument("no target directory given");
  // lstat("link/") follows the link: the name is judged without its slashes.
  const std::string dir = StripTrailingSlashes(given);
  struct stat st;
  bool ours = false;
  if (lstat(dir.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode))
      return Status::InvalidArgument(given + ": target is a symlink; give the real directory");
    if (!S_ISDIR(st.st_mode))
      return Status::InvalidArgument(given + ": target exists and is not a directory");
    std::error_code ec;
    bool empty = fs::is_empty(dir, ec);
    ours = Marked(dir);
    if (!empty && !ours && !force) {
      return Status::InvalidArgument(given +
                                     ": target is not empty and was not created by ordo; "
                                     "claimed only with force (replay writes under it)");
    }
    if (!ours) {
      for (const char* name : kReplaced) {
        if (lstat((dir + "/" + name).c_str(), &st) == 0) {
          return Status::InvalidArgument(dir + "/" + name +
                                         ": exists and was not made by ordo; replay would "
                                         "replace it, and ordo deletes only what it created");
        }
      }
    }
  }
  // Creates what is missing (mkdir -p) and refuses a symlink or a file at any
  // component, the existing ones included.
  ORDO_RETURN_IF_ERROR(MakeDirs(dir).WithContext("target " + given));
  TargetClaim claim;
  claim.lock_fd_ = OpenBeneath(dir, kTargetLock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (claim.lock_fd_ < 0) {
    return Status::IoError(dir + "/" + kTargetLock +
                           ": cannot open the target lock: " + std::strerror(errno));
  }
  if (flock(claim.lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = pread(claim.lock_fd_, buf, sizeof(buf) - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::InvalidArgument(given + ": target is in use by another ordo (pid " +
                                   (pid.empty() ? "unknown" : pid) +
                                   "); wait for it to finish or use another target");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(claim.lock_fd_, 0) != 0 ||
      pwrite(claim.lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return Status::IoError(dir + "/" + kTargetLock + ": " + std::strerror(errno));
  }
  int fd = OpenBeneath(dir, kTargetMarker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::IoError(dir + ": cannot write the target marker: " + std::strerror(errno));
  close(fd);
  return claim;
}

Status CheckTargetSpace(const std::string& dir, const std::vector<PlannedFile>& files,
                        uint64_t copies, uint64_t max_file_bytes) {
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) != 0)
    return Status::IoError(dir + ": statvfs: " + std::strerror(errno));
  const uint64_t fs_size = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  const uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  const uint64_t cap = max_file_bytes ? max_file_bytes : fs_size / 2;
  uint64_t total = 0;
  for (const auto& f : files) {
    if (f.size > cap) {
      return Status::InvalidArgument("file " + f.trace_path + " (" + f.local_name + ") declares " +
                                     FormatBytes(f.size) + " (" + std::to_string(f.size) +
                                     " bytes), above the per-file limit of " + FormatBytes(cap) +
                                     (max_file_bytes ? "" : " (half of the target's file system)"));
    }
    total += f.size;
  }
  if (copies > 1 && total > UINT64_MAX / copies)
    total = UINT64_MAX;
  else
    total *= copies;
  if (total > avail) {
    return Status::InvalidArgument(dir + ": the trace's " + std::to_string(files.size()) +
                                   " files need " + FormatBytes(total) + " (" +
                                   std::to_string(total) + " bytes) but the target has " +
                                   FormatBytes(avail) + " free");
  }
  return Status::Ok();
}

Status CheckFreeSpace(const std::string& dir, uint64_t bytes) {
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) != 0)
    return Status::IoError(dir + ": statvfs: " + std::strerror(errno)).WithFile(dir);
  const uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (bytes > avail) {
    return Status::InvalidArgument(dir + ": needs " + FormatBytes(bytes) + " (" +
                                   std::to_string(bytes) + " bytes) but has " + FormatBytes(avail) +
                                   " free")
        .WithFile(dir);
  }
  return Status::Ok();
}

Result<TargetClaim> PrepareTarget(const ReplayOptions& o, const ReplayPlan& plan) {
  auto claim = ClaimTarget(o.target, o.force);
  if (!claim.ok()) return claim.status();
  // The engine keeps a template and one working copy; plain files are laid out once.
  const uint64_t copies = o.backend == Backend::kFile ? 1 : 2;
  ORDO_RETURN_IF_ERROR(CheckTargetSpace(o.target, plan.files, copies, o.max_target_file_bytes));
  if (o.backend == Backend::kFile) ORDO_RETURN_IF_ERROR(CreatePlainFiles(o.target, plan.files));
  return claim;
}

int OpenBeneath(const std::string& root, const std::string& rel, int flags, unsigned mode) {
  int rootfd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rootfd < 0) return -1;
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_NOFOLLOW);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof(how)));
  if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
    // No openat2 (or a seccomp filter refusing it): walk the components.
    int at = rootfd;
    size_t start = 0;
    fd = -1;
    for (;;) {
      size_t slash = rel.find('/', start);
      std::string part = rel.substr(start, slash == std::string::npos ? slash : slash - start);
      if (part == ".." || part.empty()) {
        errno = EXDEV;
        break;
      }
      if (slash == std::string::npos) {
        fd = openat(at, part.c_str(), flags | O_NOFOLLOW, mode);
        break;
      }
      int next = openat(at, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (at != rootfd) close(at);
      if (next < 0) {
        at = rootfd;
        break;
      }
      at = next;
      start = slash + 1;
    }
    int saved = errno;
    if (at != rootfd) close(at);
    errno = saved;
  }
  int saved = errno;
  close(rootfd);
  errno = saved;
  return fd;
}

}  // namespace ordo::replay
