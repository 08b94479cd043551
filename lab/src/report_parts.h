// The pieces of a report (report.h), shared by its files: report_history.cc
// (a history loaded for the report: its analysis, thread and site tables, and
// the events around the finding shown), report_html.cc and
// report_markdown.cc (the two pages), report.cc (WriteReport and what both
// pages say of an exploration). Internal to lab/.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ordo/analyze/analyzer.h"
#include "ordo/analyze/render.h"
#include "ordo/lab/shards.h"
#include "ordo/replay/run_spec.h"
#include "ordo/status.h"
#include "ordo/trace/header.h"
#include "ordo/trace/record.h"

namespace ordo::lab::report {

// One engine history as a report shows it.
struct HistoryInfo {
  std::string path;
  trace::TraceHeader header;
  analyze::AnalyzeResult analysis;
  int shown = -1;  // the finding the timeline shows: the first manifested, else the first
  std::vector<trace::EngineRecord> window;  // the events around that finding's own events
  uint64_t verify_failures = 0;
  std::set<uint32_t> threads;
  std::map<uint32_t, std::string> names;  // the history's thread table: tid -> role
  // Sites of an engine loaded through the engine ABI: id -> (name, access).
  std::map<uint32_t, std::pair<std::string, uint8_t>> sites;
  // The run that made the history, read by field from its header's source
  // (replay::RunSpec); empty for a capture or a history written by hand.
  std::optional<replay::RunSpec> run;

  // The finding the timeline shows (shown >= 0).
  const analyze::Finding& shown_finding() const {
    return analysis.findings[static_cast<size_t>(shown)];
  }
  // What the finding renderers may say of this history's findings.
  analyze::RenderContext render_context() const { return {names, header.source}; }
};

// The timeline shows the events within kMargin of each of the finding's own
// events, up to kMaxWindow events.
inline constexpr uint64_t kMargin = 4;
inline constexpr size_t kMaxWindow = 120;

// Analyzes the history at `path` and reads it again for its tables and the
// window of the finding shown.
Result<HistoryInfo> LoadHistory(const std::string& path);

// An event as the timeline names it: the built-in engine's kind, or the name
// the engine gave its site.
std::string EventName(const HistoryInfo& h, uint16_t kind);
// A thread as a lane is labelled: its role when the history names it
// ("replay thread of trace thread 2", "prefetch-0"), else T<tid>.
std::string Lane(const HistoryInfo& h, uint32_t tid);
// What a history's row says: FPRE004 when a read-verify failed in it, "no
// engine history" when it has no engine events to judge, else pass.
const char* Outcome(const HistoryInfo& h);
// Said of the timeline's finding: confirmed by this run, or only predicted.
const char* ShownStatus(const HistoryInfo& h);
// The run's fields as the runs tables show them side by side ("legacy", "pct
// depth 10", "5"); "-" each when the history names no run.
struct RunColumns {
  std::string engine = "-", strategy = "-", seed = "-";
};
RunColumns Columns(const HistoryInfo& h);

// Said of a trace with no engine events, in place of its findings: advice to
// the reader of the report (which is about ordo's commands).
inline constexpr const char* kNoHistoryText =
    "No engine events: this trace (syscalls only) cannot be judged. Replay it with "
    "--history to record an engine history, or capture with --usdt.";

// One line per exploration: what the shards together found.
std::string ExplorationSummary(const MergedExploration& m);
// Said of an exploration with missing shards, in place of a verdict (without
// the advice RerunAdvice gives).
std::string Incomplete(const MergedExploration& m);
// How to complete it, as the report advises its reader.
std::string RerunAdvice(const MergedExploration& m);

std::string HtmlPage(const std::vector<HistoryInfo>& hs, const std::vector<MergedExploration>& ms);
std::string MarkdownPage(const std::vector<HistoryInfo>& hs,
                         const std::vector<MergedExploration>& ms);

}  // namespace ordo::lab::report
