#include "plan.h"

#include <fmt/core.h>

namespace ordo::replay {

bool Replayable(trace::IoOp op, bool api_level) {
  using trace::IoOp;
  bool api = op == IoOp::kEngineRead || op == IoOp::kEngineWrite || op == IoOp::kEngineFsync;
  if (api_level) return api;
  return !api && (trace::IsReadOp(op) || trace::IsWriteOp(op) || trace::IsSyncOp(op));
}

std::string SafeBaseName(const std::string& path) {
  std::string base =
      path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  std::string out;
  for (char c : base.substr(0, 64)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "file";
  return out;
}

namespace {

// Threads and files in order of first appearance, for one replay level.
struct Level {
  uint64_t ops = 0;
  std::map<uint64_t, uint32_t> threads;  // (pid << 32 | tid) -> replay thread
  std::vector<uint32_t> files;           // trace file ids
  std::map<uint32_t, uint32_t> file_index;
};

}  // namespace

Result<ReplayPlan> MakePlan(const TraceSource& trace, const ReplayOptions& o) {
  const std::string& trace_path = trace.name();
  auto reader = trace.Open();
  if (!reader.ok()) return reader.status();
  std::map<uint32_t, std::string> paths;
  std::map<uint32_t, uint64_t> sizes;
  std::map<uint64_t, std::string> thread_names;
  uint64_t first_ns = 0, last_ns = 0, ios = 0;
  // One pass. Which level replays (the engine's API requests if the trace
  // has any, else the syscalls) is known only at the end, so both levels'
  // threads and files are kept: one entry per thread and file, not per record.
  Level levels[2];  // [0] syscalls, [1] API requests
  trace::Record r;
  while ((*reader)->Next(&r)) {
    if (r.kind == trace::RecordKind::kFile) {
      if (!r.file.path_is_hash) paths[r.file.file] = r.file.path;
      sizes[r.file.file] = std::max(sizes[r.file.file], r.file.size);
      continue;
    }
    if (r.kind == trace::RecordKind::kThread) {
      if (!r.thread.name.empty())
        thread_names[(uint64_t{r.thread.pid} << 32) | r.thread.tid] = r.thread.name.substr(0, 64);
      continue;
    }
    if (r.kind != trace::RecordKind::kIo) continue;
    const trace::IoRecord& io = r.io;
    if (io.length > o.max_io_bytes) {
      return Status::InvalidArgument(fmt::format(
          "{}: I/O of {} bytes by thread {} at offset {} exceeds the limit of {} bytes per I/O",
          trace_path, io.length, io.tid, io.offset, o.max_io_bytes));
    }
    if (io.offset > o.max_file_bytes || io.offset + io.length > o.max_file_bytes) {
      return Status::InvalidArgument(fmt::format(
          "{}: I/O at offset {} (+{}) by thread {} is past the limit of {} bytes per file",
          trace_path, io.offset, io.length, io.tid, o.max_file_bytes));
    }
    uint64_t& size = sizes[io.file];
    if (trace::IsReadOp(io.op) || trace::IsWriteOp(io.op))
      size = std::max(size, io.offset + io.length);
    if (ios == 0 || io.start_ns < first_ns) first_ns = io.start_ns;
    last_ns = std::max(last_ns, io.start_ns);
    ++ios;
    for (int api = 0; api < 2; ++api) {
      if (!Replayable(io.op, api == 1)) continue;
      Level& l = levels[api];
      ++l.ops;
      uint64_t key = (uint64_t{io.pid} << 32) | io.tid;
      if (!l.threads.count(key)) {
        if (l.threads.size() >= o.max_threads) {
          return Status::LimitExceeded(fmt::format("{}: more than {} threads to replay, the limit",
                                                   trace_path, o.max_threads));
        }
        l.threads.emplace(key, static_cast<uint32_t>(l.threads.size()));
      }
      if (l.file_index.emplace(io.file, static_cast<uint32_t>(l.files.size())).second)
        l.files.push_back(io.file);
    }
  }
  if (!(*reader)->status().ok()) return (*reader)->status();

  ReplayPlan plan;
  plan.api_level = levels[1].ops > 0;
  Level& chosen = levels[plan.api_level ? 1 : 0];
  plan.ops = chosen.ops;
  plan.first_ns = first_ns;
  plan.last_ns = last_ns;
  plan.thread_index = std::move(chosen.threads);
  for (const auto& [key, index] : plan.thread_index) {
    auto it = thread_names.find(key);
    if (it != thread_names.end()) plan.thread_names[key] = it->second;
  }
  plan.file_index = std::move(chosen.file_index);
  for (uint32_t idx = 0; idx < chosen.files.size(); ++idx) {
    uint32_t id = chosen.files[idx];
    PlannedFile f;
    f.trace_id = id;
    f.trace_path = paths.count(id) ? paths[id] : fmt::format("file{}", id);
    f.local_name = fmt::format("f{}-{}", idx, SafeBaseName(f.trace_path));
    f.size = sizes[id];
    plan.files.push_back(f);
  }
  if (plan.ops == 0) return Status::InvalidArgument(trace_path + ": no I/O to replay");
  return plan;
}

}  // namespace ordo::replay
