#include "ordo/util/atomic_output.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>

namespace ordo {

namespace {

std::string Errno(const std::string& name, const std::string& what) {
  return name + ": " + what + ": " + std::strerror(errno);
}

// The registry of temporaries, readable from a signal handler: fixed slots,
// each claimed with a compare-exchange, published once its path is written.
constexpr int kSlots = 32;
struct Slot {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 a file, 3 a directory
  char path[PATH_MAX];
};
Slot g_slots[kSlots];

int Register(const std::string& path, int kind) {
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (g_slots[i].state.compare_exchange_strong(expected, 1)) {
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].state.store(kind);
      return i;
    }
  }
  return -1;
}

void Unregister(int slot) {
  if (slot >= 0) g_slots[slot].state.store(0);
}

// Removes `name` under `dirfd` and everything below it with system calls
// only (async-signal-safe); never follows a symlink.
void RemoveTreeAt(int dirfd, const char* name, int depth) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return;
  if (depth > 16) return;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  alignas(8) char buf[2048];
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      struct Dirent64 {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
      };
      auto* d = reinterpret_cast<Dirent64*>(buf + off);
      off += d->reclen;
      if (std::strcmp(d->name, ".") == 0 || std::strcmp(d->name, "..") == 0) continue;
      if (d->type == DT_DIR) {
        RemoveTreeAt(fd, d->name, depth + 1);
      } else {
        unlinkat(fd, d->name, 0);
      }
    }
    lseek(fd, 0, SEEK_SET);  // entries moved under us; rescan until empty
    if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0) break;
  }
  close(fd);
  unlinkat(dirfd, name, AT_REMOVEDIR);
}

void OnTerminatingSignal(int sig) {
  RemoveTemporariesNow();
  signal(sig, SIG_DFL);
  raise(sig);
}

std::string RandomSuffix() {
  static const char kHex[] = "0123456789abcdef";
  unsigned char r[6] = {};
  if (getrandom(r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
    uint64_t x =
        static_cast<uint64_t>(getpid()) * 0x9E3779B97F4A7C15ull ^ reinterpret_cast<uintptr_t>(r);
    std::memcpy(r, &x, sizeof(r));
  }
  std::string s;
  for (unsigned char c : r) s += kHex[c & 15];
  return s;
}

// Who holds the write lock on `fd`, or 0.
pid_t LockHolder(int fd) {
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) return 0;
  return fl.l_pid;
}

}  // namespace

