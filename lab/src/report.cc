// WriteReport: the inputs read (histories analyzed, replay results merged per
// exploration), the page rendered by its extension (report_html.cc,
// report_markdown.cc) and written atomically.
#include "ordo/lab/report.h"

#include <fmt/core.h>
#include <fmt/format.h>

#include <memory>

#include "ordo/file_io.h"
#include "ordo/util/atomic_output.h"
#include "report_parts.h"

namespace ordo::lab {

namespace report {

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

std::string Incomplete(const MergedExploration& m) {
  return fmt::format(
      "incomplete: shard{} {} of {} gave no result, so {} of the {} runs were not made; the merged "
      "result is not that of the whole seed space",
      m.shards_missing.size() > 1 ? "s" : "", fmt::join(m.shards_missing, ", "), m.shard_count,
      m.runs_planned - m.runs, m.runs_planned);
}

std::string RerunAdvice(const MergedExploration& m) {
  return fmt::format(" (rerun the missing shard{} with --shard K/{})",
                     m.shards_missing.size() > 1 ? "s" : "", m.shard_count);
}

}  // namespace report

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Status WriteReport(const std::vector<std::string>& inputs, const std::string& out,
                   std::vector<IncompleteExploration>* incomplete) {
  const bool html = EndsWith(out, ".html");
  if (!html && !EndsWith(out, ".md"))
    return Status::InvalidArgument(out + ": the report must end in .html or .md");
  ORDO_RETURN_IF_ERROR(CheckOutput(out, inputs));
  if (inputs.empty())
    return Status::InvalidArgument("report: give at least one history or replay result");
  std::vector<report::HistoryInfo> hs;
  std::vector<ExplorationResult> results;
  std::vector<std::unique_ptr<SpooledInput>> spooled;
  for (const auto& p : inputs) {
    if (EndsWith(p, ".json")) {
      auto r = ReadExplorationResult(p);
      if (!r.ok()) return r.status();
      results.push_back(std::move(r).value());
      continue;
    }
    auto in = SpooledInput::Open(p);  // read twice: a stream is copied first
    if (!in.ok()) return in.status();
    spooled.push_back(std::move(in).value());
    auto h = report::LoadHistory(spooled.back()->path());
    if (!h.ok()) return h.status();
    hs.push_back(std::move(h).value());
  }
  auto ms = MergeExplorations(results);
  if (!ms.ok()) return ms.status();
  auto sink = CreateSink(out);
  if (!sink.ok()) return sink.status();
  const std::string page =
      html ? report::HtmlPage(hs, ms.value()) : report::MarkdownPage(hs, ms.value());
  ORDO_RETURN_IF_ERROR((*sink)->Write(page.data(), page.size()));
  ORDO_RETURN_IF_ERROR((*sink)->Commit());
  if (incomplete) {
    for (const auto& m : ms.value()) {
      if (m.shards_missing.empty()) continue;
      incomplete->push_back(
          {fmt::format("{} ({} engine, seeds {}..{}): {}", m.trace, m.engine, m.seed,
                       m.seed + static_cast<uint64_t>(m.runs_planned) - 1, report::Incomplete(m)),
           m.shards_missing, m.shard_count});
    }
  }
  return Status::Ok();
}

}  // namespace ordo::lab
