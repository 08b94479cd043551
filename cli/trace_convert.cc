// `ordo trace import|export`: in from fio iologs and blkparse, out to fio
// iologs, JSON lines and Chrome trace events.
#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "common.h"
#include "ordo/trace/interop.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/writer.h"
#include "ordo/util/atomic_output.h"
#include "trace_commands.h"

namespace ordo::cli {

namespace {

struct ImportOptions {
  std::string format;
  std::vector<std::string> inputs;
  std::string out;
  int level = 19;
};

struct ExportOptions {
  std::string format;
  std::string input;
  std::string out;
  std::string target_dir;
};

int RunImport(const ImportOptions& o) {
  std::string source = o.format == "fio" ? "fio iolog:" : "blkparse:";
  for (const auto& in : o.inputs) source += " " + in;
  trace::TraceHeader h = LocalHeader("import", source);
  h.tick_ns = trace::kFioTickNs;
  h.clock = trace::kRelativeClock;
  h.start_realtime_ns = 0;
  trace::WriterOptions wo;
  wo.zstd_level = o.level;
  if (Status s = CheckOutput(o.out, o.inputs); !s.ok()) return Fail(s);
  auto w = trace::TraceWriter::Create(o.out, h, wo);
  if (!w.ok()) return Fail(w.status());
  std::string what;
  Status s;
  if (o.format == "fio") {
    trace::FioImportStats stats;
    s = trace::ImportFioLogs(o.inputs, w->get(), &stats);
    what = fmt::format("{} I/Os from {} logs, {} files", stats.ios, o.inputs.size(), stats.files);
  } else {
    trace::BlkparseImportStats stats;
    s = trace::ImportBlkparse(o.inputs, w->get(), &stats);
    what = fmt::format("{} requests ({} with their completion) on {} devices", stats.ios,
                       stats.completed, stats.devices);
  }
  if (!s.ok()) return Fail(s);
  s = (*w)->Close();
  if (!s.ok()) return Fail(s);
  if (o.out != "-") {
    const auto& sum = (*w)->summary();
    fmt::print(stderr, "{}: {}, {} events in {} bytes ({:.2f} bytes/event)\n", o.out, what,
               sum.events, (*w)->bytes_written(),
               sum.events ? double((*w)->bytes_written()) / sum.events : 0.0);
  }
  return kExitOk;
}

int RunExport(const ExportOptions& o) {
  if (Status s = CheckOutput(o.out, {o.input}); !s.ok()) return Fail(s);
  auto reader = trace::TraceReader::Open(o.input);
  if (!reader.ok()) return Fail(reader.status());
  auto sink = CreateSink(o.out);
  if (!sink.ok()) return Fail(sink.status());
  Status s;
  uint64_t n = 0;
  if (o.format == "fio") {
    trace::FioExportOptions fo;
    fo.target_dir = o.target_dir;
    s = trace::ExportFioLog(reader->get(), sink->get(), fo, &n);
  } else if (o.format == "chrome") {
    s = trace::ExportChrome(reader->get(), sink->get(), &n);
  } else {
    s = trace::ExportJsonl(reader->get(), sink->get(), &n);
  }
  if (s.ok()) s = (*sink)->Commit();
  if (!s.ok()) return Fail(s);
  if (o.out != "-")
    fmt::print(stderr, "{}: wrote {} {}\n", o.out, n, o.format == "fio" ? "I/Os" : "records");
  return kExitOk;
}

}  // namespace

void setup_trace_import(CLI::App& trace, int* exit_code) {
  auto o = std::make_shared<ImportOptions>();
  CLI::App* cmd = trace.add_subcommand("import", "Convert other tools' logs into a .ordo trace");
  cmd->add_option("--format", o->format, "input format")
      ->required()
      ->check(CLI::IsMember({"fio", "blkparse"}));
  cmd->add_option("INPUT", o->inputs,
                  "fio iolog v2/v3 files (one per thread), or blkparse text output")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", o->out, "trace to write (- for stdout)")->required();
  cmd->add_option("--level", o->level, "zstd level")
      ->check(CLI::Range(1, 22))
      ->capture_default_str();
  cmd->callback([o, exit_code] { *exit_code = RunImport(*o); });
}

void setup_trace_export(CLI::App& trace, int* exit_code) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = trace.add_subcommand("export", "Convert a .ordo trace for other tools");
  cmd->add_option("--format", o->format, "output format")
      ->required()
      ->check(CLI::IsMember({"fio", "jsonl", "chrome"}));
  cmd->add_option("INPUT", o->input, "trace file (- for stdin)")->required();
  cmd->add_option("-o,--output", o->out, "file to write (- for stdout)")->required();
  cmd->add_option("--target-dir", o->target_dir,
                  "fio: name files DIR/fileN instead of their recorded paths");
  cmd->callback([o, exit_code] { *exit_code = RunExport(*o); });
}

}  // namespace ordo::cli
