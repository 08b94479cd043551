// fio iolog import and export. Format: fio(1), "Trace file format".
#include <algorithm>
#include <fstream>
#include <map>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "ordo/trace/interop.h"

namespace ordo::trace {

namespace {

// One fio log being read: yields its actions one line at a time.
// A decimal number below 2^63 and nothing else ("-1" is not 2^64-1).
bool ParseU63(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v >= (uint64_t{1} << 63)) return false;
  *out = v;
  return true;
}

class FioLog {
 public:
  struct Action {
    uint64_t time_us = 0;
    std::string file;
    std::string verb;
    uint64_t offset = 0;
    uint64_t length = 0;
  };

  explicit FioLog(std::string path) : path_(std::move(path)) {}

  Status Open() {
    in_.open(path_);
    if (!in_) return Status::NotFound(path_ + ": cannot open fio log");
    std::string first;
    std::getline(in_, first);
    ++line_;
    if (first == "fio version 2 iolog") {
      version_ = 2;
    } else if (first == "fio version 3 iolog") {
      version_ = 3;
    } else {
      return Status::InvalidArgument(path_ + ":1: not a fio v2/v3 iolog (first line \"" +
                                     first.substr(0, 40) + "\")");
    }
    return Status::Ok();
  }

  // Reads the next action that is not a v2 wait. Returns false at the end;
  // a malformed line sets *status.
  bool Next(Action* a, Status* status) {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_;
      if (line.empty()) continue;
      std::istringstream ss(line);
      if (version_ == 3) {
        if (!(ss >> a->time_us)) return Bad(status, "expected a timestamp");
      }
      if (!(ss >> a->file >> a->verb)) return Bad(status, "expected \"file action\"");
      if (version_ == 2 && a->verb == "wait") {
        uint64_t us = 0;
        if (!(ss >> us)) return Bad(status, "wait needs a time in microseconds");
        clock_us_ += us;
        continue;
      }
      if (version_ == 2) a->time_us = clock_us_;
      a->offset = a->length = 0;
      bool io = a->verb == "read" || a->verb == "write" || a->verb == "trim";
      std::string off, len;
      if (io && !(ss >> off >> len)) return Bad(status, "expected offset and length");
      if (io && (!ParseU63(off, &a->offset) || !ParseU63(len, &a->length) ||
                 a->length > (uint64_t{1} << 63) - a->offset)) {
        return Bad(status, "offset and length must be decimal byte counts below 2^63, not \"" +
                               off + " " + len + "\"");
      }
      if (!io && a->verb != "sync" && a->verb != "datasync" && a->verb != "add" &&
          a->verb != "open" && a->verb != "close") {
        return Bad(status, "unknown action \"" + a->verb + "\"");
      }
      return true;
    }
    return false;
  }

  const std::string& path() const { return path_; }
  uint64_t lines() const { return line_; }

 private:
  bool Bad(Status* status, const std::string& why) {
    *status = Status::InvalidArgument(path_ + ":" + std::to_string(line_) + ": " + why);
    return false;
  }
  std::string path_;
  std::ifstream in_;
  int version_ = 0;
  uint64_t line_ = 0;
  uint64_t clock_us_ = 0;
};

