#include "block_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ordo/crc32c.h"
#include "ordo/util/varint.h"

namespace ordo::engine {

using trace::GetU32;
using trace::GetU64;
using trace::PutU32;
using trace::PutU64;

namespace {

enum JournalType : uint8_t { kJHeader = 5, kJFile = 1, kJMap = 2, kJSize = 3, kJDrop = 4 };

std::string Errno(const std::string& what, const std::string& path) {
  return path + ": " + what + ": " + std::strerror(errno);
}

Status WriteAll(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::IoError(Errno("write", path));
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

std::string FileRecord(uint32_t id, const std::string& name) {
  std::string p(1, static_cast<char>(kJFile));
  PutU32(&p, id);
  PutU32(&p, static_cast<uint32_t>(name.size()));
  p += name;
  return p;
}

std::string MapRecord(uint32_t file, uint64_t block, const BlockVersion& v) {
  std::string p(1, static_cast<char>(kJMap));
  PutU32(&p, file);
  PutU64(&p, block);
  PutU32(&p, v.seg);
  PutU32(&p, v.slot);
  PutU32(&p, v.crc);
  return p;
}

std::string SizeRecord(uint32_t file, uint64_t size) {
  std::string p(1, static_cast<char>(kJSize));
  PutU32(&p, file);
  PutU64(&p, size);
  return p;
}

std::string Framed(const std::string& payload) {
  std::string out;
  PutU32(&out, static_cast<uint32_t>(payload.size()));
  PutU32(&out, Crc32c(0, payload.data(), payload.size()));
  return out + payload;
}

}  // namespace

struct BlockStore::Segment {
  uint32_t number = 0;
  int fd = -1;
  std::string path;
  ~Segment() {
    if (fd >= 0) close(fd);
  }
};

BlockStore::~BlockStore() {
  if (journal_fd_ >= 0) close(journal_fd_);
}

std::string BlockStore::SegmentPath(uint32_t seg) const {
  char name[32];
  std::snprintf(name, sizeof(name), "/seg-%06u.dat", seg);
  return dir_ + name;
}

Result<std::shared_ptr<BlockStore::Segment>> BlockStore::OpenSegment(uint32_t seg, bool create) {
  auto s = std::make_shared<Segment>();
  s->number = seg;
  s->path = SegmentPath(seg);
  s->fd = open(s->path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0644);
  if (s->fd < 0) return Status::IoError(Errno("open", s->path));
  return s;
}

Status BlockStore::NewActiveSegment() {
  if (next_seg_ >= kMaxSegments) return Status::IoError(dir_ + ": out of segment numbers");
  auto s = OpenSegment(next_seg_++, true);
  if (!s.ok()) return s.status();
  active_ = s.value();
  segments_[active_->number] = active_;
  live_[active_->number] = 0;
  next_slot_ = 0;
  return Status::Ok();
}

namespace {

// What a journal says, read up to its first damaged record (a torn tail).
struct JournalContents {
  std::map<uint32_t, RecoveredFile> files;
  std::map<std::pair<uint32_t, uint64_t>, std::vector<BlockVersion>> history;
  std::set<uint32_t> dropped;
  size_t records = 0;
  size_t torn_bytes = 0;
};

// Applies one intact journal record `p` of `len` bytes to `c`; an error only
// when the journal was made with another block size.
Status ApplyJournalRecord(const uint8_t* p, uint32_t len, uint32_t block_size,
                          const std::string& dir, JournalContents* c) {
  switch (p[0]) {
    case kJHeader:
      if (len >= 9 && (GetU32(p + 1) != block_size)) {
        return Status::InvalidArgument(dir + ": engine was created with block size " +
                                       std::to_string(GetU32(p + 1)));
      }
      break;
    case kJFile:
      if (len >= 9 && 9 + GetU32(p + 5) <= len) {
        RecoveredFile& f = c->files[GetU32(p + 1)];
        f.id = GetU32(p + 1);
        f.name.assign(reinterpret_cast<const char*>(p + 9), GetU32(p + 5));
      }
      break;
    case kJMap:
      if (len >= 25) {
        c->history[{GetU32(p + 1), GetU64(p + 5)}].push_back(
            {GetU32(p + 13), GetU32(p + 17), GetU32(p + 21)});
      }
      break;
    case kJSize:
      if (len >= 13) {
        RecoveredFile& f = c->files[GetU32(p + 1)];
        f.size = std::max(f.size, GetU64(p + 5));
      }
      break;
    case kJDrop:
      if (len >= 5) c->dropped.insert(GetU32(p + 1));
      break;
    default:
      break;
  }
  return Status::Ok();
}

Status ReadJournal(const std::string& dir, uint32_t block_size, JournalContents* c) {
  std::string journal;
  if (int fd = open((dir + "/journal").c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) journal.append(buf, static_cast<size_t>(n));
    close(fd);
  }
  size_t off = 0;
  const auto* j = reinterpret_cast<const uint8_t*>(journal.data());
  while (off + 8 <= journal.size()) {
    uint32_t len = GetU32(j + off), crc = GetU32(j + off + 4);
    if (len == 0 || len > journal.size() - off - 8 || Crc32c(0, j + off + 8, len) != crc) break;
    ORDO_RETURN_IF_ERROR(ApplyJournalRecord(j + off + 8, len, block_size, dir, c));
    off += 8 + len;
    ++c->records;
  }
  c->torn_bytes = journal.size() - off;
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<BlockStore>> BlockStore::Open(const std::string& dir, uint32_t block_size,
                                                     uint32_t segment_blocks) {
  if (block_size == 0 || block_size > (1u << 20) || segment_blocks == 0 ||
      segment_blocks > kMaxSegmentBlocks) {
    return Status::InvalidArgument("engine: block size or segment size out of range");
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Status::IoError(Errno("mkdir", dir));
  std::unique_ptr<BlockStore> bs(new BlockStore());
  bs->dir_ = dir;
  bs->block_size_ = block_size;
  bs->segment_blocks_ = segment_blocks;

  // 1. Replay the journal up to its first damaged record (a torn tail).
  JournalContents journal;
  ORDO_RETURN_IF_ERROR(ReadJournal(dir, block_size, &journal));
  bs->report_ = std::to_string(journal.records) + " journal records replayed";
  if (journal.torn_bytes > 0)
    bs->report_ += ", torn tail of " + std::to_string(journal.torn_bytes) + " bytes discarded";
  // 2. Open every segment file present.
  ORDO_RETURN_IF_ERROR(bs->OpenSegments(journal.dropped));
  // 3. Every block: the newest version whose bytes are there and verify.
  bs->RecoverBlocks(journal.history);
  for (auto& [id, f] : journal.files) {
    if (!f.name.empty()) bs->files_.push_back(f);
  }
  // 4. Segments nothing references are garbage (never synced or fully moved).
  for (auto it = bs->segments_.begin(); it != bs->segments_.end();) {
    if (bs->live_[it->first] == 0) {
      unlink(it->second->path.c_str());
      bs->live_.erase(it->first);
      it = bs->segments_.erase(it);
    } else {
      ++it;
    }
  }
  ORDO_RETURN_IF_ERROR(bs->Checkpoint(bs->files_, bs->blocks_));
  ORDO_RETURN_IF_ERROR(bs->NewActiveSegment());
  return bs;
}

Status BlockStore::OpenSegments(const std::set<uint32_t>& dropped) {
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) return Status::Ok();
  while (dirent* e = readdir(d)) {
    unsigned seg = 0;
    if (std::sscanf(e->d_name, "seg-%u.dat", &seg) == 1 && seg > 0 && seg < kMaxSegments) {
      if (dropped.count(seg)) {
        unlink((dir_ + "/" + e->d_name).c_str());
        continue;
      }
      auto s = OpenSegment(seg, false);
      if (!s.ok()) {
        closedir(d);
        return s.status();
      }
      segments_[seg] = s.value();
      next_seg_ = std::max(next_seg_, seg + 1);
    }
  }
  closedir(d);
  return Status::Ok();
}

void BlockStore::RecoverBlocks(
    const std::map<std::pair<uint32_t, uint64_t>, std::vector<BlockVersion>>& history) {
  std::string buf(block_size_, '\0');
  size_t rejected = 0;
  for (auto& [key, versions] : history) {
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
      auto seg = segments_.find(it->seg);
      if (seg == segments_.end()) {
        ++rejected;
        continue;
      }
      ssize_t n = pread(seg->second->fd, buf.data(), block_size_, off_t{it->slot} * block_size_);
      if (n != static_cast<ssize_t>(block_size_) || Crc32c(0, buf.data(), block_size_) != it->crc) {
        ++rejected;
        continue;
      }
      blocks_.push_back({key.first, key.second, *it});
      ++live_[it->seg];
      break;
    }
  }
  if (rejected) report_ += ", " + std::to_string(rejected) + " unsynced block versions rejected";
}

Status BlockStore::Checkpoint(const std::vector<RecoveredFile>& files,
                              const std::vector<RecoveredBlock>& blocks) {
  std::lock_guard<std::mutex> lock(mu_);
  // Data first: the new journal may only name bytes that are durable.
  for (uint32_t seg : dirty_) {
    auto it = segments_.find(seg);
    if (it != segments_.end() && fdatasync(it->second->fd) != 0)
      return Status::IoError(Errno("fdatasync", it->second->path));
  }
  dirty_.clear();
  std::string out;
  std::string header(1, static_cast<char>(kJHeader));
  PutU32(&header, block_size_);
  PutU32(&header, segment_blocks_);
  out += Framed(header);
  for (const auto& f : files) {
    out += Framed(FileRecord(f.id, f.name));
    out += Framed(SizeRecord(f.id, f.size));
  }
  for (const auto& b : blocks) out += Framed(MapRecord(b.file, b.block, b.version));
  std::string tmp = dir_ + "/journal.tmp", path = dir_ + "/journal";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(Errno("create", tmp));
  Status s = WriteAll(fd, out.data(), out.size(), tmp);
  if (s.ok() && fdatasync(fd) != 0) s = Status::IoError(Errno("fdatasync", tmp));
  close(fd);
  ORDO_RETURN_IF_ERROR(s);
  if (rename(tmp.c_str(), path.c_str()) != 0) return Status::IoError(Errno("rename", tmp));
  if (int dfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  if (journal_fd_ >= 0) close(journal_fd_);
  journal_fd_ = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (journal_fd_ < 0) return Status::IoError(Errno("open", path));
  return Status::Ok();
}

Status BlockStore::AppendJournal(const std::string& payload) {
  std::string rec = Framed(payload);
  return WriteAll(journal_fd_, rec.data(), rec.size(), dir_ + "/journal");
}

Status BlockStore::AddFile(uint32_t id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return AppendJournal(FileRecord(id, name));
}

Status BlockStore::SetSize(uint32_t file, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  return AppendJournal(SizeRecord(file, size));
}

Result<BlockVersion> BlockStore::WriteBlock(uint32_t file, uint64_t block, const char* data,
                                            const BlockVersion* previous) {
  std::shared_ptr<Segment> seg;
  uint32_t slot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (next_slot_ >= segment_blocks_) ORDO_RETURN_IF_ERROR(NewActiveSegment());
    seg = active_;
    slot = next_slot_++;
    dirty_.insert(seg->number);
  }
  BlockVersion v{seg->number, slot, Crc32c(0, data, block_size_)};
  ssize_t n = pwrite(seg->fd, data, block_size_, off_t{slot} * block_size_);
  if (n != static_cast<ssize_t>(block_size_)) return Status::IoError(Errno("pwrite", seg->path));
  std::lock_guard<std::mutex> lock(mu_);
  ORDO_RETURN_IF_ERROR(AppendJournal(MapRecord(file, block, v)));
  ++live_[v.seg];
  if (previous != nullptr) {
    auto it = live_.find(previous->seg);
    if (it != live_.end() && it->second > 0) --it->second;
  }
  return v;
}

Status BlockStore::ReadBlock(const BlockVersion& v, char* buf) {
  std::shared_ptr<Segment> seg;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = segments_.find(v.seg);
    if (it == segments_.end())
      return Status::IoError(dir_ + ": segment " + std::to_string(v.seg) + " is gone");
    seg = it->second;
  }
  ssize_t n = pread(seg->fd, buf, block_size_, off_t{v.slot} * block_size_);
  if (n != static_cast<ssize_t>(block_size_)) return Status::IoError(Errno("pread", seg->path));
  return Status::Ok();
}

Status BlockStore::Sync() {
  std::vector<std::shared_ptr<Segment>> dirty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint32_t s : dirty_) {
      auto it = segments_.find(s);
      if (it != segments_.end()) dirty.push_back(it->second);
    }
    dirty_.clear();
  }
  for (const auto& s : dirty) {
    if (fdatasync(s->fd) != 0) return Status::IoError(Errno("fdatasync", s->path));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (fdatasync(journal_fd_) != 0) return Status::IoError(Errno("fdatasync", dir_ + "/journal"));
  return Status::Ok();
}

bool BlockStore::PickVictim(uint32_t* seg) {
  std::lock_guard<std::mutex> lock(mu_);
  bool found = false;
  uint32_t best = 0;
  for (const auto& [n, s] : segments_) {
    if (s == active_) continue;
    uint32_t live = live_[n];
    if (!found || live < best) {
      found = true;
      best = live;
      *seg = n;
    }
  }
  return found;
}

uint32_t BlockStore::LiveBlocks(uint32_t seg) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(seg);
  return it == live_.end() ? 0 : it->second;
}

Status BlockStore::DropSegment(uint32_t seg) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = segments_.find(seg);
  if (it == segments_.end() || it->second == active_) return Status::Ok();
  std::string p(1, static_cast<char>(kJDrop));
  PutU32(&p, seg);
  ORDO_RETURN_IF_ERROR(AppendJournal(p));
  if (fdatasync(journal_fd_) != 0) return Status::IoError(Errno("fdatasync", dir_ + "/journal"));
  unlink(it->second->path.c_str());
  segments_.erase(it);
  live_.erase(seg);
  return Status::Ok();
}

}  // namespace ordo::engine
