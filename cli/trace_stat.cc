// `ordo trace stat FILE [--json] [--block-size N]`: a full scan of a trace —
// what it holds by op, size and alignment, per thread. Alignment is against
// the engine's block size: FPRE004 needs reads that start mid-block and span
// two or more blocks, and this says how many the trace has.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <array>
#include <bit>
#include <map>
#include <nlohmann/json.hpp>

#include "common.h"
#include "ordo/trace/reader.h"
#include "ordo/units.h"
#include "trace_commands.h"

namespace ordo::cli {

namespace {

struct StatOptions {
  std::string file;
  bool json = false;
  std::string block_size = "4K";
};

struct OpStats {
  uint64_t count = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
};

int RunStat(const StatOptions& o) {
  auto bs_r = ParseSize(o.block_size);
  if (!bs_r.ok() || bs_r.value() == 0)
    return Fail(Status::InvalidArgument("--block-size must be a positive size"), o.json);
  const uint64_t bs = bs_r.value();
  auto reader = trace::TraceReader::Open(o.file);
  if (!reader.ok()) return Fail(reader.status(), o.json);
  trace::TraceReader& r = **reader;

  trace::SummaryBuilder summary;
  std::array<OpStats, static_cast<size_t>(trace::IoOp::kCount)> ops{};
  std::map<uint16_t, uint64_t> engine_kinds;
  std::map<uint16_t, std::string> site_names;  // event kind -> its site's name
  std::map<uint32_t, uint64_t> per_thread;
  std::array<uint64_t, 41> size_log2{};  // bucket i: length in [2^(i-1), 2^i)
  uint64_t rw = 0, aligned = 0, misaligned_spanning_reads = 0, reads = 0;
  trace::Record rec;
  while (r.Next(&rec)) {
    summary.Add(rec);
    if (rec.kind == trace::RecordKind::kIo) {
      const trace::IoRecord& io = rec.io;
      OpStats& s = ops[static_cast<size_t>(io.op)];
      ++s.count;
      s.bytes += io.result > 0 ? static_cast<uint64_t>(io.result) : 0;
      if (io.result < 0) ++s.errors;
      ++per_thread[io.tid];
      bool is_read = trace::IsReadOp(io.op);
      if ((is_read || trace::IsWriteOp(io.op)) && io.length > 0) {
        ++rw;
        ++size_log2[std::min<size_t>(std::bit_width(io.length), size_log2.size() - 1)];
        if (io.offset % bs == 0 && io.length % bs == 0) ++aligned;
        if (is_read) {
          ++reads;
          bool spans = io.offset / bs != (io.offset + io.length - 1) / bs;
          if (io.offset % bs != 0 && spans) ++misaligned_spanning_reads;
        }
      }
    } else if (rec.kind == trace::RecordKind::kSite && rec.site.site < 0x8000 &&
               site_names.size() < 0x8000) {
      site_names[static_cast<uint16_t>(trace::kSiteEventBase + rec.site.site)] =
          trace::PrintableSiteName(rec.site.name);
    } else if (rec.kind == trace::RecordKind::kEngine) {
      ++engine_kinds[rec.engine.kind];
      ++per_thread[rec.engine.tid];
    }
  }
  trace::TraceSummary s = summary.summary();
  s.chunks = r.chunks();
  uint64_t bytes = r.offset();
  double bpe = s.events ? static_cast<double>(bytes) / s.events : 0.0;
  const Status& damage = r.status();

  if (o.json) {
    nlohmann::ordered_json j = {{"file", o.file},
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
                                {"truncated", !r.complete()},
                                {"block_size", bs},
                                {"reads", reads},
                                {"misaligned_spanning_reads", misaligned_spanning_reads},
                                {"block_aligned_ios", aligned}};
    nlohmann::ordered_json jops = nlohmann::ordered_json::object();
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].count == 0) continue;
      jops[std::string(trace::IoOpName(static_cast<trace::IoOp>(i)))] = {
          {"count", ops[i].count}, {"bytes", ops[i].bytes}, {"errors", ops[i].errors}};
    }
    j["ops"] = jops;
    nlohmann::ordered_json jk = nlohmann::ordered_json::object();
    auto name = [&](uint16_t k) {
      auto it = site_names.find(k);
      return it != site_names.end() ? it->second : trace::EngineEventKindName(k);
    };
    for (auto [k, n] : engine_kinds) jk[name(k)] = n;
    j["engine_events_by_kind"] = jk;
    nlohmann::ordered_json jt = nlohmann::ordered_json::object();
    for (auto [t, n] : per_thread) jt[std::to_string(t)] = n;
    j["events_per_thread"] = jt;
    nlohmann::ordered_json jh = nlohmann::ordered_json::object();
    for (size_t i = 0; i < size_log2.size(); ++i) {
      if (size_log2[i]) jh[fmt::format("<{}", uint64_t{1} << i)] = size_log2[i];
    }
    j["io_size_histogram"] = jh;
    j["error"] = damage.ok() ? nlohmann::ordered_json(nullptr) : ErrorJson(damage);
    j["exit_code"] = ExitCodeFor(damage);
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}: {} events ({} io, {} engine), {} lost, {} threads, {} files, {} chunks\n",
               o.file, s.events, s.io_events, s.engine_events, s.lost_events, s.threads, s.files,
               s.chunks);
    fmt::print("{} over {}, {:.2f} bytes/event{}\n\n", FormatBytes(bytes),
               FormatDuration(s.duration_ns()), bpe, r.complete() ? "" : " (TRUNCATED)");
    fmt::print("{:<14} {:>12} {:>14} {:>8}\n", "op", "count", "bytes", "errors");
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].count == 0) continue;
      fmt::print("{:<14} {:>12} {:>14} {:>8}\n", trace::IoOpName(static_cast<trace::IoOp>(i)),
                 ops[i].count, FormatBytes(ops[i].bytes), ops[i].errors);
    }
    if (rw) {
      fmt::print("\nblock size {}: {} of {} reads/writes block-aligned ({:.1f}%)\n",
                 FormatBytes(bs), aligned, rw, 100.0 * aligned / rw);
      fmt::print("reads starting mid-block and spanning 2+ blocks: {} of {} ({:.1f}%)\n",
                 misaligned_spanning_reads, reads,
                 reads ? 100.0 * misaligned_spanning_reads / reads : 0.0);
      fmt::print("\nI/O size      count\n");
      for (size_t i = 0; i < size_log2.size(); ++i) {
        if (size_log2[i]) fmt::print("< {:<10} {}\n", FormatBytes(uint64_t{1} << i), size_log2[i]);
      }
    }
    if (!engine_kinds.empty()) {
      fmt::print("\n{:<28} {:>12}\n", "engine event", "count");
      for (auto [k, n] : engine_kinds) {
        auto it = site_names.find(k);
        fmt::print("{:<28} {:>12}\n",
                   it != site_names.end() ? it->second : trace::EngineEventKindName(k), n);
      }
    }
    fmt::print("\n{:<10} {:>12}\n", "tid", "events");
    for (auto [t, n] : per_thread) fmt::print("{:<10} {:>12}\n", t, n);
  }
  if (!damage.ok()) return Fail(damage);
  return kExitOk;
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
