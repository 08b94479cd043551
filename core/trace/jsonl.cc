#include <nlohmann/json.hpp>

#include "ordo/trace/interop.h"

namespace ordo::trace {

std::string RecordToJson(const Record& r) {
  nlohmann::ordered_json j;
  switch (r.kind) {
    case RecordKind::kIo:
      j = {{"type", "io"},          {"op", IoOpName(r.io.op)}, {"pid", r.io.pid},
           {"tid", r.io.tid},       {"file", r.io.file},       {"offset", r.io.offset},
           {"length", r.io.length}, {"result", r.io.result},   {"start_ns", r.io.start_ns},
           {"end_ns", r.io.end_ns}};
      break;
    case RecordKind::kEngine:
      j = {{"type", "engine"}, {"event", EngineEventKindName(r.engine.kind)},
           {"pid", r.engine.pid}, {"tid", r.engine.tid}, {"block", r.engine.block},
           {"arg", r.engine.arg}, {"seq", r.engine.seq}};
      if (r.engine.has_wall) j["wall_ns"] = r.engine.wall_ns;
      break;
    case RecordKind::kFile:
      j = {{"type", "file"}, {"file", r.file.file}, {"dev", r.file.dev}, {"inode", r.file.inode},
           {"size", r.file.size}, {r.file.path_is_hash ? "path_hash" : "path", r.file.path}};
      break;
    case RecordKind::kThread:
      j = {{"type", "thread"}, {"tid", r.thread.tid}, {"pid", r.thread.pid}, {"name", r.thread.name}};
      break;
    case RecordKind::kLost:
      j = {{"type", "lost"}, {"count", r.lost.count}, {"cpu", r.lost.cpu}, {"ts_ns", r.lost.ts_ns}};
      break;
  }
  // Paths are bytes, not always UTF-8: replace what is not.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status ExportJsonl(TraceReader* reader, ByteSink* out, uint64_t* records_written) {
  std::string buf;
  uint64_t n = 0;
  Record r;
  while (reader->Next(&r)) {
    buf += RecordToJson(r);
    buf += '\n';
    ++n;
    if (buf.size() > (1 << 16)) {
      ORDO_RETURN_IF_ERROR(out->Write(buf.data(), buf.size()));
      buf.clear();
    }
  }
  ORDO_RETURN_IF_ERROR(out->Write(buf.data(), buf.size()));
  if (records_written) *records_written = n;
  return reader->status();
}

}  // namespace ordo::trace
