// How the controlled strategies pick the next thread: PCT's change points, POS
// priorities, a directed plan, and the targeted holds that pair a held
// thread's step with a partner's (docs/exploration.md).
#include "scheduler_impl.h"

namespace ordo::sched {

// PCT over racing decisions only: a change point placed where nothing races
// would be wasted (Coyote and Shuttle count the same way).
int Scheduler::Impl::ChoosePct(const std::vector<int>& enabled, bool racing) {
  auto highest = [&] {
    int best = enabled[0];
    for (int i : enabled) {
      if (threads[i]->priority > threads[best]->priority) best = i;
    }
    return best;
  };
  int h = highest();
  while (racing && changes_done < change_points.size() &&
         change_points[changes_done] <= racing_steps) {
    // PCT change point: the thread about to run drops below every initial priority.
    threads[h]->priority = change_points.size() - changes_done;
    ++changes_done;
    h = highest();
  }
  return h;
}

// POS: the pending step with the highest priority runs.
int Scheduler::Impl::ChoosePos(const std::vector<int>& enabled) const {
  int best = enabled[0];
  for (int i : enabled) {
    if (threads[i]->pos_priority > threads[best]->pos_priority) best = i;
  }
  return best;
}

// The hold rules that apply to thread `index` about to take `step`.
void Scheduler::Impl::RulesFor(int index, const PendingStep& step,
                               std::vector<std::pair<size_t, const HoldRule*>>* out) const {
  out->clear();
  for (size_t i = 0; i < options.targets.size(); ++i) {
    const Target& tg = options.targets[i];
    if (!tg.any_object && (!Accesses(step.access) || step.object != tg.object)) continue;
    for (const HoldRule& r : tg.rules) {
      const bool at = r.held_site != 0 ? r.held_site == step.site : r.held_access == step.access;
      if (at && (r.held_thread < 0 || r.held_thread == index) && r.except_thread != index &&
          (!r.after_match || target_matched[i]) && HeldPrior(*threads[index], step, r)) {
        out->emplace_back(i, &r);
      }
    }
  }
}

bool Scheduler::Impl::HeldPrior(const ThreadInfo& t, const PendingStep& step, const HoldRule& r) {
  if (r.held_holds_object && !t.Holds(step.object)) return false;
  if (r.held_prior_access == Access::kNone) return true;
  const bool prior =
      t.last_taken.access == r.held_prior_access && t.last_taken.object == step.object;
  return prior != r.held_prior_negated;
}

bool Scheduler::Impl::PartnerReady(const ThreadInfo& u, const ThreadInfo& held,
                                   const HoldRule& r) const {
  const uint64_t o = held.pending.object;
  const bool at =
      r.partner_site != 0 ? u.pending.site == r.partner_site : u.pending.access == r.partner_access;
  if (!at || u.pending.object > o || o - u.pending.object > r.partner_span) {
    return false;
  }
  if (r.partner_holds_object && !u.Holds(u.pending.object)) return false;
  if (r.partner_prior_site == 0 && r.partner_prior_access == Access::kNone) return true;
  const bool prior = r.partner_prior_site != 0 ? u.last_taken.site == r.partner_prior_site
                                               : u.last_taken.access == r.partner_prior_access;
  const bool during = r.partner_prior_site != 0 || r.partner_prior_during_hold;
  return prior && u.last_taken.object == u.pending.object &&
         (!during || u.last_taken_at >= held.hold_start);
}

// Targeted: returns a thread the target forces now, or -1 after removing the
// held threads from `enabled` (never all of them).
int Scheduler::Impl::ApplyHolds(std::vector<int>* enabled) {
  if (then_run >= 0) {
    int u = then_run;
    then_run = -1;
    if (std::find(enabled->begin(), enabled->end(), u) != enabled->end() &&
        threads[u]->pending.site == then_site) {
      return u;
    }
  }
  std::vector<int> free;
  std::vector<std::pair<size_t, const HoldRule*>> rules;
  if (target_matched.size() != options.targets.size())
    target_matched.assign(options.targets.size(), false);
  int oldest = -1;
  for (int t : *enabled) {
    ThreadInfo& ti = *threads[t];
    if (!ti.hold_done) RulesFor(t, ti.pending, &rules);
    if (ti.hold_done || rules.empty()) {
      free.push_back(t);
      continue;
    }
    if (!ti.holding) {
      ti.holding = true;
      ti.hold_start = decisions;
      ++hold_stats.started;
    }
    uint64_t budget = 0;
    for (const auto& [tg, r] : rules) {
      budget = std::max(budget, options.targets[tg].budget);
      for (int u : *enabled) {
        if (u == t || !PartnerReady(*threads[u], ti, *r)) continue;
        ++hold_stats.matched;
        target_matched[tg] = true;
        ti.holding = false;
        ti.hold_done = true;
        if (!r->held_first) return u;
        then_run = u;
        then_site = threads[u]->pending.site;
        return t;
      }
    }
    if (decisions - ti.hold_start > budget) {
      ti.holding = false;
      ti.hold_done = true;
      ++hold_stats.expired;
      free.push_back(t);
      continue;
    }
    if (oldest < 0 || ti.hold_start < threads[oldest]->hold_start) oldest = t;
  }
  if (free.empty()) {  // everyone able to run is held: the oldest hold gives way
    ThreadInfo& ti = *threads[oldest];
    ti.holding = false;
    ti.hold_done = true;
    ++hold_stats.expired;
    free.push_back(oldest);
  }
  *enabled = std::move(free);
  return -1;
}

int Scheduler::Impl::ChooseDirected(const std::vector<int>& enabled) {
  const auto& plan = options.directed;
  if (enabled.size() > 1) ++steps;
  while (directed_pos < plan.size()) {
    const DirectedStep& step = plan[directed_pos];
    bool exists = step.thread < static_cast<int>(threads.size());
    bool runnable =
        exists && std::find(enabled.begin(), enabled.end(), step.thread) != enabled.end();
    bool exited = exists && threads[step.thread]->exited;
    if (runnable) {
      uint32_t label = threads[step.thread]->pending.site;
      bool at_stop = step.until_label != 0 && label == step.until_label;
      if (at_stop && directed_seen < step.skip) {
        ++directed_seen;
        at_stop = false;
      }
      if (!at_stop) {
        directed_started = true;
        return step.thread;
      }
    } else if (!exited && (step.until_label != 0 || !directed_started)) {
      return enabled[0];  // blocked before its stop: others go first
    }
    ++directed_pos;  // reached its stop, or exited
    directed_seen = 0;
    directed_started = false;
  }
  return enabled[0];
}

}  // namespace ordo::sched
