// What a replay needs to know before it starts, from one streaming pass over
// the trace: the files (and how large they must be), the threads, and
// whether the trace holds the engine's API requests. Checks the trace against
// the hostile-input limits.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ordo/replay/replayer.h"
#include "ordo/replay/trace_source.h"
#include "ordo/trace/record.h"

namespace ordo::replay {

struct PlannedFile {
  uint32_t trace_id = 0;
  std::string trace_path;  // as recorded (for messages only; never used as a path)
  std::string local_name;  // safe name under the target: f<index>-<sanitized basename>
  uint64_t size = 0;       // recorded size, grown to cover every recorded I/O
};

struct ReplayPlan {
  std::vector<PlannedFile> files;                // index = replay file index
  std::map<uint32_t, uint32_t> file_index;       // trace file id -> index
  std::map<uint64_t, uint32_t> thread_index;     // (pid << 32 | tid) -> replay thread
  std::map<uint64_t, std::string> thread_names;  // (pid << 32 | tid) -> name traced, if any
  bool api_level = false;                        // replay only kEngine* ops
  uint64_t first_ns = 0, last_ns = 0;
  uint64_t ops = 0;
};

// InvalidArgument for an I/O past max_io_bytes or max_file_bytes, or no I/O to
// replay; LimitExceeded for more threads than max_threads.
Result<ReplayPlan> MakePlan(const TraceSource& trace, const ReplayOptions& options);

// "data/db-01.log" -> "db-01.log"; anything outside [A-Za-z0-9._-] becomes '_'.
std::string SafeBaseName(const std::string& path);

}  // namespace ordo::replay
