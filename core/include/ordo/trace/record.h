// The records a .ordo trace holds: what a capture saw or what a replay's
// engine did. A trace is a stream of these, in the order they were written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ordo::trace {

enum class RecordKind : uint8_t {
  kIo = 1,      // one I/O request (syscall or engine API call)
  kEngine = 2,  // one engine ordering point
  kFile = 3,    // file table entry: gives a file id its identity
  kThread = 4,  // thread table entry: names a thread
  kLost = 5,    // events the capture could not record
  kSite = 8,    // site table entry: names an ordering point of an engine
                // loaded through the engine ABI (stored as extended kind 1)
};

// What an I/O request did. Syscall-level ops name the syscall; kEngine* are
// the engine's own API requests (from its USDT probes or a replay); kUring*
// are io_uring requests.
enum class IoOp : uint8_t {
  kRead = 0,
  kWrite,
  kPread,
  kPwrite,
  kReadv,
  kWritev,
  kPreadv,
  kPwritev,
  kPreadv2,
  kPwritev2,
  kFsync,
  kFdatasync,
  kOpen,
  kClose,
  kTrim,
  kEngineRead,
  kEngineWrite,
  kEngineFsync,
  // Requests submitted through io_uring (format 1.1): reads (READ, READV,
  // READ_FIXED, READV_FIXED), writes likewise, and FSYNC. Values are part of
  // the format: append, never renumber.
  kUringRead,
  kUringWrite,
  kUringFsync,
  kCount  // not an op: number of ops
};

// The ordering points of the cache engine (see DESIGN.md). Values are part of
// the format: append, never renumber.
enum class EngineEventKind : uint16_t {
  kReadBegin = 0,
  kReadEnd,
  kWriteBegin,
  kWriteEnd,
  kFsyncBegin,
  kFsyncEnd,
  kBlockLock,
  kBlockUnlock,
  kPrefetchIssue,
  kPrefetchFill,
  kPrefetchMarkClean,
  kCompactBegin,
  kCompactLastWritePending,
  kCompactCacheReady,
  kCompactEnd,
  kVerifyCheckCacheReady,
  kVerifyCheckPending,
  kVerifyOk,
  kVerifyFail,
  kThreadStart,
  kThreadExit,
  kBlockWrite,             // a write updates a locked block's data and checksum
  kCacheFill,              // a read miss put the block it read from disk into the cache
  kCachePublish,           // a write published its version; arg 1: it replaced whatever
                           // was cached, 0: only a buffer cached when it took the lock
  kVerifyCheckGeneration,  // read-verify read the block's generation (fixed order)
  kCount                   // not a kind: number of kinds known to this build
};

// Engine event kinds from this value up are ordering points an engine
// registered through the engine ABI: kind - kSiteEventBase is the site id, and
// the site table (SiteRecord) gives its name and access kind.
inline constexpr uint16_t kSiteEventBase = 0x8000;
inline bool IsSiteEvent(uint16_t kind) { return kind >= kSiteEventBase; }

struct SiteRecord;
// The built-in engine's ordering points as a site table: site k + 1 for each
// EngineEventKind k, named as the kind, with the access kind (sched::Access
// value) its steps have. The built-in engine registers exactly these; a
// history written before site tables existed (engine kinds below
// kSiteEventBase, no site table) is read as events of these sites.
inline uint32_t EngineKindSite(EngineEventKind kind) { return static_cast<uint32_t>(kind) + 1; }
const std::vector<SiteRecord>& EngineKindSites();
// A site's name as tools print it: at most 64 bytes, control bytes as '?'
// (the name is the engine's, not trusted).
std::string PrintableSiteName(const std::string& name);

struct IoRecord {
  IoOp op = IoOp::kRead;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t file = 0;      // file id; see FileRecord
  uint64_t offset = 0;    // bytes; the file position for plain read/write
  uint64_t length = 0;    // bytes requested
  int64_t result = 0;     // bytes returned, or -errno
  uint64_t start_ns = 0;  // trace clock (see TraceHeader::clock)
  uint64_t end_ns = 0;
};

struct EngineRecord {
  uint16_t kind = 0;  // an EngineEventKind value; unknown values are kept
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t block = 0;
  uint64_t arg = 0;
  uint64_t seq = 0;       // logical time: position in the engine's history
  bool has_wall = false;  // wall time is optional so histories stay identical
  uint64_t wall_ns = 0;
};

struct FileRecord {
  uint32_t file = 0;
  uint64_t dev = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  bool path_is_hash = false;  // `path` holds a hex hash (capture --redact-paths)
  std::string path;
};

struct ThreadRecord {
  uint32_t tid = 0;
  uint32_t pid = 0;
  std::string name;
};

struct SiteRecord {
  uint32_t site = 0;   // id > 0; its events have kind kSiteEventBase + site
  uint8_t access = 0;  // an ordo_access (sched::Access) value
  std::string name;    // "readahead.mark_clean"
};

struct LostRecord {
  uint64_t count = 0;
  uint32_t cpu = 0;
  uint64_t ts_ns = 0;
};

// One decoded record. Only the member named by `kind` is meaningful; the
// others keep stale values so a reader can reuse one Record without
// reallocating strings.
struct Record {
  RecordKind kind = RecordKind::kIo;
  IoRecord io;
  EngineRecord engine;
  FileRecord file;
  ThreadRecord thread;
  LostRecord lost;
  SiteRecord site;

  static Record Io(const IoRecord& r) {
    Record x;
    x.kind = RecordKind::kIo;
    x.io = r;
    return x;
  }
  static Record Engine(const EngineRecord& r) {
    Record x;
    x.kind = RecordKind::kEngine;
    x.engine = r;
    return x;
  }
  static Record File(const FileRecord& r) {
    Record x;
    x.kind = RecordKind::kFile;
    x.file = r;
    return x;
  }
  static Record Thread(const ThreadRecord& r) {
    Record x;
    x.kind = RecordKind::kThread;
    x.thread = r;
    return x;
  }
  static Record Lost(const LostRecord& r) {
    Record x;
    x.kind = RecordKind::kLost;
    x.lost = r;
    return x;
  }
  static Record Site(const SiteRecord& r) {
    Record x;
    x.kind = RecordKind::kSite;
    x.site = r;
    return x;
  }
};

// True when the two records hold the same data for their kind.
bool SameRecord(const Record& a, const Record& b);

std::string_view IoOpName(IoOp op);
// Parses an IoOpName; returns false for an unknown name.
bool ParseIoOp(std::string_view name, IoOp* op);
bool IsReadOp(IoOp op);
bool IsWriteOp(IoOp op);
bool IsSyncOp(IoOp op);
// "prefetch_fill" etc.; "engine_event_N" for kinds newer than this build.
std::string EngineEventKindName(uint16_t kind);

}  // namespace ordo::trace
