#include <nlohmann/json.hpp>

#include "ordo/engine/block_key.h"
#include "ordo/trace/interop.h"
#include "ordo/util/json_text.h"

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
      j = {{"type", "engine"},        {"event", EngineEventKindName(r.engine.kind)},
           {"pid", r.engine.pid},     {"tid", r.engine.tid},
           {"block", r.engine.block}, {"arg", r.engine.arg},
           {"seq", r.engine.seq}};
      if (r.engine.has_wall) j["wall_ns"] = r.engine.wall_ns;
      break;
    case RecordKind::kFile:
      j = {{"type", "file"},      {"file", r.file.file},
           {"dev", r.file.dev},   {"inode", r.file.inode},
           {"size", r.file.size}, {r.file.path_is_hash ? "path_hash" : "path", r.file.path}};
      break;
    case RecordKind::kThread:
      j = {{"type", "thread"},
           {"tid", r.thread.tid},
           {"pid", r.thread.pid},
           {"name", r.thread.name}};
      break;
    case RecordKind::kLost:
      j = {{"type", "lost"}, {"count", r.lost.count}, {"cpu", r.lost.cpu}, {"ts_ns", r.lost.ts_ns}};
      break;
    case RecordKind::kSite:
      j = {{"type", "site"},
           {"site", r.site.site},
           {"access", r.site.access},
           {"name", r.site.name}};
      break;
  }
  // Paths are bytes, not always UTF-8: replace what is not.
  return util::JsonText(j);
}

Status ExportChrome(TraceReader* reader, ByteSink* out, uint64_t* events_written) {
  std::string buf = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  uint64_t n = 0;
  bool have_t0 = false;
  uint64_t t0 = 0;
  auto rel_us = [&](uint64_t ns) {
    if (!have_t0) {
      t0 = ns;
      have_t0 = true;
    }
    return ns >= t0 ? static_cast<double>(ns - t0) / 1e3 : 0.0;
  };
  Record r;
  while (reader->Next(&r)) {
    nlohmann::ordered_json j;
    switch (r.kind) {
      case RecordKind::kIo:
        j = {{"name", IoOpName(r.io.op)},
             {"cat", "io"},
             {"ph", "X"},
             {"ts", rel_us(r.io.start_ns)},
             {"dur", static_cast<double>(r.io.end_ns - r.io.start_ns) / 1e3},
             {"pid", r.io.pid},
             {"tid", r.io.tid},
             {"args",
              {{"file", r.io.file},
               {"offset", r.io.offset},
               {"length", r.io.length},
               {"result", r.io.result}}}};
        break;
      case RecordKind::kEngine:
        j = {{"name", EngineEventKindName(r.engine.kind)},
             {"cat", "engine"},
             {"ph", "i"},
             {"s", "t"},
             {"ts",
              r.engine.has_wall ? rel_us(r.engine.wall_ns) : static_cast<double>(r.engine.seq)},
             {"pid", r.engine.pid},
             {"tid", r.engine.tid},
             {"args",
              {{"block", engine::BlockIndex(r.engine.block)},
               {"file", engine::BlockFile(r.engine.block)},
               {"arg", r.engine.arg},
               {"seq", r.engine.seq}}}};
        break;
      case RecordKind::kThread:
        j = {{"name", "thread_name"},
             {"ph", "M"},
             {"pid", r.thread.pid},
             {"tid", r.thread.tid},
             {"args", {{"name", r.thread.name}}}};
        break;
      default:
        continue;
    }
    if (n++) buf += ",\n";
    buf += util::JsonText(j);
    if (buf.size() > (1 << 16)) {
      ORDO_RETURN_IF_ERROR(out->Write(buf.data(), buf.size()));
      buf.clear();
    }
  }
  buf += "\n]}\n";
  ORDO_RETURN_IF_ERROR(out->Write(buf.data(), buf.size()));
  if (events_written) *events_written = n;
  return reader->status();
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
