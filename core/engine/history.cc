#include "ordo/engine/history.h"

#include <time.h>

#include "ordo/util/clock.h"

namespace ordo::engine {

void TraceHistory::Site(const trace::SiteRecord& site) {
  if (status_.ok()) status_ = writer_->Add(trace::Record::Site(site));
}

void TraceHistory::Record(const trace::EngineRecord& event) {
  if (!status_.ok()) return;
  trace::EngineRecord e = event;
  if (wall_time_) {
    e.has_wall = true;
    e.wall_ns = util::MonotonicNs();
  }
  status_ = writer_->Add(trace::Record::Engine(e));
}

}  // namespace ordo::engine
