#include "ordo/lab/explore.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>

#include "ordo/analyze/analyzer.h"

namespace ordo::lab {

namespace {

// One targeted run to make: the focus and the seed of the POS run that
// predicted it (so the run replays the same prefix up to the race).
struct Attempt {
  std::vector<size_t> rules;                      // indices of the rules it tries to confirm
  std::vector<std::vector<engine::Focus>> focus;  // per rule
  uint64_t seed = 0;
};

// Holds shorter than this many scheduling decisions keep the scheduler's
// default budget; a race whose steps were further apart in the predicting
// run gets a budget sized from that distance (history events, of which the
// decisions between the two steps are at most as many), twice over.
constexpr uint64_t kDefaultHoldBudget = 1000;

engine::Focus FocusOf(const analyze::Finding& f) {
  engine::Focus focus;
  if (!engine::ParseFpre004Rule(f.rule, &focus.rule)) focus.rule = engine::Fpre004Rule::kStaleClean;
  focus.block = f.block;
  // The thread the rule holds back: the writer (A), compaction (B) or the
  // one that went first (RACE), the first thread of the finding; as recorded
  // in a replay history it is the scheduler's logical index, the same in
  // every run of the trace.
  focus.thread = f.threads.empty() ? -1 : static_cast<int>(f.threads[0]);
  if (focus.rule == engine::Fpre004Rule::kRace && f.sites.size() == 2) {
    // Sites of histories older than site tables are the built-in kinds.
    auto site = [](uint32_t s) { return s >= 0x10000u ? s - 0x10000u + 1 : s; };
    focus.held_site = site(f.sites[0]);
    focus.partner_site = site(f.sites[1]);
  }
  if (f.span * 2 > kDefaultHoldBudget / 2) focus.budget = f.span * 2 + kDefaultHoldBudget;
  return focus;
}

bool IsFpre004(const analyze::Finding& f) { return f.rule.starts_with("FPRE004"); }

class Campaign {
 public:
  Campaign(const std::string& trace, const replay::ReplayOptions& o, const AutoOptions& a)
      : trace_(trace), o_(o), a_(a) {}

  std::optional<replay::RunPlan> Next(int run) {
    Settle();
    if (o_.until_fail && failures_ > 0) return std::nullopt;
    analyzer_ = NewAnalyzer();
    replay::RunPlan plan;
    while (!queue_.empty()) {
      Attempt at = queue_.front();
      queue_.pop_front();
      std::vector<engine::Focus> focus;
      for (size_t k = 0; k < at.rules.size(); ++k) {
        SignatureStatus& s = signatures_[at.rules[k]];
        if (s.confirmed) continue;
        ++s.targeted_runs;
        s.attempts.push_back({run, at.focus[k], false, {}});
        focus.insert(focus.end(), at.focus[k].begin(), at.focus[k].end());
      }
      if (focus.empty()) continue;
      plan = {sched::Strategy::kTargeted, at.seed, focus};
      current_ = {run, plan};
      return plan;
    }
    if (!pos_allowed_) return std::nullopt;
    if (a_.stop_when_settled && pos_runs_ > 0 && !signatures_.empty()) return std::nullopt;
    // Sharded, each shard explores its own POS seeds (seed + shard index +
    // k * shard count) and confirms its own predictions.
    plan = {sched::Strategy::kPos,
            o_.seed + static_cast<uint64_t>(o_.shard_index) +
                pos_runs_++ * static_cast<uint64_t>(o_.shard_count),
            {}};
    current_ = {run, plan};
    return plan;
  }

  void Observe(const trace::EngineRecord& e) {
    if (analyzer_) analyzer_->Add(e);
  }
  void ObserveSite(const trace::SiteRecord& s) {
    if (analyzer_) analyzer_->AddSite(s);
  }
  void RunDone(bool failed) {
    last_failed_ = failed;
    failures_ += failed ? 1 : 0;
  }

  // Reads what the last run showed: confirmations and new predictions.
  void Settle() {
    if (!analyzer_) return;
    std::unique_ptr<analyze::Analyzer> a = std::move(analyzer_);
    for (const analyze::Finding& f : a->Findings()) {
      size_t i = Signature(f, current_.run);
      if (f.manifested && last_failed_ && !signatures_[i].confirmed) {
        SignatureStatus& s = signatures_[i];
        s.confirmed = true;
        s.confirmed_by_run = current_.run;
        replay::RunOutcome probe;
        probe.seed = current_.plan.seed;
        probe.strategy = current_.plan.strategy;
        probe.focus = current_.plan.focus;
        s.reproduce = replay::ReproduceCommand(trace_, o_, probe);
      }
    }
    if (current_.plan.strategy == sched::Strategy::kPos) Enqueue(a->Candidates());
  }

