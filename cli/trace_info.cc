// `ordo trace info FILE [--json]`: what a trace is, from its header and footer.
// A trace without an intact footer is scanned instead, and reported truncated.
#include <fmt/core.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common.h"
#include "ordo/trace/reader.h"
#include "ordo/units.h"
#include "ordo/util/json_text.h"
#include "trace_commands.h"
#include "trace_scan.h"

namespace ordo::cli {

namespace {

struct InfoOptions {
  std::string file;
  bool json = false;
};

// What the header and the scan say, as text or one JSON document.
void Print(const InfoOptions& o, const trace::TraceReader& r, trace::TraceSummary s) {
  const trace::TraceHeader& h = r.header();
  s.chunks = r.chunks();
  Status damage = r.status();
  bool complete = r.complete() && damage.ok();
  uint64_t bytes = r.offset();
  struct stat st;
  if (o.file != "-" && stat(o.file.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    bytes = static_cast<uint64_t>(st.st_size);
  double bpe = s.events ? static_cast<double>(bytes) / s.events : 0.0;
  if (o.json) {
    nlohmann::ordered_json j = {
        {"file", o.file},
        {"format_version", fmt::format("{}.{}", h.format_major, h.format_minor)},
        {"tool_version", h.tool_version},
        {"kind", h.kind},
        {"source", h.source},
        {"host", h.host},
        {"kernel", h.kernel},
        {"clock", h.clock},
        {"tick_ns", h.tick_ns},
        {"start_realtime_ns", h.start_realtime_ns},
        {"filters", h.filters},
        {"events", s.events},
        {"io_events", s.io_events},
        {"engine_events", s.engine_events},
        {"lost_events", s.lost_events},
        {"chunks", s.chunks},
        {"bytes", bytes},
        {"bytes_per_event", bpe},
        {"threads", s.threads},
        {"files", s.files},
        {"duration_ns", s.duration_ns()},
        {"truncated", !complete},
        {"error", damage.ok() ? nlohmann::ordered_json(nullptr) : ErrorJson(damage)},
        {"exit_code", ExitCodeFor(damage)},
    };
    fmt::print("{}\n", util::JsonText(j, 2));
  } else {
    fmt::print("file          {} ({})\n", o.file, FormatBytes(bytes));
    fmt::print("format        {}.{}, written by {}\n", h.format_major, h.format_minor,
               h.tool_version);
    fmt::print("kind          {}\n", h.kind.empty() ? "-" : h.kind);
    if (!h.source.empty()) fmt::print("source        {}\n", h.source);
    fmt::print("host          {} ({})\n", h.host.empty() ? "-" : h.host,
               h.kernel.empty() ? "-" : h.kernel);
    fmt::print("clock         {}, tick {} ns\n", h.clock, h.tick_ns);
    if (!h.filters.empty()) fmt::print("filters       {}\n", h.filters);
    fmt::print("events        {} (io {}, engine {})\n", s.events, s.io_events, s.engine_events);
    fmt::print("lost events   {}\n", s.lost_events);
    fmt::print("threads       {}\n", s.threads);
    fmt::print("files         {}\n", s.files);
    fmt::print("chunks        {}\n", s.chunks);
    fmt::print("duration      {}\n", FormatDuration(s.duration_ns()));
    fmt::print("bytes/event   {:.2f}\n", bpe);
    fmt::print("complete      {}\n", complete
                                         ? "yes (every chunk's CRC and the footer index verified)"
                                         : "NO (truncated or damaged)");
  }
}

// Every chunk is read and its CRC checked, and the footer index compared with
// the chunks read: "complete" is said of nothing less. The input is read once,
// as a stream (a FIFO or stdin works).
int RunInfo(const InfoOptions& o) {
  trace::SummaryBuilder b;
  auto visit = [&](const trace::Record& rec) {
    b.Add(rec);
    return true;
  };
  return ScanTrace(o.file, o.json, visit,
                   [&](const trace::TraceReader& r) { Print(o, r, b.summary()); });
}

}  // namespace

void setup_trace_info(CLI::App& trace, int* exit_code) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = trace.add_subcommand("info", "Summarize a trace from its header and footer");
  cmd->add_option("FILE", o->file, "trace file (- for stdin)")->required();
  cmd->add_flag("--json", o->json, "print one JSON document");
  cmd->callback([o, exit_code] { *exit_code = RunInfo(*o); });
}

}  // namespace ordo::cli
