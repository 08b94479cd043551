// The HTML report: a self-contained page (inline SVG timeline, no network)
// with the explorations, the runs compared, each history's findings and
// timeline, and the environment.
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>

#include "ordo/engine/block_key.h"
#include "report_parts.h"

namespace ordo::lab::report {

namespace {

using analyze::HtmlEscape;

constexpr const char* kHead =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ordo report: FPRE004</title>\n"
    "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}code,pre{background:#f4f4f4;"
    "padding:2px 4px}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    ".fail{color:#d62728;font-weight:bold}.incomplete{color:#ff7f0e;font-weight:bold}"
    ".pass{color:#2ca02c;font-weight:bold}.unknown{color:#7f7f7f;font-weight:bold}"
    ".scroll{overflow-x:auto}</style>"
    "</head><body>\n<h1>ordo report: FPRE004</h1>\n";

// The timeline's geometry: a lane per thread, a column per event.
struct Layout {
  std::map<uint32_t, int> lane;  // tid -> lane index
  int lane_h = 46, step = 14, top = 70, left = 70, width = 0, height = 0;
  int Y(uint32_t tid) const { return top + lane.at(tid) * lane_h + lane_h / 2; }
};

Layout TimelineLayout(const HistoryInfo& h) {
  Layout g;
  // Where the window skips events, the timeline shows a gap.
  int gaps = 0;
  for (size_t k = 1; k < h.window.size(); ++k) gaps += h.window[k].seq > h.window[k - 1].seq + 1;
  for (const auto& e : h.window) g.lane.emplace(e.tid, 0);
  int i = 0;
  size_t label = 0;
  for (auto& [tid, l] : g.lane) {
    l = i++;
    label = std::max(label, Lane(h, tid).size());
  }
  g.left = std::max(70, 14 + 7 * static_cast<int>(label));  // room for the lane names
  g.width = g.left + static_cast<int>(h.window.size() + 2 * gaps) * g.step + 240;
  g.height = static_cast<int>(g.lane.size()) * g.lane_h + g.top + 60;
  return g;
}

// A marked gap of `skipped` events before column `column`.
std::string TimelineGap(const Layout& g, int column, uint64_t skipped) {
  const int gx = g.left + (column + 1) * g.step;
  return fmt::format(
             "<text class=\"gap\" x=\"{}\" y=\"{}\" fill=\"#888\" "
             "text-anchor=\"middle\">&#8943;<title>{} "
             "events</title></text>\n",
             gx, g.top - 20, skipped) +
         fmt::format(
             "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\" "
             "stroke-dasharray=\"3,3\"/>\n",
             gx, g.top - 15, g.height - 40);
}

// A per-thread timeline of the window: one lane per thread, one mark per
// event, the finding's events in red with their names.
std::string Timeline(const HistoryInfo& h) {
  std::set<uint64_t> hot;
  if (h.shown >= 0) hot.insert(h.shown_finding().events.begin(), h.shown_finding().events.end());
  const Layout g = TimelineLayout(h);
  const analyze::RenderContext context = h.render_context();
  std::string svg = fmt::format(
      "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"monospace\" font-size=\"11\">\n",
      g.width, g.height);
  for (const auto& [tid, l] : g.lane) {
    svg += fmt::format(
        "<text class=\"lane\" x=\"4\" y=\"{}\">{}<title>T{}</title></text><line x1=\"{}\" "
        "y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\"/>\n",
        g.Y(tid) + 4, HtmlEscape(Lane(h, tid)), tid, g.left, g.Y(tid), g.width - 10, g.Y(tid));
  }
  int hot_labels = 0, column = 0;
  for (size_t k = 0; k < h.window.size(); ++k) {
    const auto& e = h.window[k];
    if (k > 0 && e.seq > h.window[k - 1].seq + 1) {  // skipped events
      svg += TimelineGap(g, column, e.seq - h.window[k - 1].seq - 1);
      column += 2;
    }
    const int x = g.left + column++ * g.step;
    const int y = g.Y(e.tid);
    const bool is_hot = hot.count(e.seq) != 0;
    const std::string name = HtmlEscape(EventName(h, e.kind));
    svg += fmt::format(
        "<circle class=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"><title>#{} {} {} block {} "
        "arg {}</title></circle>\n",
        is_hot ? "race" : "event", x, y, is_hot ? 6 : 3, is_hot ? "#d62728" : "#555", e.seq,
        HtmlEscape(analyze::ThreadName(context, e.tid)), name, engine::BlockIndex(e.block), e.arg);
    if (is_hot) {
      // Labels alternate above and below the lane so neighbours do not collide.
      const int ly = (hot_labels++ % 2 == 0) ? y - 10 : y + 22;
      svg += fmt::format(
          "<text class=\"race-label\" x=\"{}\" y=\"{}\" fill=\"#d62728\" transform=\"rotate(-20 {} "
          "{})\">#{} {}</text>\n",
          x + 6, ly, x + 6, ly, e.seq, name);
    }
  }
  return svg + "</svg>\n";
}

// The explorations merged from replay results: one row each.
std::string ExplorationTable(const std::vector<MergedExploration>& ms) {
  std::string out =
      "<h2>Exploration</h2>\n<table id=\"exploration\"><tr><th>exploration</th><th>first "
      "failure</th>"
      "<th>runs to reproduce</th><th>reproduce</th></tr>\n";
  for (const auto& m : ms) {
    const FailingRun* f = m.failing.empty() ? nullptr : &m.failing.front();
    const bool partial = !m.shards_missing.empty();
    out += fmt::format(
        "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
        HtmlEscape(ExplorationSummary(m) + (partial ? "; " + Incomplete(m) + RerunAdvice(m) : "")),
        f ? "fail" : (partial ? "incomplete" : "pass"),
        f ? fmt::format("run {} (seed {}){}", f->run, f->seed,
                        partial ? " among the shards present" : "")
          : (partial ? "INCOMPLETE: none in the shards present" : "none"),
        f ? std::to_string(m.runs_to_reproduce()) : "-", f ? HtmlEscape(f->reproduce) : "");
  }
  return out + "</table>\n";
}

// The histories side by side.
std::string RunsTable(const std::vector<HistoryInfo>& hs) {
  std::string out =
      "<h2>Runs</h2>\n<table><tr><th>history</th><th>engine</th><th>strategy</th><th>seed</th>"
      "<th>outcome</th><th>findings</th><th>engine events</th><th>threads</th><th>reproduce</th>"
      "</tr>\n";
  for (const auto& h : hs) {
    const RunColumns c = Columns(h);
    out += fmt::format(
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td "
        "class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
        HtmlEscape(h.path), HtmlEscape(c.engine), HtmlEscape(c.strategy), HtmlEscape(c.seed),
        h.verify_failures > 0             ? "fail"
        : h.analysis.has_engine_history() ? "pass"
                                          : "unknown",
        Outcome(h), HtmlEscape(analyze::Tally(h.analysis.findings)), h.analysis.events,
        h.threads.size(), HtmlEscape(h.header.source));
  }
  return out + "</table>\n";
}

// One history: its findings and the timeline of the one shown.
std::string HistorySection(const HistoryInfo& h) {
  std::string out = fmt::format("<h2 id=\"{}\">{}</h2>\n", HtmlEscape(h.path), HtmlEscape(h.path));
  if (!h.analysis.has_engine_history())
    return out + fmt::format("<p class=\"unknown\">{}</p>\n", kNoHistoryText);
  const analyze::HtmlRenderer findings(h.render_context());
  if (h.analysis.findings.empty()) return out + findings.RenderList({});
  out += "<h3>Findings</h3>\n" + findings.RenderList(h.analysis.findings);
  out += fmt::format(
      "<h3>Timeline of finding {} ({})</h3>\n<p>One lane per thread, named by its role; "
      "red marks are the racing steps, with the {} events around each; &#8943; marks events left "
      "out.</p>\n",
      h.shown + 1, ShownStatus(h), kMargin);
  return out + "<div class=\"scroll\">" + Timeline(h) + "</div>\n";
}

std::string EnvironmentTable(const std::vector<HistoryInfo>& hs) {
  std::string out = "<h2>Environment</h2>\n<table>\n";
  for (const auto& h : hs) {
    out += fmt::format(
        "<tr><td><code>{}</code></td><td>{}</td><td>format {}.{}, host {}, kernel {}, kind "
        "{}</td></tr>\n",
        HtmlEscape(h.path), HtmlEscape(h.header.tool_version), h.header.format_major,
        h.header.format_minor, HtmlEscape(h.header.host.empty() ? "-" : h.header.host),
        HtmlEscape(h.header.kernel.empty() ? "-" : h.header.kernel), HtmlEscape(h.header.kind));
  }
  return out + "</table>\n";
}

}  // namespace

std::string HtmlPage(const std::vector<HistoryInfo>& hs, const std::vector<MergedExploration>& ms) {
  std::string page = kHead;
  if (!ms.empty()) page += ExplorationTable(ms);
  page += RunsTable(hs);
  for (const auto& h : hs) page += HistorySection(h);
  return page + EnvironmentTable(hs) + "</body></html>\n";
}

}  // namespace ordo::lab::report
