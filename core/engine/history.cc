#include "ordo/engine/history.h"

#include <time.h>

namespace ordo::engine {

void TraceHistory::Site(const trace::SiteRecord& site) {
  if (status_.ok()) status_ = writer_->Add(trace::Record::Site(site));
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