  // Predictions made elsewhere (an analyzed history of a run with `seed`):
  // only their targeted runs are made, no POS runs.
  void Predict(const std::vector<analyze::Finding>& candidates, uint64_t seed) {
    pos_allowed_ = false;
    current_ = {-1, {sched::Strategy::kPos, seed, {}}};
    Enqueue(candidates);
  }

  void Enqueue(const std::vector<analyze::Finding>& candidates) {
    // Per rule, its closest candidates (both forms of a rule together),
    // `foci_per_run` of them forced at once in each targeted run.
    std::vector<std::vector<analyze::Finding>> by_rule;
    // The generic RACE pairs are tried only where no FPRE004 ordering is
    // predicted: the specific rules force their third step too, and RACE's
    // pairs on such an engine are mostly those rules' races again.
    const bool specific = std::any_of(candidates.begin(), candidates.end(), IsFpre004);
    for (const analyze::Finding& f : candidates) {
      if (specific && !IsFpre004(f)) continue;
      if (f.sites.empty() && f.rule == "RACE") continue;
      size_t i = Signature(f, current_.run);
      if (signatures_[i].confirmed || f.manifested) continue;
      if (by_rule.size() <= i) by_rule.resize(i + 1);
      auto same_block = [&](const analyze::Finding& g) { return g.block == f.block; };
      auto& list = by_rule[i];
      auto it = std::find_if(list.begin(), list.end(), same_block);
      if (it == list.end()) {
        list.push_back(f);
      } else if (f.span < it->span) {
        *it = f;  // both forms of a rule on one block: one focus, the closer race
      }
    }
    std::vector<std::deque<Attempt>> attempts(by_rule.size());
    std::vector<std::pair<uint64_t, size_t>> order;  // rules by their closest candidate
    for (size_t i = 0; i < by_rule.size(); ++i) {
      auto& list = by_rule[i];
      if (list.empty()) continue;
      std::stable_sort(list.begin(), list.end(),
                       [](const auto& x, const auto& y) { return x.span < y.span; });
      for (size_t k = 0; k < list.size() && queued_[i] < a_.targeted_runs_per_rule;
           k += a_.foci_per_run) {
        Attempt at{{i}, {{}}, current_.plan.seed};
        for (size_t j = k; j < std::min(list.size(), k + a_.foci_per_run); ++j)
          at.focus[0].push_back(FocusOf(list[j]));
        attempts[i].push_back(at);
        ++queued_[i];
      }
      if (!attempts[i].empty()) order.emplace_back(list.front().span, i);
    }
    std::stable_sort(order.begin(), order.end());
    // The first targeted run forces the first attempt of every rule at once
    // (on different blocks), so whichever rule manifests most readily fails
    // it; then each rule not yet confirmed gets runs of its own, round robin,
    // the rule with the closest race first.
    Attempt all;
    all.seed = current_.plan.seed;
    for (const auto& [span, i] : order) {
      all.rules.push_back(i);
      all.focus.push_back(attempts[i].front().focus[0]);
    }
    if (order.size() > 1) queue_.push_back(all);
    for (bool more = true; more;) {
      more = false;
      for (const auto& [span, i] : order) {
        if (attempts[i].empty()) continue;
        queue_.push_back(attempts[i].front());
        attempts[i].pop_front();
        more = true;
      }
    }
  }

  AutoSummary Finish(replay::ReplaySummary summary) {
    Settle();
    AutoSummary out;
    out.signatures = signatures_;
    for (SignatureStatus& s : out.signatures) {
      for (TargetedRun& t : s.attempts) {
        for (const replay::RunOutcome& r : summary.outcomes) {
          if (r.run != t.run) continue;
          t.failed = r.failed;
          t.holds = r.holds;
        }
      }
    }
    out.replay = std::move(summary);
    return out;
  }

 private:
  std::unique_ptr<analyze::Analyzer> NewAnalyzer() const {
    analyze::AnalyzerOptions ao;
    ao.candidates_per_signature = static_cast<size_t>(a_.targeted_runs_per_rule) * a_.foci_per_run;
    return std::make_unique<analyze::Analyzer>(ao);
  }

