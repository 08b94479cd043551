// What replay drives: the cache engine, or plain files.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/plugin/plugin.h"
#include "plan.h"

namespace ordo::replay {

class ReplayBackend {
 public:
  virtual ~ReplayBackend() = default;
  virtual Status Read(uint32_t file, uint64_t offset, uint64_t length, std::string* out) = 0;
  virtual Status Write(uint32_t file, uint64_t offset, std::string_view data) = 0;
  virtual Status Sync(uint32_t file) = 0;
};

// The engine; files are named "f<index>". Does not own the engine.
// An engine loaded through the engine ABI; files are named "f<index>". The
// replay thread is named by the scheduler's index of the caller.
// The replay thread (trace thread in order of first appearance) the calling
// thread replays: what its requests tell the engine (ordo_request.thread).
void SetReplayThread(uint32_t index);

std::unique_ptr<ReplayBackend> HostedEngineBackend(plugin::HostedEngine* engine);

// pread/pwrite on target/files/<local name>, optionally with O_DIRECT.
Result<std::unique_ptr<ReplayBackend>> FileBackend(const std::string& target,
                                                   const std::vector<PlannedFile>& files,
                                                   bool direct_io);

inline std::string EngineFileName(uint32_t index) { return "f" + std::to_string(index); }

}  // namespace ordo::replay
