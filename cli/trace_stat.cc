// `ordo trace stat FILE [--json] [--block-size N]`: a full scan of a trace —
// what it holds by op, size and alignment, per thread (ordo/trace/stats.h).
// Alignment is against the engine's block size: FPRE004 needs reads that
// start mid-block and span two or more blocks, and this says how many the
// trace has.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/stats.h"
#include "ordo/units.h"
#include "ordo/util/json_text.h"
#include "trace_commands.h"
#include "trace_scan.h"

namespace ordo::cli {

namespace {

struct StatOptions {
  std::string file;
  bool json = false;
  std::string block_size = "4K";
};

// The whole-trace figures both outputs open with.
struct Totals {
  trace::TraceSummary s;
  uint64_t bytes = 0;
  double bpe = 0;
};

Totals TotalsOf(const trace::TraceReader& r, trace::TraceSummary s) {
  Totals t;
  s.chunks = r.chunks();
  t.s = s;
  t.bytes = r.offset();
  t.bpe = s.events ? static_cast<double>(t.bytes) / s.events : 0.0;
  return t;
}

void PrintJson(const StatOptions& o, const trace::TraceReader& r, const Totals& t,
               const trace::TraceStats& st) {
  const trace::TraceSummary& s = t.s;
  const Status& damage = r.status();
  nlohmann::ordered_json j = {{"file", o.file},
                              {"events", s.events},
                              {"io_events", s.io_events},
                              {"engine_events", s.engine_events},
                              {"lost_events", s.lost_events},
                              {"chunks", s.chunks},
                              {"bytes", t.bytes},
                              {"bytes_per_event", t.bpe},
                              {"threads", s.threads},
                              {"files", s.files},
                              {"duration_ns", s.duration_ns()},
                              {"truncated", !r.complete()},
                              {"block_size", st.block_size},
                              {"reads", st.reads},
                              {"misaligned_spanning_reads", st.misaligned_spanning_reads},
                              {"block_aligned_ios", st.block_aligned}};
  nlohmann::ordered_json jops = nlohmann::ordered_json::object();
  for (size_t i = 0; i < st.ops.size(); ++i) {
    if (st.ops[i].count == 0) continue;
    jops[std::string(trace::IoOpName(static_cast<trace::IoOp>(i)))] = {
        {"count", st.ops[i].count}, {"bytes", st.ops[i].bytes}, {"errors", st.ops[i].errors}};
  }
  j["ops"] = jops;
  nlohmann::ordered_json jk = nlohmann::ordered_json::object();
  for (auto [k, n] : st.engine_kinds) jk[st.EventName(k)] = n;
  j["engine_events_by_kind"] = jk;
  nlohmann::ordered_json jt = nlohmann::ordered_json::object();
  for (auto [t, n] : st.per_thread) jt[std::to_string(t)] = n;
  j["events_per_thread"] = jt;
  nlohmann::ordered_json jh = nlohmann::ordered_json::object();
  for (size_t i = 0; i < st.size_log2.size(); ++i) {
    if (st.size_log2[i]) jh[fmt::format("<{}", uint64_t{1} << i)] = st.size_log2[i];
  }
  j["io_size_histogram"] = jh;
  j["error"] = damage.ok() ? nlohmann::ordered_json(nullptr) : ErrorJson(damage);
  j["exit_code"] = ExitCodeFor(damage);
  fmt::print("{}\n", util::JsonText(j, 2));
}

void PrintText(const StatOptions& o, const trace::TraceReader& r, const Totals& t,
               const trace::TraceStats& st) {
  const trace::TraceSummary& s = t.s;
  fmt::print("{}: {} events ({} io, {} engine), {} lost, {} threads, {} files, {} chunks\n", o.file,
             s.events, s.io_events, s.engine_events, s.lost_events, s.threads, s.files, s.chunks);
  fmt::print("{} over {}, {:.2f} bytes/event{}\n\n", FormatBytes(t.bytes),
             FormatDuration(s.duration_ns()), t.bpe, r.complete() ? "" : " (TRUNCATED)");
  fmt::print("{:<14} {:>12} {:>14} {:>8}\n", "op", "count", "bytes", "errors");
  for (size_t i = 0; i < st.ops.size(); ++i) {
    if (st.ops[i].count == 0) continue;
    fmt::print("{:<14} {:>12} {:>14} {:>8}\n", trace::IoOpName(static_cast<trace::IoOp>(i)),
               st.ops[i].count, FormatBytes(st.ops[i].bytes), st.ops[i].errors);
  }
  if (st.reads_writes) {
    fmt::print("\nblock size {}: {} of {} reads/writes block-aligned ({:.1f}%)\n",
               FormatBytes(st.block_size), st.block_aligned, st.reads_writes,
               100.0 * st.block_aligned / st.reads_writes);
    fmt::print("reads starting mid-block and spanning 2+ blocks: {} of {} ({:.1f}%)\n",
               st.misaligned_spanning_reads, st.reads,
               st.reads ? 100.0 * st.misaligned_spanning_reads / st.reads : 0.0);
    fmt::print("\nI/O size      count\n");
    for (size_t i = 0; i < st.size_log2.size(); ++i) {
      if (st.size_log2[i])
        fmt::print("< {:<10} {}\n", FormatBytes(uint64_t{1} << i), st.size_log2[i]);
    }
  }
  if (!st.engine_kinds.empty()) {
    fmt::print("\n{:<28} {:>12}\n", "engine event", "count");
    for (auto [k, n] : st.engine_kinds) fmt::print("{:<28} {:>12}\n", st.EventName(k), n);
  }
  fmt::print("\n{:<10} {:>12}\n", "tid", "events");
  for (auto [t, n] : st.per_thread) fmt::print("{:<10} {:>12}\n", t, n);
}

int RunStat(const StatOptions& o) {
  auto bs = ParseSize(o.block_size);
  if (!bs.ok() || bs.value() == 0)
    return Fail(Status::InvalidArgument("--block-size must be a positive size"), o.json);
  trace::SummaryBuilder summary;
  trace::StatsBuilder stats(bs.value());
  auto visit = [&](const trace::Record& rec) {
    summary.Add(rec);
    stats.Add(rec);
    return true;
  };
  return ScanTrace(o.file, o.json, visit, [&](const trace::TraceReader& r) {
    Totals t = TotalsOf(r, summary.summary());
    if (o.json) {
      PrintJson(o, r, t, stats.stats());
    } else {
      PrintText(o, r, t, stats.stats());
    }
  });
}

}  // namespace

void setup_trace_stat(CLI::App& trace, int* exit_code) {
  auto o = std::make_shared<StatOptions>();
  CLI::App* cmd =
      trace.add_subcommand("stat", "Scan a whole trace: ops, sizes, alignment, threads");
  cmd->add_option("FILE", o->file, "trace file (- for stdin)")->required();
  cmd->add_flag("--json", o->json, "print one JSON document");
  cmd->add_option("--block-size", o->block_size, "block size for alignment figures")
      ->capture_default_str();
  cmd->callback([o, exit_code] { *exit_code = RunStat(*o); });
}

}  // namespace ordo::cli