  // Findings are tracked per rule: the two forms of FPRE004-A (prefetch,
  // read miss) are one ordering to confirm, whichever form manifests.
  size_t Signature(const analyze::Finding& f, int run) {
    for (size_t i = 0; i < signatures_.size(); ++i) {
      if (signatures_[i].rule == f.rule) return i;
    }
    SignatureStatus s;
    s.signature = f.signature;
    s.rule = f.rule;
    s.predicted_in_run = run;
    signatures_.push_back(s);
    queued_.push_back(0);
    return signatures_.size() - 1;
  }

  struct Current {
    int run = -1;
    replay::RunPlan plan;
  };

  const std::string& trace_;
  const replay::ReplayOptions& o_;
  AutoOptions a_;
  std::unique_ptr<analyze::Analyzer> analyzer_;
  std::vector<SignatureStatus> signatures_;
  std::vector<int> queued_;  // per signature: targeted runs queued so far
  std::deque<Attempt> queue_;
  Current current_;
  uint64_t pos_runs_ = 0;
  int failures_ = 0;
  bool last_failed_ = false;
  bool pos_allowed_ = true;
};

// The seed of the run a replay history records: its header's source is the
// command that repeats the run (replay::RunSpec). A history without one
// (not made by replay) counts from seed 1.
uint64_t SeedOfHistory(const trace::TraceHeader& header) {
  auto spec = replay::RunSpec::ParseCommand(header.source);
  return spec.ok() ? spec->seed : 1;
}

}  // namespace

Result<AutoSummary> ConfirmPredictions(const std::string& history_path,
                                       const std::string& trace_path,
                                       const replay::ReplayOptions& options,
                                       const AutoOptions& auto_options) {
  analyze::AnalyzerOptions ao;
  ao.rules = auto_options.rules;
  ao.candidates_per_signature =
      static_cast<size_t>(auto_options.targeted_runs_per_rule) * auto_options.foci_per_run;
  auto analysis = analyze::AnalyzeTrace(history_path, ao);
  if (!analysis.ok()) return analysis.status();
  Campaign campaign(trace_path, options, auto_options);
  campaign.Predict(analysis->candidates, SeedOfHistory(analysis->header));
  replay::ReplayOptions o = options;
  o.runs = auto_options.targeted_runs_per_rule * 2 + 1;  // rules x runs each, plus the joint one
  o.next_run = [&campaign](int run) { return campaign.Next(run); };
  o.observe = [&campaign](const trace::EngineRecord& e) { campaign.Observe(e); };
  o.observe_site = [&campaign](const trace::SiteRecord& s) { campaign.ObserveSite(s); };
  o.on_run = [&campaign](int, int, bool failed) { campaign.RunDone(failed); };
  auto summary = replay::Replay(trace_path, o);
  if (!summary.ok()) return summary.status();
  AutoSummary result = campaign.Finish(std::move(summary).value());
  // The runs may show a rule that was not asked for: not part of the answer.
  std::erase_if(result.signatures, [&auto_options](const SignatureStatus& s) {
    auto rule = analyze::ParseRules(s.rule);
    if (!rule.ok()) return false;
    for (size_t i = 0; i < analyze::kRuleCount; ++i) {
      const auto id = static_cast<analyze::RuleId>(i);
      if (rule->Has(id) && !auto_options.rules.Has(id)) return true;
    }
    return false;
  });
  return result;
}

Result<AutoSummary> ReplayAuto(const std::string& trace_path, const replay::ReplayOptions& options,
                               const AutoOptions& auto_options) {
  Campaign campaign(trace_path, options, auto_options);
  replay::ReplayOptions o = options;
  o.strategy = sched::Strategy::kPos;
  o.focus.clear();
  o.next_run = [&campaign](int run) { return campaign.Next(run); };
  o.observe = [&campaign](const trace::EngineRecord& e) { campaign.Observe(e); };
  o.observe_site = [&campaign](const trace::SiteRecord& s) { campaign.ObserveSite(s); };
  auto user_on_run = options.on_run;
  o.on_run = [&campaign, user_on_run](int run, int runs, bool failed) {
    campaign.RunDone(failed);
    if (user_on_run) user_on_run(run, runs, failed);
  };
  auto summary = replay::Replay(trace_path, o);
  if (!summary.ok()) return summary.status();
  return campaign.Finish(std::move(summary).value());
}

Result<AutoSummary> Explore(const std::string& trace_path, const replay::ReplayOptions& options,
                            const std::optional<AutoOptions>& auto_options) {
  if (auto_options && options.backend == replay::Backend::kEngine)
    return ReplayAuto(trace_path, options, *auto_options);
  auto res = replay::Replay(trace_path, options);
  if (!res.ok()) return res.status();
  AutoSummary out;
  out.replay = std::move(res).value();
  return out;
}

}  // namespace ordo::lab
