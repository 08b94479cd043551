#include "ordo/sched/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace ordo::sched {

namespace {
void (*g_deadlock_reporter)(const std::string&) = nullptr;
}  // namespace

void SetDeadlockReporter(void (*report)(const std::string& what)) { g_deadlock_reporter = report; }

namespace {

struct ThreadInfo {
  std::string name;
  std::thread thread;
  bool exited = false;
  bool joined = false;
  const std::function<bool()>* waiting = nullptr;  // the predicate it blocks on
  uint64_t priority = 0;                           // PCT: higher runs first
  PendingStep pending;                             // the step it is about to take
  uint64_t pos_priority = 0;                       // POS: of the pending step
  // The hold (targeted) on its pending step: begun at decision hold_start;
  // hold_done once matched or given up, until it announces its next step.
  bool holding = false;
  bool hold_done = false;
  uint64_t hold_start = 0;
  PendingStep last_taken;      // the step it took last
  uint64_t last_taken_at = 0;  // at which decision
  // Objects it announced an acquire of and no release since (a few at most).
  std::vector<uint64_t> held_objects;
  bool Holds(uint64_t object) const {
    return std::find(held_objects.begin(), held_objects.end(), object) != held_objects.end();
  }
  std::condition_variable cv;  // signalled when it gets the baton
};

thread_local int tls_index = -1;
thread_local const void* tls_scheduler = nullptr;

}  // namespace

struct Scheduler::Impl {
  SchedulerOptions options;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<ThreadInfo>> threads;
  int current = -1;           // holder of the baton; -1 when nobody holds it
  uint64_t steps = 0;         // decisions among two or more enabled threads
  uint64_t racing_steps = 0;  // ... of which some enabled steps raced
  uint64_t decisions = 0;     // every decision
  std::mt19937_64 rng;
  std::mt19937_64 pos_rng;  // POS priorities (apart, so other strategies keep their seeds)
  std::vector<uint64_t> change_points;  // PCT racing steps where a priority drops
  size_t changes_done = 0;
  size_t directed_pos = 0;        // current DirectedStep
  int directed_seen = 0;          // times the current step's label was passed
  bool directed_started = false;  // the current step's thread has run
  // Targeted: the partner that must run right after a held-first thread.
  int then_run = -1;
  uint32_t then_site = 0;
  HoldStats hold_stats;
  std::vector<bool> target_matched;  // per target: a rule has matched

  bool Enabled(const ThreadInfo& t) const {
    return !t.exited && (t.waiting == nullptr || (*t.waiting)());
  }
  bool PosLike() const {
    return options.strategy == Strategy::kPos || options.strategy == Strategy::kTargeted;
  }

  // A thread's next step is known: a fresh POS priority, no hold yet.
  void Announce(ThreadInfo& t, const PendingStep& step) {
    t.pending = step;
    if (PosLike()) t.pos_priority = pos_rng();
    t.holding = t.hold_done = false;
  }

  // A decision where the order can matter: at least two of the enabled
  // threads may be about to access an object (an announced access, or a step
  // not yet known: a thread that has not run, or wakes from a wait). Only
  // steps announced as no access (request boundaries, thread start) are left
  // out. Strict races (same object, both pending) are too rare to count on:
  // a write's lock..publish window spans several steps of the writer.
  bool AnyRacing(const std::vector<int>& enabled) const {
    int accessing = 0;
    for (int i : enabled) {
      const PendingStep& p = threads[i]->pending;
      if ((p.site == 0 || Accesses(p.access)) && ++accessing == 2) return true;
    }
    return false;
  }

  // Picks the next baton holder among enabled threads. Called with `mu` held
  // by the thread that holds the baton (or is giving it up).
  int Choose() {
    std::vector<int> enabled;
    for (size_t i = 0; i < threads.size(); ++i) {
      if (Enabled(*threads[i])) enabled.push_back(static_cast<int>(i));
    }
    if (enabled.empty()) {
      bool anyone_alive = false;
      for (const auto& t : threads) anyone_alive |= !t->exited;
      if (!anyone_alive) return -1;
      std::string what = "every live thread is blocked:";
      for (const auto& t : threads) {
        if (!t->exited) what += " " + t->name;
      }
      if (g_deadlock_reporter != nullptr) g_deadlock_reporter(what);
      std::fprintf(stderr, "ordo scheduler: deadlock: %s\n", what.c_str());
      std::abort();
    }
    ++decisions;
    if (options.strategy == Strategy::kDirected) return ChooseDirected(enabled);
    int pick = -1;
    if (options.strategy == Strategy::kTargeted && !options.targets.empty()) {
      pick = ApplyHolds(&enabled);
    }
    if (pick < 0 && enabled.size() == 1) pick = enabled[0];
    if (pick < 0) {
      ++steps;
      bool racing = AnyRacing(enabled);
      if (racing) ++racing_steps;
      switch (options.strategy) {
        case Strategy::kRandom:
          pick = enabled[rng() % enabled.size()];
          break;
        case Strategy::kPct:
          pick = ChoosePct(enabled, racing);
          break;
        default:
          pick = ChoosePos(enabled);
          break;
      }
    }
    Took(pick);
    return pick;
  }

