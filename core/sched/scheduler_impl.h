// Private to core/sched: the scheduler's state, shared by scheduler.cc (threads,
// the baton, decisions) and strategies.cc (how PCT, POS, directed and targeted
// exploration pick the next thread).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ordo/sched/scheduler.h"

namespace ordo::sched {

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

  // Not exited, and not blocked on a predicate that is still false.
  bool Enabled(const ThreadInfo& t) const;
  // POS and targeted (POS with holds) draw a priority per pending step.
  bool PosLike() const;

  // A thread's next step is known: a fresh POS priority, no hold yet.
  void Announce(ThreadInfo& t, const PendingStep& step);

  // A decision where the order can matter: at least two of the enabled
  // threads may be about to access an object (an announced access, or a step
  // not yet known: a thread that has not run, or wakes from a wait). Only
  // steps announced as no access (request boundaries, thread start) are left
  // out. Strict races (same object, both pending) are too rare to count on:
  // a write's lock..publish window spans several steps of the writer.
  bool AnyRacing(const std::vector<int>& enabled) const;

  // Picks the next baton holder among enabled threads. Called with `mu` held
  // by the thread that holds the baton (or is giving it up).
  int Choose();

  // PCT over racing decisions only: a change point placed where nothing races
  // would be wasted (Coyote and Shuttle count the same way).
  int ChoosePct(const std::vector<int>& enabled, bool racing);

  // POS: the pending step with the highest priority runs.
  int ChoosePos(const std::vector<int>& enabled) const;

  // Bookkeeping of the step `pick` now takes. POS re-draws the priorities of
  // the pending steps that race with it (the heart of partial order sampling).
  void Took(int pick);

  // The hold rules that apply to thread `index` about to take `step`.
  void RulesFor(int index, const PendingStep& step,
                std::vector<std::pair<size_t, const HoldRule*>>* out) const;

  // Whether `t`, about to take `step`, meets the rule's conditions on the held
  // thread (holds the object; its previous step was, or was not, an access).
  static bool HeldPrior(const ThreadInfo& t, const PendingStep& step, const HoldRule& r);
  // Whether `u` is the rule's partner for the thread `held` holds now.
  bool PartnerReady(const ThreadInfo& u, const ThreadInfo& held, const HoldRule& r) const;

  // Targeted: returns a thread the target forces now, or -1 after removing the
  // held threads from `enabled` (never all of them).
  int ApplyHolds(std::vector<int>* enabled);

  // Directed: the plan's current thread until it reaches its stop label.
  int ChooseDirected(const std::vector<int>& enabled);

  // Blocks (releasing `lock`) until thread `self` holds the baton.
  void WaitForBaton(std::unique_lock<std::mutex>& lock, int self);

  // Hands the baton to the strategy's choice and waits to get it back. Only
  // the chosen thread is woken (no thundering herd at every ordering point).
  void PassBaton(std::unique_lock<std::mutex>& lock, int self);

  // A new thread's state, with a fresh PCT priority; returns its index.
  int Register(std::string name);
};

}  // namespace ordo::sched
