// The Markdown report, for a ticket: the explorations, the runs compared,
// each history's findings and the events around the one shown, and the
// environment.
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>

#include "ordo/engine/block_key.h"
#include "report_parts.h"

namespace ordo::lab::report {

namespace {

std::string Explorations(const std::vector<MergedExploration>& ms) {
  std::string md = "## Exploration\n\n";
  for (const auto& m : ms) {
    md += "- " + ExplorationSummary(m) + "\n";
    if (!m.shards_missing.empty()) md += "  - **" + Incomplete(m) + RerunAdvice(m) + "**\n";
    if (m.failing.empty()) continue;
    const FailingRun& f = m.failing.front();
    md += fmt::format("  - first failure: run {} (seed {}), {} runs to reproduce: `{}`\n", f.run,
                      f.seed, m.runs_to_reproduce(), f.reproduce);
    std::vector<uint64_t> seeds;
    for (const auto& x : m.failing) seeds.push_back(x.seed);
    md += fmt::format("  - failing seeds: {}\n", fmt::join(seeds, ", "));
  }
  return md + "\n";
}

std::string RunsTable(const std::vector<HistoryInfo>& hs) {
  std::string md =
      "| history | engine | strategy | seed | outcome | findings | reproduce |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const auto& h : hs) {
    const RunColumns c = Columns(h);
    md += fmt::format("| `{}` | {} | {} | {} | {} | {} | `{}` |\n", h.path, c.engine, c.strategy,
                      c.seed, h.verify_failures ? "**FPRE004**" : Outcome(h),
                      analyze::Tally(h.analysis.findings), h.header.source);
  }
  return md;
}

// The window of events around the finding shown, its own steps marked >>.
std::string Events(const HistoryInfo& h) {
  std::string md =
      fmt::format("\nEvents of finding {} ({}), {} around each racing step (>>):\n\n```\n",
                  h.shown + 1, ShownStatus(h), kMargin);
  size_t lane_width = 4;
  for (const auto& e : h.window) lane_width = std::max(lane_width, Lane(h, e.tid).size());
  const auto& shown = h.shown_finding().events;
  const std::set<uint64_t> hot(shown.begin(), shown.end());
  for (size_t k = 0; k < h.window.size(); ++k) {
    const auto& e = h.window[k];
    if (k > 0 && e.seq > h.window[k - 1].seq + 1)
      md += fmt::format("   ... {} events\n", e.seq - h.window[k - 1].seq - 1);
    md +=
        fmt::format("{} #{:<6} {:<{}} {:<28} block {}\n", hot.count(e.seq) ? ">>" : "  ", e.seq,
                    Lane(h, e.tid), lane_width, EventName(h, e.kind), engine::BlockIndex(e.block));
  }
  return md + "```\n";
}

// One history: what was found (or why nothing can be), and its events.
std::string HistorySection(const HistoryInfo& h) {
  std::string md = fmt::format("\n## {}\n\n", h.path);
  if (!h.analysis.has_engine_history()) return md + kNoHistoryText + "\n";
  md += analyze::MarkdownRenderer(h.render_context()).RenderList(h.analysis.findings);
  return h.analysis.findings.empty() ? md : md + Events(h);
}

}  // namespace

std::string MarkdownPage(const std::vector<HistoryInfo>& hs,
                         const std::vector<MergedExploration>& ms) {
  std::string md = "# FPRE004 report\n\n";
  if (!ms.empty()) md += Explorations(ms);
  if (hs.empty()) return md;
  md += RunsTable(hs);
  for (const auto& h : hs) md += HistorySection(h);
  md += "\nEnvironment:\n\n";
  for (const auto& h : hs) {
    md += fmt::format("- `{}`: {}, host {}, kernel {}\n", h.path, h.header.tool_version,
                      h.header.host.empty() ? "-" : h.header.host,
                      h.header.kernel.empty() ? "-" : h.header.kernel);
  }
  return md;
}

}  // namespace ordo::lab::report
