#include "ordo/trace/record.h"

#include <array>

#include "ordo/sched/step.h"

namespace ordo::trace {

namespace {
constexpr std::array<std::string_view, static_cast<size_t>(IoOp::kCount)> kOpNames = {
    "read",       "write",       "pread",      "pwrite",      "readv",        "writev",
    "preadv",     "pwritev",     "preadv2",    "pwritev2",    "fsync",        "fdatasync",
    "open",       "close",       "trim",       "engine_read", "engine_write", "engine_fsync",
    "uring_read", "uring_write", "uring_fsync"};

constexpr std::array<std::string_view, static_cast<size_t>(EngineEventKind::kCount)> kEventNames = {
    "read_begin",
    "read_end",
    "write_begin",
    "write_end",
    "fsync_begin",
    "fsync_end",
    "block_lock",
    "block_unlock",
    "prefetch_issue",
    "prefetch_fill",
    "prefetch_mark_clean",
    "compact_begin",
    "compact_last_write_pending",
    "compact_cache_ready",
    "compact_end",
    "verify_check_cache_ready",
    "verify_check_pending",
    "verify_ok",
    "verify_fail",
    "thread_start",
    "thread_exit",
    "block_write",
    "cache_fill",
    "cache_publish",
    "verify_check_generation"};
}  // namespace

std::string_view IoOpName(IoOp op) {
  auto i = static_cast<size_t>(op);
  return i < kOpNames.size() ? kOpNames[i] : "unknown";
}

bool ParseIoOp(std::string_view name, IoOp* op) {
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (kOpNames[i] == name) {
      *op = static_cast<IoOp>(i);
      return true;
    }
  }
  return false;
}

bool IsReadOp(IoOp op) {
  switch (op) {
    case IoOp::kRead:
    case IoOp::kPread:
    case IoOp::kReadv:
    case IoOp::kPreadv:
    case IoOp::kPreadv2:
    case IoOp::kEngineRead:
    case IoOp::kUringRead:
      return true;
    default:
      return false;
  }
}

bool IsWriteOp(IoOp op) {
  switch (op) {
    case IoOp::kWrite:
    case IoOp::kPwrite:
    case IoOp::kWritev:
    case IoOp::kPwritev:
    case IoOp::kPwritev2:
    case IoOp::kEngineWrite:
    case IoOp::kUringWrite:
      return true;
    default:
      return false;
  }
}

bool IsSyncOp(IoOp op) {
  return op == IoOp::kFsync || op == IoOp::kFdatasync || op == IoOp::kEngineFsync ||
         op == IoOp::kUringFsync;
}

std::string EngineEventKindName(uint16_t kind) {
  if (kind < kEventNames.size()) return std::string(kEventNames[kind]);
  if (IsSiteEvent(kind)) return "site_" + std::to_string(kind - kSiteEventBase);
  return "engine_event_" + std::to_string(kind);
}

bool SameRecord(const Record& a, const Record& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case RecordKind::kIo: {
      const IoRecord &x = a.io, &y = b.io;
      return x.op == y.op && x.pid == y.pid && x.tid == y.tid && x.file == y.file &&
             x.offset == y.offset && x.length == y.length && x.result == y.result &&
             x.start_ns == y.start_ns && x.end_ns == y.end_ns;
    }
    case RecordKind::kEngine: {
      const EngineRecord &x = a.engine, &y = b.engine;
      return x.kind == y.kind && x.pid == y.pid && x.tid == y.tid && x.block == y.block &&
             x.arg == y.arg && x.seq == y.seq && x.has_wall == y.has_wall &&
             (!x.has_wall || x.wall_ns == y.wall_ns);
    }
    case RecordKind::kFile: {
      const FileRecord &x = a.file, &y = b.file;
      return x.file == y.file && x.dev == y.dev && x.inode == y.inode && x.size == y.size &&
             x.path_is_hash == y.path_is_hash && x.path == y.path;
    }
    case RecordKind::kThread:
      return a.thread.tid == b.thread.tid && a.thread.pid == b.thread.pid &&
             a.thread.name == b.thread.name;
    case RecordKind::kLost:
      return a.lost.count == b.lost.count && a.lost.cpu == b.lost.cpu &&
             a.lost.ts_ns == b.lost.ts_ns;
    case RecordKind::kSite:
      return a.site.site == b.site.site && a.site.access == b.site.access &&
             a.site.name == b.site.name;
  }
  return false;
}

namespace {

sched::Access KindAccess(EngineEventKind kind) {
  using A = sched::Access;
  using K = EngineEventKind;
  switch (kind) {
    case K::kReadBegin:
      return A::kRead;
    case K::kWriteBegin:
    case K::kBlockWrite:
      return A::kWrite;
    case K::kBlockLock:
      return A::kAcquire;
    case K::kBlockUnlock:
      return A::kRelease;
    case K::kPrefetchIssue:
      return A::kRequest;
    case K::kPrefetchFill:
      return A::kFill;
    case K::kPrefetchMarkClean:
      return A::kMarkClean;
    case K::kCompactLastWritePending:
    case K::kCompactCacheReady:
      return A::kFlagSet;
    case K::kVerifyCheckCacheReady:
    case K::kVerifyCheckPending:
    case K::kVerifyCheckGeneration:
      return A::kFlagRead;
    case K::kVerifyOk:
      return A::kVerify;
    case K::kVerifyFail:
      return A::kVerifyFail;
    case K::kCacheFill:
      return A::kFillClean;
    case K::kCachePublish:
      return A::kPublish;
    default:
      return A::kNone;
  }
}

}  // namespace

std::string PrintableSiteName(const std::string& name) {
  std::string out = name.substr(0, 64);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

const std::vector<SiteRecord>& EngineKindSites() {
  static const std::vector<SiteRecord> sites = [] {
    std::vector<SiteRecord> v;
    for (uint16_t k = 0; k < static_cast<uint16_t>(EngineEventKind::kCount); ++k) {
      const auto kind = static_cast<EngineEventKind>(k);
      v.push_back(SiteRecord{EngineKindSite(kind), static_cast<uint8_t>(KindAccess(kind)),
                             EngineEventKindName(k)});
    }
    return v;
  }();
  return sites;
}

}  // namespace ordo::trace
