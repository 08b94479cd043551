// Minimization (minimizer.h): the trace held as a list, and subsets of it
// written as traces.
#include <algorithm>

#include "minimizer.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/writer.h"

namespace ordo::lab {

namespace {

// The trace held as a list: minimization needs random subsets of it.
constexpr size_t kMaxOps = 1 << 20;

}  // namespace

uint64_t ThreadKey(const trace::Record& r) { return (uint64_t{r.io.pid} << 32) | r.io.tid; }

Result<LoadedTrace> LoadOperations(const std::string& path) {
  auto r = trace::TraceReader::Open(path);
  if (!r.ok()) return r.status();
  LoadedTrace l;
  l.header = (*r)->header();
  trace::Record rec;
  // Only what replay executes: a capture's syscalls beneath the engine's API
  // requests are dropped with the rest of its unreplayable records.
  std::vector<trace::Record> syscalls;
  bool api_level = false;
  while ((*r)->Next(&rec)) {
    if (rec.kind == trace::RecordKind::kFile || rec.kind == trace::RecordKind::kThread) {
      l.tables.push_back(rec);
    } else if (rec.kind == trace::RecordKind::kIo) {
      if (replay::Replayable(rec.io.op, true)) {
        if (!api_level) syscalls.clear();
        api_level = true;
        l.ops.push_back(rec);
      } else if (!api_level && replay::Replayable(rec.io.op, false)) {
        syscalls.push_back(rec);
      }
      if (l.ops.size() + syscalls.size() > kMaxOps) {
        return Status::InvalidArgument(path + ": too many operations to minimize (over 1 M)");
      }
    }
  }
  if (!(*r)->status().ok()) return (*r)->status();
  if (!api_level) l.ops = std::move(syscalls);
  return l;
}

std::vector<size_t> Flatten(const std::vector<std::vector<size_t>>& units) {
  std::vector<size_t> out;
  for (const auto& u : units) out.insert(out.end(), u.begin(), u.end());
  std::sort(out.begin(), out.end());  // keep the trace's order
  return out;
}

Status Minimizer::Write(const std::vector<size_t>& keep, const std::string& path,
                        const std::string& source) {
  trace::TraceHeader h = l_.header;
  h.kind = "minimized";
  h.source = source;
  auto w = trace::TraceWriter::Create(path, h);
  if (!w.ok()) return w.status();
  for (const auto& t : l_.tables) ORDO_RETURN_IF_ERROR((*w)->Add(t));
  for (size_t i : keep) ORDO_RETURN_IF_ERROR((*w)->Add(l_.ops[i]));
  return (*w)->Close();
}

std::unique_ptr<replay::TraceSource> Minimizer::Candidate(const std::vector<size_t>& keep) const {
  std::vector<trace::Record> records = l_.tables;
  records.reserve(l_.tables.size() + keep.size());
  for (size_t i : keep) records.push_back(l_.ops[i]);
  return replay::MemoryTrace(std::move(records), "minimize candidate");
}

std::vector<uint32_t> Minimizer::FilesOf(const std::vector<size_t>& ops) const {
  std::vector<uint32_t> files;
  for (size_t i : ops) {
    uint32_t f = l_.ops[i].io.file;
    if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
  }
  return files;
}

}  // namespace ordo::lab
