// What loadgen drives (private to lab/): the built-in engine on its own
// free-running host (compaction also on a 5 ms timer, as in production), or
// an engine of the user's own through the engine ABI, its host an
// uncontrolled scheduler (its points fire the USDT probes ordo:site and
// ordo:point in ordo's binary). Requests may come from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ordo/engine/engine.h"
#include "ordo/lab/loadgen.h"
#include "ordo/plugin/plugin.h"
#include "ordo/sched/scheduler.h"
#include "ordo/status.h"

namespace ordo::lab {

class LoadTarget {
 public:
  // Opens the engine `options.engine` names in `options.target` (the engine
  // of the user's own in TARGET/engine, away from the target's claim files).
  static Result<std::unique_ptr<LoadTarget>> Open(const LoadgenOptions& options);

  Status Read(const char* file, uint64_t offset, uint64_t length, std::string* out);
  Status Write(const char* file, uint64_t offset, std::string_view data);
  Status Fsync(const char* file);
  // Fills the result's background figures (the built-in engine's only).
  void Background(LoadgenResult* result) const;
  Status Close();
  // Whether `s`, just returned on this thread, is a read-verify failure
  // (FPRE004) rather than other corruption the engine reported.
  bool IsReadVerifyFailure(const Status& s) const;

 private:
  LoadTarget() : free_running_(sched::SchedulerOptions{}) {}
  static ordo_request Request(ordo_op op, const char* file, uint64_t offset, uint64_t length);

  sched::Scheduler free_running_;
  std::unique_ptr<engine::Engine> builtin_;
  std::unique_ptr<plugin::HostedEngine> hosted_;
};

}  // namespace ordo::lab
