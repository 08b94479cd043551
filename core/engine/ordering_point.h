// Ordering points: one call at every step of the engine where order matters.
// Each point (1) yields to the controlled scheduler, (2) records an engine
// event to the history sink, (3) fires the USDT probe ordo:point. With none of
// these attached the cost is one predictable branch (ORDO_POINT).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "ordo/engine/history.h"
#include "ordo/sched/scheduler.h"
#include "ordo/trace/record.h"

// USDT semaphores: nonzero while a tracer is attached to the probe.
extern "C" {
extern volatile unsigned short ordo_point_semaphore;
extern volatile unsigned short ordo_request_semaphore;
}

namespace ordo::engine {

using trace::EngineEventKind;

// The pending step an ordering point announces to the scheduler: its site is
// the event kind + 1 (0 means "no step"), its object the block key.
inline uint32_t StepSite(EngineEventKind kind) { return static_cast<uint32_t>(kind) + 1; }
sched::Access StepAccess(EngineEventKind kind);


class OrderingPoints {
 public:
  OrderingPoints(HistorySink* history, sched::Scheduler* scheduler)
      : history_(history),
        scheduler_(scheduler),
        active_(history != nullptr || (scheduler != nullptr && scheduler->controlled())) {}

  bool active() const { return active_; }
  // The slow path behind ORDO_POINT (and ORDO_OBSERVE, which does not yield).
  void Hit(EngineEventKind kind, uint64_t block, uint64_t arg, bool yield = true);
  // An API request (fires ordo:request for capture): op, file id, offset, length.
  static void Request(trace::IoOp op, uint32_t file, uint64_t offset, uint64_t length) {
    if (__builtin_expect(ordo_request_semaphore != 0, 0)) FireRequest(op, file, offset, length);
  }

 private:
  static void FireRequest(trace::IoOp op, uint32_t file, uint64_t offset, uint64_t length);
  HistorySink* history_;
  sched::Scheduler* scheduler_;
  bool active_;
  std::mutex mu_;  // serializes history records in uncontrolled runs
  uint64_t seq_ = 0;
};

}  // namespace ordo::engine

#define ORDO_POINT(points, kind, block, arg)                                 \
  do {                                                                       \
    if (__builtin_expect((points).active() || ordo_point_semaphore != 0, 0)) \
      (points).Hit(::ordo::trace::EngineEventKind::kind, (block), (arg));    \
  } while (0)

// A step recorded (history, USDT) but not a place to switch threads: what
// happened is seen, the schedules explored (and so every seed) stay the same.
#define ORDO_OBSERVE(points, kind, block, arg)                                   \
  do {                                                                           \
    if (__builtin_expect((points).active() || ordo_point_semaphore != 0, 0))     \
      (points).Hit(::ordo::trace::EngineEventKind::kind, (block), (arg), false); \
  } while (0)
