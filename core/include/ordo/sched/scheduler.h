// The controlled scheduler: real threads, one running at a time, the baton
// passed at ordering points, so a seed decides the interleaving and the same
// inputs + seed give the same history, byte for byte.
//
// Every thread that touches controlled state must take part: it is started
// with Spawn() (or joins with Attach()), yields at ordering points, blocks
// only through WaitUntil() (or sched::Mutex / sched::CondVar, which use it),
// and leaves when its function returns (or with Detach()). Under kFree the
// same calls map to plain threads, mutexes and condition variables.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ordo/sched/step.h"

namespace ordo::sched {

enum class Strategy {
  kFree,      // no control: real concurrency and timing
  kRandom,    // seeded random walk: any enabled thread, uniformly
  kPct,       // probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010)
  kDirected,  // follow SchedulerOptions::directed, then lowest index first
  kPos,       // partial order sampling (Yuan, Yang, Gu, CAV 2018)
  kTargeted,  // POS, plus the holds of SchedulerOptions::targets
};

// The one spelling of each strategy ("none", "random", "pct", "directed",
// "pos", "targeted"), for command lines, summaries and histories.
std::string_view StrategyName(Strategy strategy);
bool ParseStrategy(std::string_view name, Strategy* strategy);

// Under control, when every live thread is blocked the run cannot go on:
// the scheduler names the blocked threads on stderr and aborts. A process that
// makes one run and reports it (replay's child per run) may install this to
// be told first, with that text ("every live thread is blocked: ..."); it
// should end the process without returning.
void SetDeadlockReporter(void (*report)(const std::string& what));

// One step of a directed schedule: run thread `thread` until it is about to
// take a step labelled `until_label` (see Yield) for the (skip + 1)-th time,
// or, with until_label 0, until it blocks after running; then the next step.
// While the thread is blocked before its stop, other threads run (lowest
// index first). A thread that exits ends its step.
struct DirectedStep {
  int thread = 0;
  uint32_t until_label = 0;
  int skip = 0;
};

struct SchedulerOptions {
  Strategy strategy = Strategy::kFree;
  uint64_t seed = 1;
  // PCT: bug depth d (d - 1 priority change points) and an estimate of the
  // number of scheduling steps over which the change points are spread.
  int depth = 3;
  uint64_t steps_estimate = 2000;
  std::vector<DirectedStep> directed;  // for kDirected
  // Race confirmation: holds that force an ordering (see HoldRule). Applied
  // under kTargeted; the other strategies ignore them.
  std::vector<Target> targets;
};

// What the targets of a run did, for summaries and tests.
struct HoldStats {
  uint64_t started = 0;  // holds begun
  uint64_t matched = 0;  // a partner came and the order was forced
  uint64_t expired = 0;  // budget spent, or nobody else could run
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerOptions& options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  bool controlled() const;
  const SchedulerOptions& options() const;

  // Starts `fn` on a new thread that takes part in scheduling. Under control
  // the new thread waits for the baton; the caller keeps it. Returns the
  // thread's logical index (0, 1, ... in registration order).
  int Spawn(std::string name, std::function<void()> fn);
  // Waits (yielding the baton) until thread `index` has finished, then joins it.
  void Join(int index);
  // Makes the calling thread take part; it returns once it holds the baton.
  int Attach(std::string name);
  // The calling thread stops taking part (passes the baton on).
  void Detach();

  // An ordering point: under control, announces the step the caller is about
  // to take and lets the strategy pick the next thread (possibly the caller).
  // Directed schedules stop threads at `step.site`; POS and PCT use the
  // step's object and access to tell which pending steps race.
  void Yield(const PendingStep& step);
  void Yield(uint32_t site = 0) { Yield(PendingStep{site, 0, Access::kNone}); }
  // Blocks the caller until `ready()` is true. Under control the predicate is
  // evaluated only while the caller or the deciding thread holds the baton, so
  // it may read state that controlled threads change without locks.
  void WaitUntil(const std::function<bool()>& ready);

  // Logical index of the calling thread; -1 if it does not take part.
  int CurrentIndex() const;
  // Scheduling decisions made where more than one thread could run.
  uint64_t steps() const;
  // Decisions where two enabled threads had racing pending steps.
  uint64_t racing_steps() const;
  HoldStats holds() const;
  // The names given to Spawn/Attach, by logical index.
  std::vector<std::string> ThreadNames() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A mutex that may be held across ordering points. Under control, lock()
// yields while another thread holds it instead of blocking the baton holder.
class Mutex {
 public:
  explicit Mutex(Scheduler* scheduler) : scheduler_(scheduler) {}
  void lock();
  bool try_lock();
  void unlock();
  bool locked() const { return held_; }

 private:
  Scheduler* scheduler_;
  std::mutex free_mutex_;  // used under Strategy::kFree
  std::atomic<bool> held_{false};
};

// A condition variable for sched::Mutex.
class CondVar {
 public:
  explicit CondVar(Scheduler* scheduler) : scheduler_(scheduler) {}
  // Waits until `ready()` holds, with `mutex` held when it is evaluated and on return.
  void Wait(Mutex& mutex, const std::function<bool()>& ready);
  void NotifyAll();

 private:
  Scheduler* scheduler_;
  std::condition_variable_any free_cv_;
};

}  // namespace ordo::sched
