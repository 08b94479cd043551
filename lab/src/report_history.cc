// A history as a report shows it: analyzed, then read again for its thread
// and site tables, its read-verify failures, and the events around the
// finding its timeline shows.
#include <fmt/core.h>

#include "ordo/sched/step.h"
#include "ordo/trace/reader.h"
#include "report_parts.h"

namespace ordo::lab::report {

namespace {

// Second pass: the events within kMargin of any of `around` (sorted), for the
// timeline; all of them when `around` is empty, up to kMaxWindow.
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

}  // namespace

Result<HistoryInfo> LoadHistory(const std::string& path) {
  HistoryInfo h;
  h.path = path;
  auto a = analyze::AnalyzeTrace(path);
  if (!a.ok()) return a.status();
  h.analysis = std::move(a).value();
  h.header = h.analysis.header;
  if (auto run = replay::RunSpec::ParseCommand(h.header.source); run.ok()) h.run = run.value();
  const auto& fs = h.analysis.findings;
  for (size_t i = 0; i < fs.size() && h.shown < 0; ++i) {
    if (fs[i].manifested) h.shown = static_cast<int>(i);
  }
  if (h.shown < 0 && !fs.empty()) h.shown = 0;
  std::vector<uint64_t> around;
  if (h.shown >= 0) around = h.shown_finding().events;  // sorted
  ORDO_RETURN_IF_ERROR(LoadWindow(&h, around));
  return h;
}

std::string EventName(const HistoryInfo& h, uint16_t kind) {
  if (trace::IsSiteEvent(kind)) {
    auto it = h.sites.find(kind - trace::kSiteEventBase);
    if (it != h.sites.end()) return it->second.first;
  }
  return trace::EngineEventKindName(kind);
}

std::string Lane(const HistoryInfo& h, uint32_t tid) {
  auto it = h.names.find(tid);
  return it != h.names.end() ? it->second : fmt::format("T{}", tid);
}

const char* Outcome(const HistoryInfo& h) {
  if (h.verify_failures > 0) return "FPRE004";
  if (!h.analysis.has_engine_history()) return analyze::kNoEngineHistory;
  return "pass";
}

RunColumns Columns(const HistoryInfo& h) {
  RunColumns c;
  if (!h.run) return c;
  c.engine = h.run->engine;
  c.strategy = std::string(sched::StrategyName(h.run->strategy));
  if (h.run->strategy == sched::Strategy::kPct)
    c.strategy += fmt::format(" depth {}", h.run->depth);
  c.seed = std::to_string(h.run->seed);
  return c;
}

const char* ShownStatus(const HistoryInfo& h) {
  return h.shown_finding().manifested ? "confirmed: the failing run of this history"
                                      : "predicted, the first; this run did not fail on it";
}

}  // namespace ordo::lab::report
