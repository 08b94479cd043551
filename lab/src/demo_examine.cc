// The demo story (demo.h), once the failure is reproduced: analysis of the
// failing run's history, minimization, the fixed engine over many seeds,
// reports, and the summary table.
#include <fmt/core.h>

#include "demo_story.h"
#include "ordo/analyze/analyzer.h"
#include "ordo/analyze/render.h"
#include "ordo/lab/report.h"
#include "ordo/units.h"

namespace ordo::lab {

Status DemoStory::Examine() {
  if (auto_runs_ > 0) {
    Step("analyze the failing run's history");
    auto a = analyze::AnalyzeTrace(dir_ + "/fail.ordo");
    if (!a.ok()) return a.status();
    for (const auto& f : a->findings) {
      rules_[f.rule] += f.count;
      if (f.manifested) manifested_ = f.rule;
    }
    fmt::print("   {} engine events in {:.3f} s, {} distinct findings\n", a->events, a->seconds,
               a->findings.size());
    const analyze::TextRenderer text({}, "   ");
    for (const auto& f : a->findings) {
      if (f.manifested) fmt::print("{}", text.Render(f));
    }

    Step("minimize: the smallest trace that still fails");
    lab::MinimizeOptions mo;
    mo.mode = engine::EngineMode::kLegacy;
    mo.seed = failure_.seed;
    auto budget = ParseDuration(o_.minimize_time);
    if (!budget.ok()) return budget.status();
    mo.max_seconds = static_cast<double>(budget.value()) / 1e9;
    mo.max_runs = o_.minimize_runs;
    auto m = lab::Minimize(trace_, dir_ + "/min.ordo", mo);
    if (!m.ok()) return m.status();
    minimized_ = m.value();
    fmt::print(
        "   {}/min.ordo: {} of {} operations, {} threads, {} replay runs in {:.1f} s\n   "
        "reproduce: {}\n",
        dir_, minimized_.minimized_ops, minimized_.original_ops, minimized_.threads,
        minimized_.runs, minimized_.seconds, minimized_.reproduce);
  }

  Step(fmt::format("the fixed engine on the same trace, seeds 1..{}", o_.fixed_runs));
  auto fixed = Lab(engine::EngineMode::kFixed, sched::Strategy::kPos, 1, o_.fixed_runs);
  fixed.history_path = dir_ + "/fixed.ordo";
  lab::AutoOptions every_run;
  every_run.stop_when_settled = false;  // nothing is predicted: POS run after run
  auto campaign = lab::ReplayAuto(trace_, fixed, every_run);
  if (!campaign.ok()) return campaign.status();
  const replay::ReplaySummary* r = &campaign->replay;
  fixed_runs_ = r->runs;
  fixed_failures_ = r->failures;
  fmt::print("   {} runs, {} FPRE004\n", r->runs, r->failures);

  Step("reports");
  std::vector<std::string> histories;
  if (auto_runs_ > 0) histories.push_back(dir_ + "/fail.ordo");
  histories.push_back(dir_ + "/fixed.ordo");
  for (const char* ext : {"html", "md"}) {
    std::string out = fmt::format("{}/report.{}", dir_, ext);
    ORDO_RETURN_IF_ERROR(lab::WriteReport(histories, out));
    fmt::print("   {}\n", out);
  }
  return Status::Ok();
}

DemoResult DemoStory::Table() {
  Step("summary");
  auto row = [](const std::string& k, const std::string& v) { fmt::print("   {:<34} {}\n", k, v); };
  row("trace", fmt::format("{} ({})", trace_, source_));
  row("events captured", fmt::format("{}", facts_.events));
  row("bytes/event",
      fmt::format("{:.2f}", facts_.events ? double(facts_.bytes) / double(facts_.events) : 0.0));
  row("lost events", fmt::format("{}", facts_.lost));
  row("runs to reproduce, auto",
      auto_runs_ ? fmt::format("{} ({} run, seed {})", auto_runs_,
                               sched::StrategyName(failure_.strategy), failure_.seed)
                 : fmt::format("not in {}", o_.max_runs));
  std::string status;
  for (const auto& sig : signatures_) {
    status += fmt::format("{}{} {}", status.empty() ? "" : ", ", sig.rule,
                          sig.confirmed ? fmt::format("confirmed (run {})", sig.confirmed_by_run)
                                        : std::string("predicted only"));
  }
  row("predicted / confirmed", status.empty() ? "nothing predicted" : status);
  row("runs to reproduce, free",
      free_runs_ ? fmt::format("{}", free_runs_) : fmt::format("not in {}", free_made_));
  row("same seed, same failure", auto_runs_ ? (same_ ? "yes" : "NO") : "-");
  std::string rules;
  for (const auto& [rule, n] : rules_)
    rules += fmt::format("{}{} x{}", rules.empty() ? "" : ", ", rule, n);
  row("findings by rule",
      rules.empty() ? "none"
                    : rules + (manifested_.empty() ? "" : " (manifested: " + manifested_ + ")"));
  row("minimized", auto_runs_
                       ? fmt::format("{} of {} operations, {} threads", minimized_.minimized_ops,
                                     minimized_.original_ops, minimized_.threads)
                       : "-");
  row("fixed engine",
      fmt::format("{} of {} runs clean", fixed_runs_ - fixed_failures_, fixed_runs_));
  row("reports", fmt::format("{0}/report.html, {0}/report.md", dir_));
  row("demo time", fmt::format("{:.1f} s", Since(t0_)));
  DemoResult result;
  result.reproduced = auto_runs_ > 0;
  result.repeated = same_;
  result.fixed_runs = fixed_runs_;
  result.fixed_failures = fixed_failures_;
  return result;
}

}  // namespace ordo::lab
