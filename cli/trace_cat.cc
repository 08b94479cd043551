// `ordo trace cat FILE [--json] [--limit N]`: every record, one per line.
// With --json the output is one JSON array, written as records stream by; on
// damage its last element is {"error": ..., "exit_code": 2}, and an input that
// cannot be opened prints that error document alone.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <map>

#include "common.h"
#include "ordo/trace/interop.h"
#include "ordo/trace/reader.h"
#include "ordo/util/json_text.h"
#include "trace_commands.h"
#include "trace_scan.h"

namespace ordo::cli {

namespace {

struct CatOptions {
  std::string file;
  bool json = false;
  uint64_t limit = 0;
};

// An engine event's name: the site's, from the trace's site table, or the
// built-in engine's kind.
std::string EventName(const std::map<uint32_t, std::string>& sites, uint16_t kind) {
  if (trace::IsSiteEvent(kind)) {
    auto it = sites.find(kind - trace::kSiteEventBase);
    if (it != sites.end()) return it->second;
  }
  return trace::EngineEventKindName(kind);
}

std::string Text(const trace::Record& r, uint64_t t0,
                 const std::map<uint32_t, std::string>& sites) {
  auto rel = [t0](uint64_t ns) { return ns >= t0 ? (ns - t0) / 1e3 : -((t0 - ns) / 1e3); };
  switch (r.kind) {
    case trace::RecordKind::kIo:
      return fmt::format(
          "{:>14.3f}us io     tid {:<7} {:<12} file {:<4} off {:<12} len {:<8} res {:<8} dur "
          "{:.3f}us",
          rel(r.io.start_ns), r.io.tid, trace::IoOpName(r.io.op), r.io.file, r.io.offset,
          r.io.length, r.io.result, (r.io.end_ns - r.io.start_ns) / 1e3);
    case trace::RecordKind::kEngine:
      return fmt::format("{:>14} engine tid {:<7} {:<26} block {:<10} arg {:<8} seq {}",
                         r.engine.has_wall ? fmt::format("{:.3f}us", rel(r.engine.wall_ns)) : "-",
                         r.engine.tid, EventName(sites, r.engine.kind), r.engine.block,
                         r.engine.arg, r.engine.seq);
    case trace::RecordKind::kFile:
      return fmt::format("{:>16} file   id {} dev {} inode {} size {} {} {}", "", r.file.file,
                         r.file.dev, r.file.inode, r.file.size,
                         r.file.path_is_hash ? "path-hash" : "path", r.file.path);
    case trace::RecordKind::kThread:
      return fmt::format("{:>16} thread tid {} pid {} name {}", "", r.thread.tid, r.thread.pid,
                         r.thread.name);
    case trace::RecordKind::kLost:
      return fmt::format("{:>14.3f}us lost   {} events on cpu {}", rel(r.lost.ts_ns), r.lost.count,
                         r.lost.cpu);
    case trace::RecordKind::kSite:
      return fmt::format("{:>16} site   id {} access {} name {}", "", r.site.site, r.site.access,
                         r.site.name);
  }
  return "";
}

int RunCat(const CatOptions& o) {
  uint64_t n = 0;
  uint64_t t0 = 0;
  bool have_t0 = false;
  std::string buf;
  std::map<uint32_t, std::string> sites;  // site id -> name (Printable)
  if (o.json) buf += "[";
  auto visit = [&](const trace::Record& rec) {
    if (o.json) {
      buf += n ? ",\n" : "\n";
      buf += trace::RecordToJson(rec);
    } else {
      if (!have_t0 && rec.kind == trace::RecordKind::kIo) {
        t0 = rec.io.start_ns;
        have_t0 = true;
      } else if (!have_t0 && rec.kind == trace::RecordKind::kEngine && rec.engine.has_wall) {
        t0 = rec.engine.wall_ns;
        have_t0 = true;
      }
      if (rec.kind == trace::RecordKind::kSite && sites.size() < 0x8000) {
        sites[rec.site.site] = trace::PrintableSiteName(rec.site.name);
      }
      buf += fmt::format("#{:<8} {}\n", n, Text(rec, t0, sites));
    }
    ++n;
    if (buf.size() > (1 << 16)) {
      std::fwrite(buf.data(), 1, buf.size(), stdout);
      buf.clear();
    }
    return o.limit == 0 || n < o.limit;
  };
  return ScanTrace(o.file, o.json, visit, [&](const trace::TraceReader& r) {
    // Damage after records were streamed: the array ends with the error
    // document as its last element, so stdout stays one JSON document.
    if (o.json && !r.status().ok())
      buf += (n ? ",\n" : "\n") + util::JsonText(ErrorDocument(r.status()));
    if (o.json) buf += "\n]\n";
    std::fwrite(buf.data(), 1, buf.size(), stdout);
    std::fflush(stdout);
  });
}

}  // namespace

void setup_trace_cat(CLI::App& trace, int* exit_code) {
  auto o = std::make_shared<CatOptions>();
  CLI::App* cmd = trace.add_subcommand("cat", "Print every record of a trace");
  cmd->add_option("FILE", o->file, "trace file (- for stdin)")->required();
  cmd->add_flag("--json", o->json, "print one JSON array of records");
  cmd->add_option("--limit", o->limit, "stop after N records (0: all)");
  cmd->callback([o, exit_code] { *exit_code = RunCat(*o); });
}

}  // namespace ordo::cli