Status CheckOutput(const std::string& output, const std::vector<std::string>& inputs) {
  if (output.empty()) return Status::InvalidArgument("no output file named");
  if (output == "-") return Status::Ok();
  struct stat out;
  if (lstat(output.c_str(), &out) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IoError(Errno(output, "stat"));
  }
  if (S_ISLNK(out.st_mode)) {
    return Status::InvalidArgument(output +
                                   ": output is a symlink; ordo never writes through one (name the "
                                   "file itself, or - for standard output)");
  }
  if (S_ISDIR(out.st_mode)) return Status::InvalidArgument(output + ": output is a directory");
  for (const auto& in : inputs) {
    struct stat st;
    if (in == "-" || stat(in.c_str(), &st) != 0) continue;
    if (st.st_dev == out.st_dev && st.st_ino == out.st_ino) {
      return Status::InvalidArgument(output + ": output is the same file as the input " + in +
                                     "; writing it would destroy the input: choose another name");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path,
                                                       const OutputOptions& options) {
  if (path.empty() || path == "-")
    return Status::InvalidArgument("not a file name: '" + path + "'");
  if (path.back() == '/') return Status::InvalidArgument(path + ": output is a directory");
  ORDO_RETURN_IF_ERROR(CheckOutput(path, {}));
  std::unique_ptr<AtomicFile> f(new AtomicFile());
  f->path_ = path;
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A FIFO or a device: written in place, there is nothing to replace.
    f->fd_ = open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (f->fd_ < 0) return Status::IoError(Errno(path, "open"));
    f->temp_ = path;
    f->in_place_ = true;
    return f;
  }
  if (options.visible_partial) {
    f->temp_ = path + ".partial";
    f->keep_partial_ = true;
    f->fd_ =
        open(f->temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, options.mode);
    if (f->fd_ < 0 && errno == EEXIST) {
      int fd = open(f->temp_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      pid_t holder = fd >= 0 ? LockHolder(fd) : 0;
      if (fd >= 0) close(fd);
      if (holder > 0) {
        return Status::InvalidArgument(path + ": being written by another ordo (pid " +
                                       std::to_string(holder) + ", into " + f->temp_ + ")");
      }
      return Status::InvalidArgument(
          f->temp_ +
          ": exists, left by an interrupted writer; it may be the only copy of what it "
          "holds: rename or remove it first");
    }
    if (f->fd_ < 0) return Status::IoError(Errno(f->temp_, "create"));
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    (void)fcntl(f->fd_, F_SETLK, &fl);  // advisory: only names us to a second writer
    return f;
  }
  std::string dir = ".", base = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  for (int attempt = 0; attempt < 16 && f->fd_ < 0; ++attempt) {
    f->temp_ = (dir == "/" ? "" : dir) + "/." + base + "." + RandomSuffix() + ".partial";
    f->fd_ =
        open(f->temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, options.mode);
    if (f->fd_ < 0 && errno != EEXIST) {
      if (errno == EACCES || errno == EPERM || errno == EROFS) {
        return Status::IoError(Errno(dir, "cannot create a file in the output's directory"));
      }
      return Status::IoError(Errno(path, "create"));
    }
  }
  if (f->fd_ < 0) return Status::IoError(Errno(path, "create"));
  f->slot_ = Register(f->temp_, 2);
  return f;
}

AtomicFile::~AtomicFile() {
  Unregister(slot_);
  if (fd_ >= 0) close(fd_);
  if (!committed_ && !in_place_ && !keep_partial_) unlink(temp_.c_str());
  if (!committed_ && keep_partial_ && !failed_) {
    // Destroyed without a commit or a failure (the command gave up early):
    // an empty or headless partial is of no use to anyone.
    struct stat st;
    if (stat(temp_.c_str(), &st) == 0 && st.st_size == 0) unlink(temp_.c_str());
  }
}

Status AtomicFile::Commit() {
  if (committed_) return Status::Ok();
  if (in_place_) {
    committed_ = true;
    return Status::Ok();
  }
  if (fdatasync(fd_) != 0 && errno != EINVAL) {
    failed_ = true;
    return Status::IoError(Errno(temp_, "fdatasync"));
  }
  Unregister(slot_);  // from here the name may be the final file's
  slot_ = -1;
  if (rename(temp_.c_str(), path_.c_str()) != 0) {
    failed_ = true;
    return Status::IoError(Errno(path_, "rename " + temp_ + " over it"));
  }
  committed_ = true;
  std::string dir = ".";
  if (auto slash = path_.rfind('/'); slash != std::string::npos)
    dir = slash == 0 ? "/" : path_.substr(0, slash);
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  return Status::Ok();
}

void RemoveTemporariesNow() {
  for (auto& s : g_slots) {
    int kind = s.state.load();
    if (kind == 2) unlink(s.path);
    if (kind == 3) RemoveTreeAt(AT_FDCWD, s.path, 0);
  }
}

void RegisterTemporaryDir(const std::string& dir) { (void)Register(dir, 3); }

void UnregisterTemporaryDir(const std::string& dir) {
  for (int i = 0; i < kSlots; ++i) {
    if (g_slots[i].state.load() == 3 && dir == g_slots[i].path) Unregister(i);
  }
}

void InstallTemporaryCleanupOnSignals() {
  struct sigaction sa = {};
  sa.sa_handler = OnTerminatingSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

}  // namespace ordo
