#include "decoder.h"

#include <dirent.h>
#include <errno.h>
#include <fmt/core.h>
#include <linux/types.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>

#include "ordo/util/clock.h"
#include "syscalls.h"

namespace ordo::capture {

namespace {

// Kernel dev_t (major << 20 | minor) to the user-space encoding stat() uses.
uint64_t UserDev(uint64_t kdev) { return makedev(kdev >> 20, kdev & 0xfffff); }

std::string ReadLink(const std::string& p) {
  char buf[4096];
  ssize_t n = readlink(p.c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string Hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return fmt::format("fnv1a64:{:016x}", h);
}

using util::MonotonicNs;

}  // namespace

std::string RedactedPath(const std::string& path) { return Hash(path); }

void Decoder::Add(const trace::Record& r) {
  if (!status_.ok()) return;
  status_ = writer_->Add(r);
}

bool Decoder::PathSelected(const std::string& path) const {
  if (options_.path_prefixes.empty()) return true;
  for (const auto& p : options_.path_prefixes) {
    if (path.rfind(p, 0) == 0) return true;
  }
  return false;
}

uint32_t Decoder::NewFileId(uint64_t dev, uint64_t ino, uint32_t pid, int fd, uint64_t size_hint) {
  auto key = std::make_pair(dev, ino);
  auto it = files_.find(key);
  if (it != files_.end()) {
    last_file_key_ = key;
    last_file_id_ = it->second;
    return it->second;
  }
  // The path: from the openat that made it, else /proc/PID/fd/FD if that fd
  // still names the same inode (by the time an event is decoded the fd may
  // have been closed and reused).
  std::string path;
  auto known = paths_by_inode_.find(key);
  std::string fdlink = fmt::format("/proc/{}/fd/{}", pid, fd);
  struct stat st;
  bool same = fd >= 0 && stat(fdlink.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino;
  if (known != paths_by_inode_.end()) {
    path = known->second;
  } else if (same) {
    path = ReadLink(fdlink);
  }
  if (path.empty()) path = fmt::format("<unknown: dev {} inode {}>", dev, ino);
  if (!PathSelected(path)) {
    files_[key] = 0;
    return 0;
  }
  uint32_t id = next_file_++;
  files_[key] = id;
  trace::FileRecord f;
  f.file = id;
  f.dev = dev;
  f.inode = ino;
  f.size = same ? static_cast<uint64_t>(st.st_size) : size_hint;
  f.path_is_hash = options_.redact_paths;
  f.path = options_.redact_paths ? Hash(path) : path;
  Add(trace::Record::File(f));
  return id;
}

void Decoder::NewThread(uint64_t key, uint32_t pid, uint32_t tid) {
  last_thread_ = key;
  if (!threads_.insert(key).second) return;
  trace::ThreadRecord t;
  t.pid = pid;
  t.tid = tid;
  std::ifstream comm(fmt::format("/proc/{}/task/{}/comm", pid, tid));
  std::getline(comm, t.name);
  Add(trace::Record::Thread(t));
}

void Decoder::SnapshotProcess(uint32_t pid) {
  std::string dir = fmt::format("/proc/{}/fd", pid);
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      int fd = std::atoi(e->d_name);
      if (e->d_name[0] == '.') continue;
      struct stat st;
      if (stat((dir + "/" + e->d_name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      FileId(st.st_dev, st.st_ino, pid, fd, static_cast<uint64_t>(st.st_size));
    }
    closedir(d);
  }
  std::string tasks = fmt::format("/proc/{}/task", pid);
  if (DIR* d = opendir(tasks.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') Thread(pid, static_cast<uint32_t>(std::atoi(e->d_name)));
    }
    closedir(d);
  }
}

void Decoder::AddLost(uint64_t count, uint64_t now_ns) {
  trace::LostRecord l;
  l.count = count;
  l.ts_ns = now_ns;
  Add(trace::Record::Lost(l));
}

int Decoder::OnEvent(const void* data, size_t size) {
  uint32_t type = 0;
  if (size >= sizeof(type)) std::memcpy(&type, data, sizeof(type));
  if (type == ORDO_EV_IO_BATCH && size >= offsetof(ordo_io_batch, ev)) {
    const auto* b = static_cast<const ordo_io_batch*>(data);
    size_t n = std::min<size_t>(
        {b->count, ORDO_BATCH_MAX, (size - offsetof(ordo_io_batch, ev)) / sizeof(ordo_io_event)});
    OnBatch(b, n);
  } else if (type == ORDO_EV_URING && size >= sizeof(ordo_uring_event)) {
    OnUring(static_cast<const ordo_uring_event*>(data));
  } else if (type == ORDO_EV_OPEN && size >= sizeof(ordo_open_event)) {
    OnOpen(static_cast<const ordo_open_event*>(data));
  } else if (type == ORDO_EV_ENGINE && size >= sizeof(ordo_usdt_event)) {
    OnEngine(static_cast<const ordo_usdt_event*>(data));
  } else if (type == ORDO_EV_SITE && size >= sizeof(ordo_site_event)) {
    OnSite(static_cast<const ordo_site_event*>(data));
  } else if (type == ORDO_EV_REQUEST && size >= sizeof(ordo_usdt_event)) {
    OnRequest(static_cast<const ordo_usdt_event*>(data));
  }
  if (!status_.ok()) return -EIO;
  if ((++slice_count_ & 255) == 0 && MonotonicNs() > deadline_ns_) return -EAGAIN;
  return 0;
}

void Decoder::OnBatch(const ordo_io_batch* b, size_t n) {
  uint32_t cpu = b->cpu;
  if (cpu >= sent_.size()) sent_.resize(cpu + 1, 0);
  sent_[cpu] = std::max<uint64_t>(sent_[cpu], b->generation + 1);
  // io_uring completions that waited for this batch (or a lost earlier one
  // of its CPU) go in among its records by end time.
  auto first = held_.lower_bound({cpu, 0}), last = held_.upper_bound({cpu, b->generation});
  if (first == last) {
    for (size_t i = 0; i < n; i++) OnIo(&b->ev[i]);
    return;
  }
  std::vector<ordo_io_event> waiting;
  for (auto it = first; it != last; ++it)
    waiting.insert(waiting.end(), it->second.begin(), it->second.end());
  held_.erase(first, last);
  std::vector<bool> placed(waiting.size(), false);
  for (size_t i = 0; i < n; i++) {
    const ordo_io_event& r = b->ev[i];
    for (size_t k = 0; k < waiting.size(); k++) {
      if (!placed[k] && waiting[k].tid == r.tid && waiting[k].end_ns <= r.end_ns) {
        OnIo(&waiting[k]);
        placed[k] = true;
      }
    }
    OnIo(&r);
  }
  for (size_t k = 0; k < waiting.size(); k++)
    if (!placed[k]) OnIo(&waiting[k]);
}

void Decoder::OnUring(const ordo_uring_event* u) {
  // A CPU number out of range (the submitter had exited): no batch to wait for.
  constexpr uint32_t kMaxCpus = 1u << 16;
  uint32_t cpu = u->after_cpu;
  if (!u->has_after || cpu >= kMaxCpus ||
      (cpu < sent_.size() && sent_[cpu] > u->after_generation)) {
    OnIo(&u->io);
    return;
  }
  held_[{cpu, u->after_generation}].push_back(u->io);
}

void Decoder::ReleaseHeld() {
  for (const auto& [batch, events] : held_)
    for (const ordo_io_event& e : events) OnIo(&e);
  held_.clear();
}

void Decoder::OnIo(const ordo_io_event* e) {
  uint32_t file = FileId(UserDev(e->dev), e->ino, e->pid, e->fd, 0);
  if (file != 0) {
    Thread(e->pid, e->tid);
    // The hot path: one reused Record, no temporary per event.
    io_record_.kind = trace::RecordKind::kIo;
    trace::IoRecord& io = io_record_.io;
    io.op = static_cast<trace::IoOp>(e->op);
    io.pid = e->pid;
    io.tid = e->tid;
    io.file = file;
    io.offset = e->offset;
    io.length = e->length;
    io.result = e->result;
    io.start_ns = e->start_ns;
    io.end_ns = e->end_ns;
    Add(io_record_);
    ++events_;
  }
}

void Decoder::OnOpen(const ordo_open_event* e) {
  std::string path(e->path, strnlen(e->path, sizeof(e->path)));
  if (!path.empty() && path[0] != '/') {
    // Relative to the working directory (openat with AT_FDCWD, the common case).
    std::string cwd = ReadLink(fmt::format("/proc/{}/cwd", e->pid));
    if (!cwd.empty()) path = cwd + "/" + path;
  }
  paths_by_inode_.emplace(std::make_pair(UserDev(e->dev), e->ino), path);
  uint32_t file = FileId(UserDev(e->dev), e->ino, e->pid, e->fd, e->size);
  if (file != 0) {
    Thread(e->pid, e->tid);
    trace::IoRecord io;
    io.op = trace::IoOp::kOpen;
    io.pid = e->pid;
    io.tid = e->tid;
    io.file = file;
    io.result = e->fd;
    io.start_ns = io.end_ns = e->ts_ns;
    Add(trace::Record::Io(io));
    ++events_;
  }
}

void Decoder::OnEngine(const ordo_usdt_event* e) {
  Thread(e->pid, e->tid);
  trace::EngineRecord r;
  r.kind = static_cast<uint16_t>(e->kind);
  r.pid = e->pid;
  r.tid = e->tid;
  r.block = e->a;
  r.arg = e->b;
  r.seq = engine_seq_++;
  r.has_wall = true;
  r.wall_ns = e->ts_ns;
  Add(trace::Record::Engine(r));
  ++events_;
}

void Decoder::OnSite(const ordo_site_event* e) {
  // One table per capture: an engine registers its sites in a fixed order,
  // so every process of it (and a restart) announces the same ones.
  if (e->id != 0 && e->id < trace::kSiteEventBase && sites_.insert(e->id).second) {
    trace::SiteRecord site;
    site.site = e->id;
    site.access = static_cast<uint8_t>(e->access);
    site.name = std::string(e->name, strnlen(e->name, sizeof e->name));
    Add(trace::Record::Site(site));
  }
}

void Decoder::OnRequest(const ordo_usdt_event* e) {
  Thread(e->pid, e->tid);
  auto it = engine_files_.find(static_cast<uint32_t>(e->a));
  if (it == engine_files_.end()) {
    trace::FileRecord f;
    f.file = next_file_++;
    f.path = fmt::format("engine-file-{}", e->a);
    Add(trace::Record::File(f));
    it = engine_files_.emplace(static_cast<uint32_t>(e->a), f.file).first;
  }
  trace::IoRecord io;
  io.op = static_cast<trace::IoOp>(e->kind);
  io.pid = e->pid;
  io.tid = e->tid;
  io.file = it->second;
  io.offset = e->b;
  io.length = e->c;
  io.result = static_cast<int64_t>(e->c);
  io.start_ns = io.end_ns = e->ts_ns;
  Add(trace::Record::Io(io));
  ++events_;
}

}  // namespace ordo::capture
