#include "ordo/sched/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace ordo::sched {

namespace {

struct ThreadInfo {
  std::string name;
  std::thread thread;
  bool exited = false;
  bool joined = false;
  const std::function<bool()>* waiting = nullptr;  // the predicate it blocks on
  uint64_t priority = 0;                           // PCT: higher runs first
  uint32_t label = 0;                              // the step it is about to take
  std::condition_variable cv;                      // signalled when it gets the baton
};

thread_local int tls_index = -1;
thread_local const void* tls_scheduler = nullptr;

}  // namespace

struct Scheduler::Impl {
  SchedulerOptions options;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<ThreadInfo>> threads;
  int current = -1;  // holder of the baton; -1 when nobody holds it
  uint64_t steps = 0;
  std::mt19937_64 rng;
  std::vector<uint64_t> change_points;  // PCT steps where a priority drops
  size_t changes_done = 0;
  size_t directed_pos = 0;  // current DirectedStep
  int directed_seen = 0;    // times the current step's label was passed
  bool directed_started = false;  // the current step's thread has run

  bool Enabled(const ThreadInfo& t) const {
    return !t.exited && (t.waiting == nullptr || (*t.waiting)());
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
      std::fprintf(stderr, "ordo scheduler: deadlock: every live thread is blocked:");
      for (const auto& t : threads) {
        if (!t->exited) std::fprintf(stderr, " %s", t->name.c_str());
      }
      std::fprintf(stderr, "\n");
      std::abort();
    }
    if (options.strategy == Strategy::kDirected) return ChooseDirected(enabled);
    if (enabled.size() == 1) return enabled[0];
    ++steps;
    if (options.strategy == Strategy::kRandom) return enabled[rng() % enabled.size()];
    auto highest = [&] {
      int best = enabled[0];
      for (int i : enabled) {
        if (threads[i]->priority > threads[best]->priority) best = i;
      }
      return best;
    };
    int h = highest();
    while (changes_done < change_points.size() && change_points[changes_done] <= steps) {
      // PCT change point: the thread about to run drops below every initial priority.
      threads[h]->priority = change_points.size() - changes_done;
      ++changes_done;
      h = highest();
    }
    return h;
  }

  int ChooseDirected(const std::vector<int>& enabled) {
    const auto& plan = options.directed;
    if (enabled.size() > 1) ++steps;
    while (directed_pos < plan.size()) {
      const DirectedStep& step = plan[directed_pos];
      bool exists = step.thread < static_cast<int>(threads.size());
      bool runnable = exists && std::find(enabled.begin(), enabled.end(), step.thread) != enabled.end();
      bool exited = exists && threads[step.thread]->exited;
      if (runnable) {
        uint32_t label = threads[step.thread]->label;
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
    threads.push_back(std::move(t));
    return static_cast<int>(threads.size() - 1);
  }
};

Scheduler::Scheduler(const SchedulerOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->rng.seed(options.seed);
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

void Scheduler::Yield(uint32_t label) {
  if (!controlled() || CurrentIndex() < 0) return;
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->threads[tls_index]->label = label;
  impl_->PassBaton(lock, tls_index);
  impl_->threads[tls_index]->label = 0;
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