  // PCT over racing decisions only: a change point placed where nothing races
  // would be wasted (Coyote and Shuttle count the same way).
  int ChoosePct(const std::vector<int>& enabled, bool racing) {
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
  int ChoosePos(const std::vector<int>& enabled) const {
    int best = enabled[0];
    for (int i : enabled) {
      if (threads[i]->pos_priority > threads[best]->pos_priority) best = i;
    }
    return best;
  }

  // Bookkeeping of the step `pick` now takes. POS re-draws the priorities of
  // the pending steps that race with it (the heart of partial order sampling).
  void Took(int pick) {
    ThreadInfo& t = *threads[pick];
    t.last_taken = t.pending;
    t.last_taken_at = decisions;
    if (t.pending.access == Access::kAcquire && !t.Holds(t.pending.object) &&
        t.held_objects.size() < 64) {
      t.held_objects.push_back(t.pending.object);
    } else if (t.pending.access == Access::kRelease) {
      auto it = std::find(t.held_objects.begin(), t.held_objects.end(), t.pending.object);
      if (it != t.held_objects.end()) t.held_objects.erase(it);
    }
    if (!PosLike()) return;
    for (size_t i = 0; i < threads.size(); ++i) {
      if (static_cast<int>(i) != pick && Races(threads[i]->pending, t.pending)) {
        threads[i]->pos_priority = pos_rng();
      }
    }
  }

  // The hold rules that apply to thread `index` about to take `step`.
  void RulesFor(int index, const PendingStep& step,
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

  static bool HeldPrior(const ThreadInfo& t, const PendingStep& step, const HoldRule& r) {
    if (r.held_holds_object && !t.Holds(step.object)) return false;
    if (r.held_prior_access == Access::kNone) return true;
    const bool prior =
        t.last_taken.access == r.held_prior_access && t.last_taken.object == step.object;
    return prior != r.held_prior_negated;
  }

  bool PartnerReady(const ThreadInfo& u, const ThreadInfo& held, const HoldRule& r) const {
    const uint64_t o = held.pending.object;
    const bool at = r.partner_site != 0 ? u.pending.site == r.partner_site
                                        : u.pending.access == r.partner_access;
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
  int ApplyHolds(std::vector<int>* enabled) {
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

  int ChooseDirected(const std::vector<int>& enabled) {
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

  void WaitForBaton(std::unique_lock<std::mutex>& lock, int self) {
    ThreadInfo& me = *threads[self];
    me.cv.wait(lock, [&] { return current == self; });
  }

  // Hands the baton to the strategy's choice and waits to get it back. Only
  // the chosen thread is woken (no thundering herd at every ordering point).
  void PassBaton(std::unique_lock<std::mutex>& lock, int self) {
    int next = Choose();
    current = next;
    if (next == self) return;
    if (next >= 0) threads[next]->cv.notify_one();
    cv.notify_all();  // joiners polling in uncontrolled code paths
    if (self >= 0 && !threads[self]->exited) WaitForBaton(lock, self);
  }

  int Register(std::string name) {
    auto t = std::make_unique<ThreadInfo>();
    t->name = std::move(name);
    // Initial PCT priorities are all above the change-point priorities.
    t->priority = static_cast<uint64_t>(options.depth) + 1 + (rng() >> 8);
    Announce(*t, PendingStep{});
    threads.push_back(std::move(t));
    return static_cast<int>(threads.size() - 1);
  }
};

std::string_view StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kFree:
      return "none";
    case Strategy::kRandom:
      return "random";
    case Strategy::kPct:
      return "pct";
    case Strategy::kDirected:
      return "directed";
    case Strategy::kPos:
      return "pos";
    case Strategy::kTargeted:
      return "targeted";
  }
  return "none";
}

bool ParseStrategy(std::string_view name, Strategy* strategy) {
  for (Strategy s : {Strategy::kFree, Strategy::kRandom, Strategy::kPct, Strategy::kDirected,
                     Strategy::kPos, Strategy::kTargeted}) {
    if (StrategyName(s) == name) {
      *strategy = s;
      return true;
    }
  }
  return false;
}

std::string_view AccessName(Access access) {
  static constexpr std::string_view kNames[] = {
      "none",       "acquire",  "release",   "read",   "write",       "fill",    "publish",
      "mark_clean", "flag_set", "flag_read", "verify", "verify_fail", "request", "fill_clean"};
  size_t i = static_cast<size_t>(access);
  return i < std::size(kNames) ? kNames[i] : "none";
}

bool WriteLike(Access access) {
  switch (access) {
    case Access::kAcquire:
    case Access::kRelease:
    case Access::kWrite:
    case Access::kPublish:
    case Access::kMarkClean:
    case Access::kFlagSet:
    case Access::kFillClean:
      return true;
    default:
      return false;
  }
}

Scheduler::Scheduler(const SchedulerOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->rng.seed(options.seed);
  impl_->pos_rng.seed(options.seed ^ 0x9e3779b97f4a7c15ull);
  if (options.strategy == Strategy::kPct) {
    uint64_t k = options.steps_estimate > 0 ? options.steps_estimate : 1;
    for (int i = 1; i < options.depth; ++i) impl_->change_points.push_back(1 + impl_->rng() % k);
    std::sort(impl_->change_points.begin(), impl_->change_points.end());
  }
}

Scheduler::~Scheduler() {
  for (auto& t : impl_->threads) {
    if (t->thread.joinable()) t->thread.join();
  }
}

bool Scheduler::controlled() const { return impl_->options.strategy != Strategy::kFree; }
const SchedulerOptions& Scheduler::options() const { return impl_->options; }
uint64_t Scheduler::steps() const { return impl_->steps; }
uint64_t Scheduler::racing_steps() const { return impl_->racing_steps; }
HoldStats Scheduler::holds() const { return impl_->hold_stats; }

std::vector<std::string> Scheduler::ThreadNames() const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  std::vector<std::string> names;
  for (const auto& t : impl_->threads) names.push_back(t->name);
  return names;
}

int Scheduler::CurrentIndex() const { return tls_scheduler == this ? tls_index : -1; }

int Scheduler::Spawn(std::string name, std::function<void()> fn) {
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lock(s.mu);
  int index = s.Register(std::move(name));
  bool control = controlled();
  if (control && s.current == -1) s.current = index;  // spawned from outside control
  s.threads[index]->thread = std::thread([this, index, control, fn = std::move(fn)] {
    tls_index = index;
    tls_scheduler = this;
    if (control) {
      std::unique_lock<std::mutex> l(impl_->mu);
      impl_->WaitForBaton(l, index);
    }
    fn();
    std::unique_lock<std::mutex> l(impl_->mu);
    impl_->threads[index]->exited = true;
    if (control) impl_->PassBaton(l, index);
    impl_->cv.notify_all();
  });
  return index;
}

void Scheduler::Join(int index) {
  WaitUntil([this, index] { return impl_->threads[index]->exited; });
  std::thread t;
  {
    std::unique_lock<std::mutex> lock(impl_->mu);
    if (impl_->threads[index]->joined) return;
    impl_->threads[index]->joined = true;
    t = std::move(impl_->threads[index]->thread);
  }
  if (t.joinable()) t.join();
}

int Scheduler::Attach(std::string name) {
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lock(s.mu);
  int index = s.Register(std::move(name));
  tls_index = index;
  tls_scheduler = this;
  if (controlled()) {
    if (s.current == -1) s.current = index;
    s.WaitForBaton(lock, index);
  }
  return index;
}

void Scheduler::Detach() {
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lock(s.mu);
  int self = tls_index;
  if (self < 0) return;
  s.threads[self]->exited = true;
  s.threads[self]->joined = true;
  if (controlled()) s.PassBaton(lock, self);
  s.cv.notify_all();
  tls_index = -1;
  tls_scheduler = nullptr;
}

void Scheduler::Yield(const PendingStep& step) {
  if (!controlled() || CurrentIndex() < 0) return;
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->Announce(*impl_->threads[tls_index], step);
  impl_->PassBaton(lock, tls_index);
}

void Scheduler::WaitUntil(const std::function<bool()>& ready) {
  int self = CurrentIndex();
  if (!controlled() || self < 0) {
    // Uncontrolled: poll under the scheduler's mutex, sleeping briefly. Used
    // only where waits are rare (joins, quiesce); hot waits go through CondVar.
    std::unique_lock<std::mutex> lock(impl_->mu);
    while (!ready()) impl_->cv.wait_for(lock, std::chrono::milliseconds(1));
    return;
  }
  std::unique_lock<std::mutex> lock(impl_->mu);
  while (!ready()) {
    impl_->Announce(*impl_->threads[self], PendingStep{});
    impl_->threads[self]->waiting = &ready;
    impl_->PassBaton(lock, self);
    impl_->threads[self]->waiting = nullptr;
  }
}

void Mutex::lock() {
  if (!scheduler_->controlled()) {
    free_mutex_.lock();
    held_ = true;
    return;
  }
  scheduler_->WaitUntil([this] { return !held_; });
  held_ = true;
}

bool Mutex::try_lock() {
  if (!scheduler_->controlled()) {
    if (!free_mutex_.try_lock()) return false;
    held_ = true;
    return true;
  }
  if (held_) return false;
  held_ = true;
  return true;
}

void Mutex::unlock() {
  held_ = false;
  if (!scheduler_->controlled()) free_mutex_.unlock();
}

void CondVar::Wait(Mutex& mutex, const std::function<bool()>& ready) {
  if (!scheduler_->controlled()) {
    free_cv_.wait(mutex, ready);
    return;
  }
  if (ready()) return;
  mutex.unlock();
  scheduler_->WaitUntil([&] { return !mutex.locked() && ready(); });
  mutex.lock();
}

void CondVar::NotifyAll() {
  if (!scheduler_->controlled()) free_cv_.notify_all();
}

}  // namespace ordo::sched