std::string BaseName(const std::string& p) {
  auto slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

Status ImportFioLogs(const std::vector<std::string>& paths, TraceWriter* writer,
                     FioImportStats* stats) {
  std::vector<std::unique_ptr<FioLog>> logs;
  for (const auto& p : paths) {
    logs.push_back(std::make_unique<FioLog>(p));
    ORDO_RETURN_IF_ERROR(logs.back()->Open());
  }
  for (size_t i = 0; i < logs.size(); ++i) {
    ThreadRecord t{static_cast<uint32_t>(i + 1), 1, BaseName(logs[i]->path())};
    ORDO_RETURN_IF_ERROR(writer->Add(Record::Thread(t)));
  }
  // k-way merge on (time, log index): one pending action per log.
  std::vector<FioLog::Action> pending(logs.size());
  using Key = std::pair<uint64_t, size_t>;
  std::priority_queue<Key, std::vector<Key>, std::greater<>> heap;
  Status status;
  for (size_t i = 0; i < logs.size(); ++i) {
    if (logs[i]->Next(&pending[i], &status)) heap.push({pending[i].time_us, i});
    ORDO_RETURN_IF_ERROR(status);
  }
  std::unordered_map<std::string, uint32_t> file_ids;
  FioImportStats st;
  while (!heap.empty()) {
    size_t i = heap.top().second;
    heap.pop();
    const FioLog::Action& a = pending[i];
    auto [it, added] = file_ids.try_emplace(a.file, static_cast<uint32_t>(file_ids.size() + 1));
    if (added) {
      FileRecord f;
      f.file = it->second;
      f.path = a.file;
      ORDO_RETURN_IF_ERROR(writer->Add(Record::File(f)));
    }
    if (a.verb != "add") {
      IoRecord io;
      if (a.verb == "read")
        io.op = IoOp::kPread;
      else if (a.verb == "write")
        io.op = IoOp::kPwrite;
      else if (a.verb == "trim")
        io.op = IoOp::kTrim;
      else if (a.verb == "sync")
        io.op = IoOp::kFsync;
      else if (a.verb == "datasync")
        io.op = IoOp::kFdatasync;
      else if (a.verb == "open")
        io.op = IoOp::kOpen;
      else
        io.op = IoOp::kClose;
      io.pid = 1;
      io.tid = static_cast<uint32_t>(i + 1);
      io.file = it->second;
      io.offset = a.offset;
      io.length = a.length;
      io.result = static_cast<int64_t>(a.length);
      io.start_ns = io.end_ns = a.time_us * kFioTickNs;
      ORDO_RETURN_IF_ERROR(writer->Add(Record::Io(io)));
      if (io.op != IoOp::kOpen && io.op != IoOp::kClose) ++st.ios;
    }
    if (logs[i]->Next(&pending[i], &status)) heap.push({pending[i].time_us, i});
    ORDO_RETURN_IF_ERROR(status);
  }
  for (const auto& l : logs) st.lines += l->lines();
  st.files = file_ids.size();
  if (stats) *stats = st;
  return Status::Ok();
}

Status ExportFioLog(TraceReader* reader, ByteSink* out, const FioExportOptions& options,
                    uint64_t* ios_written) {
  std::unordered_map<uint32_t, std::string> names;
  std::map<uint32_t, bool> open;  // file id -> currently open (ordered for a stable close)
  std::string buf = "fio version 3 iolog\n";
  // A "relative" clock already counts from the start of the run (fio's own
  // convention); any other clock counts from the first record.
  bool have_t0 = reader->header().clock == kRelativeClock;
  uint64_t t0 = 0, last_us = 0, ios = 0;
  Record r;
  auto name_of = [&](uint32_t id) -> std::string {
    if (!options.target_dir.empty()) return options.target_dir + "/file" + std::to_string(id);
    auto it = names.find(id);
    if (it != names.end() && !it->second.empty()) return it->second;
    return "file" + std::to_string(id);
  };
  while (reader->Next(&r)) {
    if (r.kind == RecordKind::kFile) {
      if (!r.file.path_is_hash) names[r.file.file] = r.file.path;
      continue;
    }
    if (r.kind != RecordKind::kIo) continue;
    const IoRecord& io = r.io;
    if (!have_t0) {
      t0 = io.start_ns;
      have_t0 = true;
    }
    uint64_t us = io.start_ns >= t0 ? (io.start_ns - t0) / 1000 : 0;
    last_us = std::max(last_us, us);
    const std::string name = name_of(io.file);
    // fio splits iolog lines on whitespace: a name holding any would inject
    // actions (a newline, a new line of its own). It has no escape.
    if (std::any_of(name.begin(), name.end(),
                    [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
      return Status::InvalidArgument(
          "file " + std::to_string(io.file) +
          " has a path with whitespace or control characters, which a fio iolog cannot hold: "
          "name the files by number under a directory instead");
    }
    std::string ts = std::to_string(us) + " " + name + " ";
    auto st = open.find(io.file);
    if (st == open.end()) {
      buf += ts + "add\n";
      st = open.emplace(io.file, false).first;
    }
    if (io.op == IoOp::kOpen) {
      if (!st->second) buf += ts + "open\n";
      st->second = true;
      continue;
    }
    if (io.op == IoOp::kClose) {
      if (st->second) buf += ts + "close\n";
      st->second = false;
      continue;
    }
    if (!st->second) {
      buf += ts + "open\n";
      st->second = true;
    }
    if (IsReadOp(io.op) || IsWriteOp(io.op) || io.op == IoOp::kTrim) {
      const char* verb = IsReadOp(io.op) ? "read" : IsWriteOp(io.op) ? "write" : "trim";
      buf += ts + verb + " " + std::to_string(io.offset) + " " + std::to_string(io.length) + "\n";
    } else if (io.op == IoOp::kFdatasync) {
      buf += ts + "datasync\n";
    } else {
      buf += ts + "sync\n";
    }
    ++ios;
    if (buf.size() > (1 << 16)) {
      ORDO_RETURN_IF_ERROR(out->Write(buf.data(), buf.size()));
      buf.clear();
    }
  }
  for (const auto& [id, is_open] : open) {
    if (is_open) buf += std::to_string(last_us) + " " + name_of(id) + " close\n";
  }
  ORDO_RETURN_IF_ERROR(out->Write(buf.data(), buf.size()));
  if (ios_written) *ios_written = ios;
  return reader->status();
}

}  // namespace ordo::trace
