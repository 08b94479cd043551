#include "ordering_point.h"

#include <sys/syscall.h>
#include <unistd.h>

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

extern "C" {
__attribute__((section(".probes"))) volatile unsigned short ordo_point_semaphore = 0;
__attribute__((section(".probes"))) volatile unsigned short ordo_request_semaphore = 0;
}

namespace ordo::engine {

sched::Access StepAccess(EngineEventKind kind) {
  using A = sched::Access;
  using K = EngineEventKind;
  switch (kind) {
    case K::kReadBegin:
      return A::kRead;
    case K::kWriteBegin:
      return A::kWrite;
    case K::kBlockLock:
      return A::kAcquire;
    case K::kBlockUnlock:
      return A::kRelease;
    case K::kBlockWrite:
      return A::kWrite;
    case K::kPrefetchIssue:
      return A::kRequest;
    case K::kPrefetchFill:
      return A::kFill;
    case K::kPrefetchMarkClean:
      return A::kMarkClean;
    case K::kCompactLastWritePending:
    case K::kCompactCacheReady:
      return A::kFlagSet;
    case K::kVerifyCheckCacheReady:
    case K::kVerifyCheckPending:
    case K::kVerifyCheckGeneration:
      return A::kFlagRead;
    case K::kVerifyOk:
      return A::kVerify;
    case K::kVerifyFail:
      return A::kVerifyFail;
    case K::kCacheFill:
      return A::kFillClean;
    case K::kCachePublish:
      return A::kPublish;
    default:
      return A::kNone;
  }
}

std::vector<trace::SiteRecord> BuiltinSites() {
  std::vector<trace::SiteRecord> sites;
  for (uint16_t k = 0; k < static_cast<uint16_t>(EngineEventKind::kCount); ++k) {
    const auto kind = static_cast<EngineEventKind>(k);
    sites.push_back(trace::SiteRecord{StepSite(kind), static_cast<uint8_t>(StepAccess(kind)),
                                      trace::EngineEventKindName(k)});
  }
  return sites;
}

void OrderingPoints::Hit(EngineEventKind kind, uint64_t block, uint64_t arg, bool yield) {
  // Yield first: the strategy decides who takes this step next; the event is
  // recorded by the thread that then performs it, so history order is effect order.
  if (yield && scheduler_ != nullptr && scheduler_->controlled())
    scheduler_->Yield(sched::PendingStep{StepSite(kind), block, StepAccess(kind)});
  int logical = scheduler_ != nullptr ? scheduler_->CurrentIndex() : -1;
  if (ordo_point_semaphore) {
    unsigned k = static_cast<unsigned>(kind);
    STAP_PROBE3(ordo, point, k, block, arg);
  }
  if (history_ == nullptr) return;
  trace::EngineRecord e;
  e.kind = static_cast<uint16_t>(kind);
  e.tid =
      logical >= 0 ? static_cast<uint32_t>(logical) : static_cast<uint32_t>(syscall(SYS_gettid));
  e.block = block;
  e.arg = arg;
  std::lock_guard<std::mutex> lock(mu_);
  e.seq = seq_++;
  history_->Record(e);
}

void TraceHistory::Site(const trace::SiteRecord& site) {
  if (status_.ok()) status_ = writer_->Add(trace::Record::Site(site));
}

void OrderingPoints::FireRequest(trace::IoOp op, uint32_t file, uint64_t offset, uint64_t length) {
  unsigned o = static_cast<unsigned>(op);
  STAP_PROBE4(ordo, request, o, file, offset, length);
}

void TraceHistory::Record(const trace::EngineRecord& event) {
  if (!status_.ok()) return;
  trace::EngineRecord e = event;
  if (wall_time_) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    e.has_wall = true;
    e.wall_ns =
        static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  }
  status_ = writer_->Add(trace::Record::Engine(e));
}

}  // namespace ordo::engine
