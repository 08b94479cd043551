#include "ordo/file_io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ordo {

namespace {

std::string Errno(const std::string& what, const std::string& name) {
  return name + ": " + what + ": " + std::strerror(errno);
}

class FdSource : public ByteSource {
 public:
  FdSource(int fd, bool owned, std::string name, std::optional<uint64_t> size)
      : fd_(fd), owned_(owned), name_(std::move(name)), size_(size) {}
  ~FdSource() override {
    if (owned_) close(fd_);
  }
  Result<size_t> Read(void* buf, size_t n) override {
    size_t got = 0;
    while (got < n) {
      ssize_t r = read(fd_, static_cast<char*>(buf) + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IoError(Errno("read", name_));
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }
  std::optional<uint64_t> Size() const override { return size_; }
  Status ReadAt(uint64_t offset, void* buf, size_t n) override {
    if (!size_) return Status::Unsupported(name_ + ": not seekable");
    size_t got = 0;
    while (got < n) {
      ssize_t r =
          pread(fd_, static_cast<char*>(buf) + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IoError(Errno("read", name_));
      if (r == 0)
        return Status::Truncated(name_ + ": file ends at byte " + std::to_string(offset + got));
      got += static_cast<size_t>(r);
    }
    return Status::Ok();
  }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  bool owned_;
  std::string name_;
  std::optional<uint64_t> size_;
};

class MemSource : public ByteSource {
 public:
  MemSource(std::string data, std::string name) : data_(std::move(data)), name_(std::move(name)) {}
  Result<size_t> Read(void* buf, size_t n) override {
    size_t k = std::min(n, data_.size() - pos_);
    if (k > 0) std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  std::optional<uint64_t> Size() const override { return data_.size(); }
  Status ReadAt(uint64_t offset, void* buf, size_t n) override {
    if (offset > data_.size() || data_.size() - offset < n)
      return Status::Truncated(name_ + ": ends before byte " + std::to_string(offset + n));
    if (n > 0) std::memcpy(buf, data_.data() + offset, n);
    return Status::Ok();
  }
  const std::string& name() const override { return name_; }

 private:
  std::string data_;
  size_t pos_ = 0;
  std::string name_;
};

class FdSink : public ByteSink {
 public:
  FdSink(int fd, bool owned, std::string name) : fd_(fd), owned_(owned), name_(std::move(name)) {}
  ~FdSink() override {
    if (owned_) close(fd_);
  }
  Status Write(const void* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = write(fd_, static_cast<const char*>(buf) + done, n - done);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IoError(Errno("write", name_));
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }
  Status Sync() override {
    if (!owned_) return Status::Ok();
    if (fdatasync(fd_) != 0 && errno != EINVAL) return Status::IoError(Errno("fdatasync", name_));
    return Status::Ok();
  }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  bool owned_;
  std::string name_;
};

class AtomicSink : public ByteSink {
 public:
  explicit AtomicSink(std::unique_ptr<AtomicFile> file)
      : file_(std::move(file)), out_(file_->fd(), false, file_->path()) {}
  Status Write(const void* buf, size_t n) override {
    Status s = out_.Write(buf, n);
    if (!s.ok()) file_->Abandon();
    return s;
  }
  Status Sync() override {
    if (fdatasync(file_->fd()) != 0 && errno != EINVAL)
      return Status::IoError(Errno("fdatasync", file_->temp_path()));
    return Status::Ok();
  }
  Status Commit() override { return file_->Commit(); }
  const std::string& name() const override { return file_->path(); }

 private:
  std::unique_ptr<AtomicFile> file_;
  FdSink out_;
};

class StrSink : public ByteSink {
 public:
  StrSink(std::string* out, std::string name) : out_(out), name_(std::move(name)) {}
  Status Write(const void* buf, size_t n) override {
    out_->append(static_cast<const char*>(buf), n);
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  const std::string& name() const override { return name_; }

 private:
  std::string* out_;
  std::string name_;
};

// Opens a FIFO without blocking, then waits for its writer's first bytes
// (or its close), saying what it waits for when that takes a while.
int OpenFifo(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fd;
  pollfd p{fd, POLLIN, 0};
  int r;
  while ((r = poll(&p, 1, 1000)) < 0 && errno == EINTR) {
  }
  if (r == 0) {
    std::fprintf(stderr, "ordo: %s: waiting for a writer on this FIFO (nothing written yet)\n",
                 path.c_str());
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace

Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& path) {
  if (path == "-") {
    return std::unique_ptr<ByteSource>(new FdSource(0, false, "<stdin>", std::nullopt));
  }
  struct stat pre;
  bool fifo = stat(path.c_str(), &pre) == 0 && S_ISFIFO(pre.st_mode);
  int fd = fifo ? OpenFifo(path) : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file").WithFile(path);
    if (errno == EACCES) return Status::PermissionDenied(Errno("open", path)).WithFile(path);
    return Status::IoError(Errno("open", path)).WithFile(path);
  }
  struct stat st;
  std::optional<uint64_t> size;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) size = static_cast<uint64_t>(st.st_size);
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return Status::InvalidArgument(path + ": is a directory").WithFile(path);
  }
  return std::unique_ptr<ByteSource>(new FdSource(fd, true, path, size));
}

Result<std::unique_ptr<SpooledInput>> SpooledInput::Open(const std::string& path) {
  std::unique_ptr<SpooledInput> in(new SpooledInput());
  struct stat st;
  if (path != "-" && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    in->path_ = path;
    return in;
  }
  auto src = OpenSource(path);
  if (!src.ok()) return src.status();
  const char* tmpdir = std::getenv("TMPDIR");
  auto tmp = AtomicFile::Create(std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/ordo-stdin",
                                OutputOptions{0600, false});
  if (!tmp.ok()) return tmp.status();
  std::string buf(1 << 20, '\0');
  FdSink out((*tmp)->fd(), false, (*tmp)->temp_path());
  for (;;) {
    auto n = (*src)->Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;
    ORDO_RETURN_IF_ERROR(out.Write(buf.data(), n.value()));
  }
  in->path_ = (*tmp)->temp_path();
  in->temp_ = std::move(tmp).value();  // never committed: removed with us
  return in;
}

SpooledInput::~SpooledInput() = default;

std::unique_ptr<ByteSource> MemorySource(std::string data, std::string name) {
  return std::make_unique<MemSource>(std::move(data), std::move(name));
}

Result<std::unique_ptr<ByteSink>> CreateSink(const std::string& path, unsigned mode) {
  OutputOptions o;
  o.mode = mode;
  return CreateSink(path, o);
}

Result<std::unique_ptr<ByteSink>> CreateSink(const std::string& path,
                                             const OutputOptions& options) {
  if (path == "-") return std::unique_ptr<ByteSink>(new FdSink(1, false, "<stdout>"));
  auto f = AtomicFile::Create(path, options);
  if (!f.ok()) return f.status();
  return std::unique_ptr<ByteSink>(new AtomicSink(std::move(f).value()));
}

std::unique_ptr<ByteSink> StringSink(std::string* out, std::string name) {
  return std::make_unique<StrSink>(out, std::move(name));
}

}  // namespace ordo
