// Ordering points: one call at every step of the engine where order matters.
// Each is a site of the engine ABI (site k + 1 for EngineEventKind k, as
// trace::EngineKindSites() lists them), announced to the host: under ordo the
// host yields to its scheduler and records the history event; the engine's
// own free-running host fires the USDT probe ordo:point.
#pragma once

#include <array>
#include <cstdint>

#include "ordo/engine_abi.h"
#include "ordo/status.h"
#include "ordo/trace/record.h"
#include "ordo/util/usdt.h"

namespace ordo::engine {

using trace::EngineEventKind;

class OrderingPoints {
 public:
  // Registers every site with `host`, which must outlive this object.
  Status Register(const ordo_host* host);

  // The thread is about to take the step (it may be switched out first).
  void Point(EngineEventKind kind, uint64_t block, uint64_t arg) {
    host_->point(host_->ctx, site_[static_cast<size_t>(kind)], block, arg);
  }
  // A step recorded but not a place to switch threads: what happened is
  // seen, the schedules explored (and so every seed) stay the same.
  void Observe(EngineEventKind kind, uint64_t block, uint64_t arg) {
    host_->observe(host_->ctx, site_[static_cast<size_t>(kind)], block, arg);
  }
  // An API request (fires ordo:request for capture): op, file id, offset, length.
  static void Request(trace::IoOp op, uint32_t file, uint64_t offset, uint64_t length) {
    if (__builtin_expect(ordo_request_semaphore != 0, 0)) FireRequest(op, file, offset, length);
  }

 private:
  static void FireRequest(trace::IoOp op, uint32_t file, uint64_t offset, uint64_t length);
  const ordo_host* host_ = nullptr;
  std::array<uint32_t, static_cast<size_t>(EngineEventKind::kCount)> site_{};
};

}  // namespace ordo::engine

#define ORDO_POINT(points, kind, block, arg) \
  (points).Point(::ordo::trace::EngineEventKind::kind, (block), (arg))
#define ORDO_OBSERVE(points, kind, block, arg) \
  (points).Observe(::ordo::trace::EngineEventKind::kind, (block), (arg))
