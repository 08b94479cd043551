// Helpers for engine tests: temporary directories, deterministic block
// contents, and scheduler plans built from engine event kinds.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "ordo/engine/engine.h"
#include "ordo/engine/history.h"
#include "ordo/sched/scheduler.h"
#include "ordo/trace/record.h"

namespace ordo::testing {

class TempDir {
 public:
  // On tmpfs when there is one: exploration runs thousands of engines, and
  // their fsyncs would otherwise dominate.
  explicit TempDir(bool memory = true) {
    std::string base = memory && std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string tmpl = base + "/ordo-engine-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Bytes that say where they belong: version v of byte i of a file.
inline std::string Pattern(uint64_t offset, uint64_t length, uint32_t version) {
  std::string s(length, '\0');
  for (uint64_t i = 0; i < length; ++i) {
    uint64_t x = (offset + i) * 2654435761u + version * 40503u;
    s[i] = static_cast<char>((x >> 13) ^ (x >> 5));
  }
  return s;
}

// The scheduler label (site) of the engine's ordering point of kind `k`.
inline uint32_t L(trace::EngineEventKind k) { return trace::EngineKindSite(k); }

// The engine event kind of a history event the engine recorded (its site).
inline trace::EngineEventKind KindOf(const trace::EngineRecord& e) {
  return static_cast<trace::EngineEventKind>(e.kind - trace::kSiteEventBase - 1);
}

}  // namespace ordo::testing
