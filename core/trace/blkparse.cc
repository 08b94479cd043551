// Import of blkparse's default text output: block-layer requests, each
// queued (Q) by a process and completed (C) later. A request becomes one I/O
// record on its device (a file record "blkdev:MAJ,MIN"), offset and length in
// bytes (512-byte sectors), start at Q, end at C. Records keep the order the
// requests were queued in; a bounded window waits for their completions.
#include <fmt/core.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "ordo/trace/interop.h"

namespace ordo::trace {

namespace {

constexpr size_t kMaxWaiting = 1 << 16;  // queued requests awaiting completion

struct BlkEvent {
  uint32_t major = 0, minor = 0;
  uint64_t time_ns = 0;
  uint32_t pid = 0;
  char action = 0;
  std::string rwbs;
  uint64_t sector = 0, sectors = 0;
  std::string comm;
};

// "  8,0    3        1     0.000000000   697  Q  WS 3417048 + 8 [kjournald]".
// False for lines that are not request events (headers, summaries, plugs).
bool ParseLine(const std::string& line, BlkEvent* e) {
  char action[4] = {}, rwbs[16] = {}, comm[64] = {};
  unsigned cpu = 0, seq = 0;
  unsigned long long sec = 0, nsec = 0, sector = 0, sectors = 0;
  int n = std::sscanf(line.c_str(), " %u,%u %u %u %llu.%9llu %u %3s %15s %llu + %llu [%63[^]]]",
                      &e->major, &e->minor, &cpu, &seq, &sec, &nsec, &e->pid, action, rwbs, &sector,
                      &sectors, comm);
  if (n < 11 || action[1] != 0) return false;
  e->action = action[0];
  e->time_ns = sec * 1000000000ull + nsec;
  e->rwbs = rwbs;
  e->sector = sector;
  e->sectors = sectors;
  e->comm = n == 12 ? comm : "";
  return true;
}

// R read, W write, D discard, F flush (with no data: a sync).
bool OpOf(const BlkEvent& e, IoOp* op) {
  if (e.rwbs.find('D') != std::string::npos) {
    *op = IoOp::kTrim;
  } else if (e.rwbs.find('R') != std::string::npos) {
    *op = IoOp::kPread;
  } else if (e.rwbs.find('W') != std::string::npos) {
    *op = e.sectors == 0 ? IoOp::kFsync : IoOp::kPwrite;
  } else if (e.rwbs.find('F') != std::string::npos) {
    *op = IoOp::kFsync;
  } else {
    return false;
  }
  return true;
}

constexpr uint64_t kMaxSector = 1ull << 54;

struct Waiting {
  IoRecord io;
  bool done = false;
};

// A request is matched to its completion by device, sector and length.
using RequestKey = std::tuple<uint32_t, uint64_t, uint64_t>;

class Importer {
 public:
  Importer(TraceWriter* w, BlkparseImportStats* st) : w_(w), st_(st) {}

  Status Add(const BlkEvent& e) {
    uint32_t file = 0;
    ORDO_RETURN_IF_ERROR(FileOf(e, &file));
    if (e.action == 'Q') {
      IoOp op;
      if (!OpOf(e, &op)) return Status::Ok();
      ORDO_RETURN_IF_ERROR(ThreadOf(e));
      Waiting q;
      q.io.op = op;
      q.io.pid = e.pid;
      q.io.tid = e.pid;
      q.io.file = file;
      q.io.offset = e.sector * 512;
      q.io.length = e.sectors * 512;
      q.io.result = static_cast<int64_t>(q.io.length);
      q.io.start_ns = q.io.end_ns = e.time_ns;
      open_[RequestKey{file, e.sector, e.sectors}].push_back(first_id_ + waiting_.size());
      waiting_.push_back(q);
      ++st_->ios;
      if (waiting_.size() > kMaxWaiting) ORDO_RETURN_IF_ERROR(Pop());
    } else if (e.action == 'C') {
      auto it = open_.find(RequestKey{file, e.sector, e.sectors});
      if (it != open_.end()) {  // the oldest queued request it completes
        Waiting& q = waiting_[it->second.front() - first_id_];
        q.done = true;
        q.io.end_ns = std::max(e.time_ns, q.io.start_ns);
        ++st_->completed;
        Forget(it);
      }
    }
    return Flush(false);
  }

