#include "backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "target.h"

namespace ordo::replay {

namespace {

class OnFiles : public ReplayBackend {
 public:
  explicit OnFiles(std::vector<int> fds) : fds_(std::move(fds)) {}
  ~OnFiles() override {
    for (int fd : fds_) close(fd);
  }
  Status Read(uint32_t file, uint64_t offset, uint64_t length, std::string* out) override {
    out->resize(length);
    char* buf = Buffer(length);
    ssize_t n = pread(fds_[file], buf, length, static_cast<off_t>(offset));
    if (n < 0) return Status::IoError(std::string("pread: ") + std::strerror(errno));
    std::memcpy(out->data(), buf, static_cast<size_t>(n));
    out->resize(static_cast<size_t>(n));
    return Status::Ok();
  }
  Status Write(uint32_t file, uint64_t offset, std::string_view data) override {
    char* buf = Buffer(data.size());
    std::memcpy(buf, data.data(), data.size());
    if (pwrite(fds_[file], buf, data.size(), static_cast<off_t>(offset)) < 0)
      return Status::IoError(std::string("pwrite: ") + std::strerror(errno));
    return Status::Ok();
  }
  Status Sync(uint32_t file) override {
    if (fdatasync(fds_[file]) != 0)
      return Status::IoError(std::string("fdatasync: ") + std::strerror(errno));
    return Status::Ok();
  }

 private:
  // O_DIRECT needs aligned memory; one buffer per thread, grown as needed.
  char* Buffer(size_t n) {
    thread_local std::unique_ptr<char, decltype(&std::free)> buf{nullptr, &std::free};
    thread_local size_t cap = 0;
    if (n > cap) {
      void* p = nullptr;
      cap = std::max<size_t>(n, 1 << 16);
      if (posix_memalign(&p, 4096, cap) != 0) std::abort();
      buf.reset(static_cast<char*>(p));
    }
    return buf.get();
  }
  std::vector<int> fds_;
};

}  // namespace

namespace {
thread_local uint32_t t_replay_thread = 0;
}  // namespace

void SetReplayThread(uint32_t index) { t_replay_thread = index; }

class OnHostedEngine : public ReplayBackend {
 public:
  explicit OnHostedEngine(plugin::HostedEngine* e) : e_(e) {}
  Status Read(uint32_t file, uint64_t offset, uint64_t length, std::string* out) override {
    out->assign(length, '\0');  // the ABI hands the engine a zeroed buffer
    ordo_request r = Request(ORDO_OP_READ, file, offset, length);
    r.out = out->data();
    return e_->Apply(r);
  }
  Status Write(uint32_t file, uint64_t offset, std::string_view data) override {
    ordo_request r = Request(ORDO_OP_WRITE, file, offset, data.size());
    r.data = data.data();
    return e_->Apply(r);
  }
  Status Sync(uint32_t file) override { return e_->Apply(Request(ORDO_OP_FSYNC, file, 0, 0)); }

 private:
  ordo_request Request(ordo_op op, uint32_t file, uint64_t offset, uint64_t length) {
    thread_local std::vector<std::string> names;  // "f0", "f1"... made once per thread
    while (names.size() <= file)
      names.push_back(EngineFileName(static_cast<uint32_t>(names.size())));
    const std::string& name = names[file];
    ordo_request r{};
    r.size = sizeof(ordo_request);
    r.op = op;
    r.file = name.c_str();
    r.offset = offset;
    r.length = length;
    r.thread = t_replay_thread;
    return r;
  }
  plugin::HostedEngine* e_;
};

std::unique_ptr<ReplayBackend> HostedEngineBackend(plugin::HostedEngine* engine) {
  return std::make_unique<OnHostedEngine>(engine);
}

Result<std::unique_ptr<ReplayBackend>> FileBackend(const std::string& target,
                                                   const std::vector<PlannedFile>& files,
                                                   bool direct_io) {
  std::vector<int> fds;
  for (const auto& f : files) {
    std::string path = target + "/files/" + f.local_name;
    int fd = OpenBeneath(target, "files/" + f.local_name,
                         O_RDWR | O_CLOEXEC | (direct_io ? O_DIRECT : 0));
    if (fd < 0) {
      for (int d : fds) close(d);
      return Status::IoError(path + ": " + std::strerror(errno));
    }
    fds.push_back(fd);
  }
  return std::unique_ptr<ReplayBackend>(new OnFiles(std::move(fds)));
}

}  // namespace ordo::replay
