// Where an engine's ordering points go: a history sink receives one engine
// event per ordering point, in the order they happened.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ordo/status.h"
#include "ordo/trace/record.h"
#include "ordo/trace/writer.h"

namespace ordo::engine {

class HistorySink {
 public:
  virtual ~HistorySink() = default;
  // Called at every ordering point with `seq` already assigned. Calls are
  // serialized by the engine; implementations need no locking of their own.
  virtual void Record(const trace::EngineRecord& event) = 0;
  // Called when an engine registers an ordering point (engines loaded through
  // the engine ABI), before any event of that site.
  virtual void Site(const trace::SiteRecord& site) {}
};

// Keeps events in memory (tests, small runs).
class MemoryHistory : public HistorySink {
 public:
  void Record(const trace::EngineRecord& event) override { events_.push_back(event); }
  void Site(const trace::SiteRecord& site) override { sites_.push_back(site); }
  const std::vector<trace::EngineRecord>& events() const { return events_; }
  const std::vector<trace::SiteRecord>& sites() const { return sites_; }

 private:
  std::vector<trace::EngineRecord> events_;
  std::vector<trace::SiteRecord> sites_;
};

// Streams events into a .ordo trace. Wall time is left out unless asked for,
// so that identical schedules give byte-identical files.
class TraceHistory : public HistorySink {
 public:
  explicit TraceHistory(trace::TraceWriter* writer, bool wall_time = false)
      : writer_(writer), wall_time_(wall_time) {}
  void Record(const trace::EngineRecord& event) override;
  void Site(const trace::SiteRecord& site) override;
  // The first write error, if any (later events are dropped after it).
  const Status& status() const { return status_; }

 private:
  trace::TraceWriter* writer_;
  bool wall_time_;
  Status status_;
};

}  // namespace ordo::engine