  Status Flush(bool all) {
    while (!waiting_.empty() && (all || waiting_.front().done)) ORDO_RETURN_IF_ERROR(Pop());
    return Status::Ok();
  }

 private:
  // Writes the oldest queued request, completed or not (then its end is unknown).
  Status Pop() {
    const Waiting& q = waiting_.front();
    if (!q.done) {
      ++st_->unmatched;
      auto it = open_.find(RequestKey{q.io.file, q.io.offset / 512, q.io.length / 512});
      if (it != open_.end()) Forget(it);  // it is the oldest of its key
    }
    ORDO_RETURN_IF_ERROR(w_->Add(Record::Io(q.io)));
    waiting_.pop_front();
    ++first_id_;
    return Status::Ok();
  }

  void Forget(std::map<RequestKey, std::deque<uint64_t>>::iterator it) {
    it->second.pop_front();
    if (it->second.empty()) open_.erase(it);
  }

  // The device's file id, its file record written the first time.
  Status FileOf(const BlkEvent& e, uint32_t* file) {
    uint64_t dev = (uint64_t{e.major} << 32) | e.minor;
    auto [it, added] = files_.try_emplace(dev, static_cast<uint32_t>(files_.size() + 1));
    *file = it->second;
    if (!added) return Status::Ok();
    FileRecord f;
    f.file = it->second;
    f.dev = (uint64_t{e.major} << 20) | e.minor;
    f.path = fmt::format("blkdev:{},{}", e.major, e.minor);
    ++st_->devices;
    return w_->Add(Record::File(f));
  }

  Status ThreadOf(const BlkEvent& e) {
    if (!threads_.emplace(e.pid, true).second) return Status::Ok();
    return w_->Add(Record::Thread(ThreadRecord{e.pid, e.pid, e.comm}));
  }

  TraceWriter* w_;
  BlkparseImportStats* st_;
  std::map<uint64_t, uint32_t> files_;
  std::map<uint32_t, bool> threads_;
  std::deque<Waiting> waiting_;  // in queue order; waiting_[i] has id first_id_ + i
  uint64_t first_id_ = 0;
  std::map<RequestKey, std::deque<uint64_t>> open_;  // ids of requests not yet completed
};

}  // namespace

Status ImportBlkparse(const std::vector<std::string>& inputs, TraceWriter* writer,
                      BlkparseImportStats* stats) {
  BlkparseImportStats st;
  Importer imp(writer, &st);
  for (const auto& path : inputs) {
    std::ifstream in(path);
    if (!in) return Status::NotFound(path + ": cannot open");
    std::string line;
    uint64_t prev_ns = 0;
    for (uint64_t n = 1; std::getline(in, line); ++n) {
      ++st.lines;
      BlkEvent e;
      if (!ParseLine(line, &e)) continue;
      // Byte offsets must fit in 63 bits: sector * 512 must not wrap.
      if (e.sector >= kMaxSector || e.sectors >= kMaxSector - e.sector) {
        return Status::InvalidArgument(fmt::format(
            "{}:{}: sector {} + {} is not a valid request (a byte offset must be below 2^63)", path,
            n, e.sector, e.sectors));
      }
      if (e.time_ns + 1000000000ull <
          prev_ns) {  // blkparse sorts by time; a big step back is not its output
        return Status::InvalidArgument(
            fmt::format("{}:{}: time goes back from {} ns to {} ns", path, n, prev_ns, e.time_ns));
      }
      prev_ns = std::max(prev_ns, e.time_ns);
      ++st.events;
      ORDO_RETURN_IF_ERROR(imp.Add(e));
    }
  }
  ORDO_RETURN_IF_ERROR(imp.Flush(true));
  if (st.events == 0) {
    return Status::InvalidArgument(
        "no blkparse events in the input (expected lines like "
        "\"8,0 3 1 0.000000000 697 Q WS 3417048 + 8 [proc]\")");
  }
  if (stats) *stats = st;
  return Status::Ok();
}

}  // namespace ordo::trace
