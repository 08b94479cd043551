#include "plan.h"

#include <fmt/core.h>

#include "ordo/trace/reader.h"

namespace ordo::replay {

bool Replayable(trace::IoOp op, bool api_level) {
  using trace::IoOp;
  bool api = op == IoOp::kEngineRead || op == IoOp::kEngineWrite || op == IoOp::kEngineFsync;
  if (api_level) return api;
  return !api && (trace::IsReadOp(op) || trace::IsWriteOp(op) || trace::IsSyncOp(op));
}

std::string SafeBaseName(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  std::string out;
  for (char c : base.substr(0, 64)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "file";
  return out;
}

Result<ReplayPlan> MakePlan(const std::string& trace_path, const ReplayOptions& o) {
  auto reader = trace::TraceReader::Open(trace_path);
  if (!reader.ok()) return reader.status();
  ReplayPlan plan;
  std::map<uint32_t, std::string> paths;
  std::map<uint32_t, uint64_t> sizes;
  bool any_api = false;
  trace::Record r;
  // Pass 1 of 1: everything the replay needs up front. Memory: one entry per
  // file and per thread.
  while ((*reader)->Next(&r)) {
    if (r.kind == trace::RecordKind::kFile) {
      if (!r.file.path_is_hash) paths[r.file.file] = r.file.path;
      sizes[r.file.file] = std::max(sizes[r.file.file], r.file.size);
      continue;
    }
    if (r.kind != trace::RecordKind::kIo) continue;
    const trace::IoRecord& io = r.io;
    if (io.op == trace::IoOp::kEngineRead || io.op == trace::IoOp::kEngineWrite ||
        io.op == trace::IoOp::kEngineFsync) {
      any_api = true;
    }
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
    if (trace::IsReadOp(io.op) || trace::IsWriteOp(io.op)) size = std::max(size, io.offset + io.length);
    if (plan.ops == 0 || io.start_ns < plan.first_ns) plan.first_ns = io.start_ns;
    plan.last_ns = std::max(plan.last_ns, io.start_ns);
    ++plan.ops;
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  plan.api_level = any_api;

  // Pass 2 is the replay itself; here only threads and files that have
  // replayable operations are kept, numbered in order of first appearance.
  auto again = trace::TraceReader::Open(trace_path);
  if (!again.ok()) return again.status();
  plan.ops = 0;
  while ((*again)->Next(&r)) {
    if (r.kind != trace::RecordKind::kIo || !Replayable(r.io.op, plan.api_level)) continue;
    ++plan.ops;
    uint64_t key = (uint64_t{r.io.pid} << 32) | r.io.tid;
    if (!plan.thread_index.count(key)) {
      if (plan.thread_index.size() >= o.max_threads) {
        return Status::InvalidArgument(fmt::format("{}: more than {} threads to replay (the limit; see --max-threads)",
                                                   trace_path, o.max_threads));
      }
      uint32_t idx = static_cast<uint32_t>(plan.thread_index.size());
      plan.thread_index[key] = idx;
    }
    if (!plan.file_index.count(r.io.file)) {
      uint32_t idx = static_cast<uint32_t>(plan.files.size());
      PlannedFile f;
      f.trace_id = r.io.file;
      f.trace_path = paths.count(r.io.file) ? paths[r.io.file] : fmt::format("file{}", r.io.file);
      f.local_name = fmt::format("f{}-{}", idx, SafeBaseName(f.trace_path));
      f.size = sizes[r.io.file];
      plan.file_index[r.io.file] = idx;
      plan.files.push_back(f);
    }
  }
  if (!(*again)->status().ok()) return (*again)->status();
  if (plan.ops == 0) return Status::InvalidArgument(trace_path + ": no I/O to replay");
  return plan;
}

}  // namespace ordo::replay
