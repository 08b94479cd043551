#include "ordo/lab/report.h"

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>

#include "ordo/analyze/analyzer.h"
#include "ordo/engine/block_key.h"
#include "ordo/file_io.h"
#include "ordo/lab/shards.h"
#include "ordo/sched/step.h"
#include "ordo/trace/reader.h"
#include "ordo/util/atomic_output.h"

namespace ordo::lab {

namespace {

using analyze::AnalyzeResult;
using analyze::AnalyzeTrace;
using analyze::Finding;
using analyze::kNoEngineHistory;

struct HistoryInfo {
  std::string path;
  trace::TraceHeader header;
  AnalyzeResult analysis;
  int shown = -1;  // the finding the timeline shows: the first manifested, else the first
  std::vector<trace::EngineRecord> window;  // the events around that finding's own events
  uint64_t verify_failures = 0;
  std::set<uint32_t> threads;
  std::map<uint32_t, std::string> names;  // the history's thread table: tid -> role
  // Sites of an engine loaded through the engine ABI: id -> (name, access).
  std::map<uint32_t, std::pair<std::string, uint8_t>> sites;
};

// An event as the timeline names it: the built-in engine's kind, or the name
// the engine gave its site.
std::string EventName(const HistoryInfo& h, uint16_t kind) {
  if (trace::IsSiteEvent(kind)) {
    auto it = h.sites.find(kind - trace::kSiteEventBase);
    if (it != h.sites.end()) return it->second.first;
  }
  return trace::EngineEventKindName(kind);
}

// A thread as a lane is labelled: its role when the history names it
// ("replay thread of trace thread 2", "prefetch-0"), else T<tid>.
std::string Lane(const HistoryInfo& h, uint32_t tid) {
  auto it = h.names.find(tid);
  return it != h.names.end() ? it->second : fmt::format("T{}", tid);
}

// A thread in prose: its role with its tid, as explanations and event lists name it.
std::string Who(const HistoryInfo& h, uint32_t tid) {
  auto it = h.names.find(tid);
  return it != h.names.end() ? fmt::format("{} (T{})", it->second, tid) : fmt::format("T{}", tid);
}

// `text` with each "T<n>" of a named thread replaced by Who().
std::string NameThreads(const HistoryInfo& h, const std::string& text) {
  if (h.names.empty()) return text;
  auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i + 1;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9' && j - i <= 10) ++j;
    if (text[i] == 'T' && j > i + 1 && (i == 0 || !alnum(text[i - 1])) &&
        (j == text.size() || !alnum(text[j]))) {
      uint64_t tid = std::stoull(text.substr(i + 1, j - i - 1));
      if (tid <= UINT32_MAX && h.names.count(static_cast<uint32_t>(tid))) {
        out += Who(h, static_cast<uint32_t>(tid));
        i = j;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

// A finding's status in the history given: confirmed when it manifested
// there (that run failed on it), else only predicted.
bool Confirmed(const Finding& f) { return f.manifested; }
constexpr const char* kPredicted = "predicted (not confirmed in this run)";

// What a history's row says: FPRE004 when a read-verify failed in it, "no
// engine history" when it has no engine events to judge, else pass.
const char* Outcome(const HistoryInfo& h) {
  if (h.verify_failures > 0) return "FPRE004";
  if (!h.analysis.has_engine_history()) return kNoEngineHistory;
  return "pass";
}

const char* kNoHistoryText =
    "No engine events: this trace (syscalls only) cannot be judged. Replay it with "
    "--history to record an engine history, or capture with --usdt.";

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Second pass: the events within kMargin of any of `around` (sorted), for the
// timeline; all of them when `around` is empty, up to kMaxWindow.
constexpr uint64_t kMargin = 4;
constexpr size_t kMaxWindow = 120;

Status LoadWindow(HistoryInfo* h, const std::vector<uint64_t>& around) {
  auto r = trace::TraceReader::Open(h->path);
  if (!r.ok()) return r.status();
  trace::Record rec;
  size_t next = 0;
  while ((*r)->Next(&rec)) {
    if (rec.kind == trace::RecordKind::kThread && !rec.thread.name.empty()) {
      std::string name = rec.thread.name.substr(0, 96);
      for (char& c : name)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';  // one line, always
      h->names[rec.thread.tid] = name;
      continue;
    }
    if (rec.kind == trace::RecordKind::kSite) {
      h->sites[rec.site.site] = {trace::PrintableSiteName(rec.site.name), rec.site.access};
      continue;
    }
    if (rec.kind != trace::RecordKind::kEngine) continue;
    const auto& e = rec.engine;
    bool verify_fail = e.kind == static_cast<uint16_t>(trace::EngineEventKind::kVerifyFail);
    if (trace::IsSiteEvent(e.kind)) {
      auto site = h->sites.find(e.kind - trace::kSiteEventBase);
      verify_fail = site != h->sites.end() &&
                    site->second.second == static_cast<uint8_t>(sched::Access::kVerifyFail);
    }
    if (verify_fail) ++h->verify_failures;
    h->threads.insert(e.tid);
    while (next < around.size() && around[next] + kMargin < e.seq) ++next;
    bool near = around.empty() || (next < around.size() && e.seq + kMargin >= around[next]);
    if (near && h->window.size() < kMaxWindow) h->window.push_back(e);
  }
  return (*r)->status();
}

Result<HistoryInfo> Load(const std::string& path) {
  HistoryInfo h;
  h.path = path;
  auto a = AnalyzeTrace(path);
  if (!a.ok()) return a.status();
  h.analysis = std::move(a).value();
  h.header = h.analysis.header;
  const auto& fs = h.analysis.findings;
  for (size_t i = 0; i < fs.size() && h.shown < 0; ++i) {
    if (fs[i].manifested) h.shown = static_cast<int>(i);
  }
  if (h.shown < 0 && !fs.empty()) h.shown = 0;
  std::vector<uint64_t> around;
  if (h.shown >= 0) around = fs[static_cast<size_t>(h.shown)].events;  // sorted
  ORDO_RETURN_IF_ERROR(LoadWindow(&h, around));
  return h;
}

// A per-thread timeline of the window: one lane per thread, one mark per
// event, the finding's events in red with their names.
std::string Timeline(const HistoryInfo& h) {
  std::set<uint64_t> hot;
  if (h.shown >= 0) {
    for (uint64_t e : h.analysis.findings[static_cast<size_t>(h.shown)].events) hot.insert(e);
  }
  // Where the window skips events, the timeline shows a gap.
  int gaps = 0;
  for (size_t k = 1; k < h.window.size(); ++k) gaps += h.window[k].seq > h.window[k - 1].seq + 1;
  std::map<uint32_t, int> lane;
  for (const auto& e : h.window) lane.emplace(e.tid, 0);
  int i = 0;
  size_t label = 0;
  for (auto& [tid, l] : lane) {
    l = i++;
    label = std::max(label, Lane(h, tid).size());
  }
  const int lane_h = 46, step = 14, top = 70;
  const int left = std::max(70, 14 + 7 * static_cast<int>(label));  // room for the lane names
  int width = left + static_cast<int>(h.window.size() + 2 * gaps) * step + 240;
  int height = static_cast<int>(lane.size()) * lane_h + top + 60;
  std::string svg = fmt::format(
      "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"monospace\" font-size=\"11\">\n",
      width, height);
  for (const auto& [tid, l] : lane) {
    int y = top + l * lane_h + lane_h / 2;
    svg += fmt::format(
        "<text class=\"lane\" x=\"4\" y=\"{}\">{}<title>T{}</title></text><line x1=\"{}\" "
        "y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\"/>\n",
        y + 4, Escape(Lane(h, tid)), tid, left, y, width - 10, y);
  }
  int hot_labels = 0, column = 0;
  for (size_t k = 0; k < h.window.size(); ++k) {
    const auto& e = h.window[k];
    if (k > 0 && e.seq > h.window[k - 1].seq + 1) {  // skipped events: a marked gap
      int gx = left + (column + 1) * step;
      svg += fmt::format(
          "<text class=\"gap\" x=\"{}\" y=\"{}\" fill=\"#888\" "
          "text-anchor=\"middle\">&#8943;<title>{} "
          "events</title></text>\n",
          gx, top - 20, e.seq - h.window[k - 1].seq - 1);
      svg += fmt::format(
          "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\" "
          "stroke-dasharray=\"3,3\"/>\n",
          gx, top - 15, height - 40);
      column += 2;
    }
    int x = left + column++ * step;
    int y = top + lane[e.tid] * lane_h + lane_h / 2;
    bool is_hot = hot.count(e.seq) != 0;
    std::string name = Escape(EventName(h, e.kind));
    svg += fmt::format(
        "<circle class=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"><title>#{} {} {} block {} "
        "arg {}</title></circle>\n",
        is_hot ? "race" : "event", x, y, is_hot ? 6 : 3, is_hot ? "#d62728" : "#555", e.seq,
        Escape(Who(h, e.tid)), name, engine::BlockIndex(e.block), e.arg);
    if (is_hot) {
      // Labels alternate above and below the lane so neighbours do not collide.
      int ly = (hot_labels++ % 2 == 0) ? y - 10 : y + 22;
      svg += fmt::format(
          "<text class=\"race-label\" x=\"{}\" y=\"{}\" fill=\"#d62728\" transform=\"rotate(-20 {} "
          "{})\">#{} {}</text>\n",
          x + 6, ly, x + 6, ly, e.seq, name);
    }
  }
  return svg + "</svg>\n";
}

// One line per exploration: what the shards together found.
std::string ExplorationSummary(const MergedExploration& m) {
  std::string shards = m.shards_missing.empty()
                           ? fmt::format("all {} shards", m.shard_count)
                           : fmt::format("{} of {} shards (missing: {})",
                                         m.shard_count - static_cast<int>(m.shards_missing.size()),
                                         m.shard_count, fmt::join(m.shards_missing, ", "));
  return fmt::format(
      "{} on the {} engine, {}{}, seeds {}..{}: {}, {} runs made, FPRE004 in {}", m.trace, m.engine,
      m.strategy,
      m.strategy == sched::StrategyName(sched::Strategy::kPct) ? fmt::format(" depth {}", m.depth)
                                                               : "",
      m.seed, m.seed + static_cast<uint64_t>(m.runs_planned) - 1, shards, m.runs, m.failing.size());
}

// Said of an exploration with missing shards, in place of a verdict.
std::string Incomplete(const MergedExploration& m) {
  return fmt::format(
      "incomplete: shard{} {} of {} gave no result, so {} of the {} runs were not made; the merged "
      "result is not that of the whole seed space (rerun the missing shard{} with --shard K/{})",
      m.shards_missing.size() > 1 ? "s" : "", fmt::join(m.shards_missing, ", "), m.shard_count,
      m.runs_planned - m.runs, m.runs_planned, m.shards_missing.size() > 1 ? "s" : "",
      m.shard_count);
}

std::string Html(const std::vector<HistoryInfo>& hs, const std::vector<MergedExploration>& ms) {
  std::string page =
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ordo report: FPRE004</title>\n"
      "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}code,pre{background:#f4f4f4;"
      "padding:2px 4px}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
      ".fail{color:#d62728;font-weight:bold}.incomplete{color:#ff7f0e;font-weight:bold}"
      ".pass{color:#2ca02c;font-weight:bold}.unknown{color:#7f7f7f;font-weight:bold}"
      ".scroll{overflow-x:auto}</style>"
      "</head><body>\n<h1>ordo report: FPRE004</h1>\n";
  if (!ms.empty()) {
    page +=
        "<h2>Exploration</h2>\n<table id=\"exploration\"><tr><th>exploration</th><th>first "
        "failure</th>"
        "<th>runs to reproduce</th><th>reproduce</th></tr>\n";
    for (const auto& m : ms) {
      const FailingRun* f = m.failing.empty() ? nullptr : &m.failing.front();
      const bool partial = !m.shards_missing.empty();
      page += fmt::format(
          "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
          Escape(ExplorationSummary(m) + (partial ? "; " + Incomplete(m) : "")),
          f ? "fail" : (partial ? "incomplete" : "pass"),
          f ? fmt::format("run {} (seed {}){}", f->run, f->seed,
                          partial ? " among the shards present" : "")
            : (partial ? "INCOMPLETE: none in the shards present" : "none"),
          f ? std::to_string(m.runs_to_reproduce()) : "-", f ? Escape(f->reproduce) : "");
    }
    page += "</table>\n";
  }
  // Comparison table.
  page +=
      "<h2>Runs</h2>\n<table><tr><th>history</th><th>outcome</th><th>findings</th><th>engine "
      "events</th><th>threads</th><th>reproduce</th></tr>\n";
  for (const auto& h : hs) {
    bool failed = h.verify_failures > 0;
    std::string rules;
    for (const auto& f : h.analysis.findings)
      rules += fmt::format("{} ({}{}) ", f.rule, f.count, f.manifested ? ", manifested" : "");
    page += fmt::format(
        "<tr><td><code>{}</code></td><td "
        "class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
        Escape(h.path),
        failed                            ? "fail"
        : h.analysis.has_engine_history() ? "pass"
                                          : "unknown",
        Outcome(h), rules.empty() ? "none" : Escape(rules), h.analysis.events, h.threads.size(),
        Escape(h.header.source));
  }
  page += "</table>\n";
  for (const auto& h : hs) {
    page += fmt::format("<h2 id=\"{}\">{}</h2>\n", Escape(h.path), Escape(h.path));
    if (!h.analysis.has_engine_history()) {
      page += fmt::format("<p class=\"unknown\">{}</p>\n", kNoHistoryText);
      continue;
    }
    if (h.analysis.findings.empty()) {
      page += "<p class=\"pass\">No FPRE004 ordering found.</p>\n";
      continue;
    }
    page += "<h3>Findings</h3>\n<ol class=\"findings\">\n";
    for (const auto& f : h.analysis.findings) {
      std::vector<std::string> who;
      for (uint32_t t : f.threads) who.push_back(Who(h, t));
      std::string status =
          Confirmed(f)
              ? "<span class=\"status fail\">confirmed</span> (manifested in this run; repeat it "
                "alone: <code class=\"reproduce\">" +
                    Escape(h.header.source.empty() ? "-" : h.header.source) + "</code>)"
              : fmt::format("<span class=\"status\">{}</span>", kPredicted);
      page += fmt::format(
          "<li class=\"finding\"><b>{}</b> on block {} of file {} (offset {}) — {}{}<br>{}<br>"
          "<small>threads {}; events #{}</small></li>\n",
          f.rule, engine::BlockIndex(f.block), f.file, f.offset, status,
          f.count > 1 ? fmt::format(", seen {} times", f.count) : "",
          Escape(NameThreads(h, f.explanation)), Escape(fmt::format("{}", fmt::join(who, ", "))),
          fmt::join(f.events, ", #"));
    }
    page += fmt::format(
        "</ol>\n<h3>Timeline of finding {} ({})</h3>\n<p>One lane per thread, named by its role; "
        "red marks are the racing steps, with the {} events around each; &#8943; marks events left "
        "out.</p>\n",
        h.shown + 1,
        Confirmed(h.analysis.findings[static_cast<size_t>(h.shown)])
            ? "confirmed: the failing run of this history"
            : "predicted, the first; this run did not fail on it",
        kMargin);
    page += "<div class=\"scroll\">" + Timeline(h) + "</div>\n";
  }
  page += "<h2>Environment</h2>\n<table>\n";
  for (const auto& h : hs) {
    page += fmt::format(
        "<tr><td><code>{}</code></td><td>{}</td><td>format {}.{}, host {}, kernel {}, kind "
        "{}</td></tr>\n",
        Escape(h.path), Escape(h.header.tool_version), h.header.format_major, h.header.format_minor,
        Escape(h.header.host.empty() ? "-" : h.header.host),
        Escape(h.header.kernel.empty() ? "-" : h.header.kernel), Escape(h.header.kind));
  }
  return page + "</table>\n</body></html>\n";
}

std::string Markdown(const std::vector<HistoryInfo>& hs, const std::vector<MergedExploration>& ms) {
  std::string md = "# FPRE004 report\n\n";
  if (!ms.empty()) {
    md += "## Exploration\n\n";
    for (const auto& m : ms) {
      md += "- " + ExplorationSummary(m) + "\n";
      if (!m.shards_missing.empty()) md += "  - **" + Incomplete(m) + "**\n";
      if (!m.failing.empty()) {
        const FailingRun& f = m.failing.front();
        md += fmt::format("  - first failure: run {} (seed {}), {} runs to reproduce: `{}`\n",
                          f.run, f.seed, m.runs_to_reproduce(), f.reproduce);
        md += fmt::format("  - failing seeds: {}\n", fmt::join(
                                                         [&] {
                                                           std::vector<uint64_t> seeds;
                                                           for (const auto& x : m.failing)
                                                             seeds.push_back(x.seed);
                                                           return seeds;
                                                         }(),
                                                         ", "));
      }
    }
    md += "\n";
  }
  if (hs.empty()) return md;
  md += "| history | outcome | findings | reproduce |\n|---|---|---|---|\n";
  for (const auto& h : hs) {
    std::string rules;
    for (const auto& f : h.analysis.findings)
      rules += fmt::format("{} x{}{} ", f.rule, f.count, f.manifested ? " (manifested)" : "");
    md += fmt::format("| `{}` | {} | {} | `{}` |\n", h.path,
                      h.verify_failures ? "**FPRE004**" : Outcome(h),
                      rules.empty() ? "none" : rules, h.header.source);
  }
  for (const auto& h : hs) {
    if (!h.analysis.has_engine_history())
      md += fmt::format("\n## {}\n\n{}\n", h.path, kNoHistoryText);
    if (h.analysis.findings.empty()) continue;
    md += fmt::format("\n## {}\n\n", h.path);
    for (const auto& f : h.analysis.findings) {
      md += fmt::format("- **{}** on block {} of file {} (offset {}), {}: {}\n", f.rule,
                        engine::BlockIndex(f.block), f.file, f.offset,
                        Confirmed(f) ? "**confirmed** (manifested in this run)" : kPredicted,
                        NameThreads(h, f.explanation));
      if (Confirmed(f) && !h.header.source.empty())
        md += fmt::format("  - confirmed: `{}`\n", h.header.source);
    }
    md += fmt::format("\nEvents of finding {} ({}), {} around each racing step (>>):\n\n```\n",
                      h.shown + 1,
                      Confirmed(h.analysis.findings[static_cast<size_t>(h.shown)])
                          ? "confirmed: the failing run of this history"
                          : "predicted, the first; this run did not fail on it",
                      kMargin);
    size_t lane_width = 4;
    for (const auto& e : h.window) lane_width = std::max(lane_width, Lane(h, e.tid).size());
    const auto& shown = h.analysis.findings[static_cast<size_t>(h.shown)].events;
    std::set<uint64_t> hot(shown.begin(), shown.end());
    for (size_t k = 0; k < h.window.size(); ++k) {
      const auto& e = h.window[k];
      if (k > 0 && e.seq > h.window[k - 1].seq + 1)
        md += fmt::format("   ... {} events\n", e.seq - h.window[k - 1].seq - 1);
      md += fmt::format("{} #{:<6} {:<{}} {:<28} block {}\n", hot.count(e.seq) ? ">>" : "  ", e.seq,
                        Lane(h, e.tid), lane_width, EventName(h, e.kind),
                        engine::BlockIndex(e.block));
    }
    md += "```\n";
  }
  md += "\nEnvironment:\n\n";
  for (const auto& h : hs) {
    md += fmt::format("- `{}`: {}, host {}, kernel {}\n", h.path, h.header.tool_version,
                      h.header.host.empty() ? "-" : h.header.host,
                      h.header.kernel.empty() ? "-" : h.header.kernel);
  }
  return md;
}

}  // namespace

Status WriteReport(const std::vector<std::string>& inputs, const std::string& out,
                   std::vector<std::string>* incomplete) {
  bool html = out.size() >= 5 && out.compare(out.size() - 5, 5, ".html") == 0;
  bool md = out.size() >= 3 && out.compare(out.size() - 3, 3, ".md") == 0;
  if (!html && !md) return Status::InvalidArgument(out + ": the report must end in .html or .md");
  ORDO_RETURN_IF_ERROR(CheckOutput(out, inputs));
  if (inputs.empty())
    return Status::InvalidArgument("report: give at least one history or replay result");
  std::vector<HistoryInfo> hs;
  std::vector<ExplorationResult> results;
  std::vector<std::unique_ptr<SpooledInput>> spooled;
  for (const auto& p : inputs) {
    if (p.size() >= 5 && p.compare(p.size() - 5, 5, ".json") == 0) {
      auto r = ReadExplorationResult(p);
      if (!r.ok()) return r.status();
      results.push_back(std::move(r).value());
      continue;
    }
    auto in = SpooledInput::Open(p);  // read twice: a stream is copied first
    if (!in.ok()) return in.status();
    spooled.push_back(std::move(in).value());
    auto h = Load(spooled.back()->path());
    if (!h.ok()) return h.status();
    hs.push_back(std::move(h).value());
  }
  auto ms = MergeExplorations(results);
  if (!ms.ok()) return ms.status();
  auto sink = CreateSink(out);
  if (!sink.ok()) return sink.status();
  const std::string page = html ? Html(hs, ms.value()) : Markdown(hs, ms.value());
  ORDO_RETURN_IF_ERROR((*sink)->Write(page.data(), page.size()));
  ORDO_RETURN_IF_ERROR((*sink)->Commit());
  if (incomplete) {
    for (const auto& m : ms.value()) {
      if (!m.shards_missing.empty())
        incomplete->push_back(
            fmt::format("{} ({} engine, seeds {}..{}): {}", m.trace, m.engine, m.seed,
                        m.seed + static_cast<uint64_t>(m.runs_planned) - 1, Incomplete(m)));
    }
  }
  return Status::Ok();
}

}  // namespace ordo::lab
