#include "ordo/sched/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "scheduler_impl.h"

namespace ordo::sched {

namespace {

void (*g_deadlock_reporter)(const std::string&) = nullptr;
thread_local int tls_index = -1;
thread_local const void* tls_scheduler = nullptr;

}  // namespace

void SetDeadlockReporter(void (*report)(const std::string& what)) { g_deadlock_reporter = report; }

bool Scheduler::Impl::Enabled(const ThreadInfo& t) const {
  return !t.exited && (t.waiting == nullptr || (*t.waiting)());
}

bool Scheduler::Impl::PosLike() const {
  return options.strategy == Strategy::kPos || options.strategy == Strategy::kTargeted;
}

// A thread's next step is known: a fresh POS priority, no hold yet.
void Scheduler::Impl::Announce(ThreadInfo& t, const PendingStep& step) {
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
bool Scheduler::Impl::AnyRacing(const std::vector<int>& enabled) const {
  int accessing = 0;
  for (int i : enabled) {
    const PendingStep& p = threads[i]->pending;
    if ((p.site == 0 || Accesses(p.access)) && ++accessing == 2) return true;
  }
  return false;
}

// Picks the next baton holder among enabled threads. Called with `mu` held
// by the thread that holds the baton (or is giving it up).
int Scheduler::Impl::Choose() {
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

// Bookkeeping of the step `pick` now takes. POS re-draws the priorities of
// the pending steps that race with it (the heart of partial order sampling).
void Scheduler::Impl::Took(int pick) {
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

void Scheduler::Impl::WaitForBaton(std::unique_lock<std::mutex>& lock, int self) {
  ThreadInfo& me = *threads[self];
  me.cv.wait(lock, [&] { return current == self; });
}

// Hands the baton to the strategy's choice and waits to get it back. Only
// the chosen thread is woken (no thundering herd at every ordering point).
void Scheduler::Impl::PassBaton(std::unique_lock<std::mutex>& lock, int self) {
  int next = Choose();
  current = next;
  if (next == self) return;
  if (next >= 0) threads[next]->cv.notify_one();
  cv.notify_all();  // joiners polling in uncontrolled code paths
  if (self >= 0 && !threads[self]->exited) WaitForBaton(lock, self);
}

int Scheduler::Impl::Register(std::string name) {
  auto t = std::make_unique<ThreadInfo>();
  t->name = std::move(name);
  // Initial PCT priorities are all above the change-point priorities.
  t->priority = static_cast<uint64_t>(options.depth) + 1 + (rng() >> 8);
  Announce(*t, PendingStep{});
  threads.push_back(std::move(t));
  return static_cast<int>(threads.size() - 1);
}

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
