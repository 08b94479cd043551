// The host side of the engine ABI (ordo/engine_abi.h): loading an engine's
// shared object, and running one engine under ordo's scheduler with its
// ordering points recorded as history.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/engine/history.h"
#include "ordo/engine_abi.h"
#include "ordo/sched/scheduler.h"
#include "ordo/status.h"

namespace ordo::plugin {

// "PATH.so" or "PATH.so:key=value,key=value" as given to --engine.
struct EngineSpec {
  std::string path;
  std::string config;
};
// True when `text` names a shared object (ends in ".so" or holds ".so:").
bool IsEngineSpec(std::string_view text);
EngineSpec ParseEngineSpec(std::string_view text);
std::string EngineSpecString(const EngineSpec& spec);

// A loaded engine: the shared object stays loaded while this lives.
class EngineLibrary {
 public:
  // dlopens `path` and checks its ABI version. Errors (exit 2 at the CLI)
  // name the path: not found, not a shared object, no ordo_engine_get, a
  // major other than ours (both versions named), malformed ops.
  static Result<std::shared_ptr<EngineLibrary>> Load(const std::string& path);
  // Load in a child process: what Load would say, and a crash while loading
  // (a constructor, ordo_engine_get) as an error naming the path.
  static Status Probe(const std::string& path);
  // An engine linked into this program (no shared object); `ops` must
  // outlive the library. For benchmarks and tests of the host side.
  static std::shared_ptr<EngineLibrary> FromOps(const ordo_engine_ops* ops, std::string name);
  ~EngineLibrary();
  const ordo_engine_ops& ops() const { return *ops_; }
  const std::string& path() const { return path_; }
  std::string name() const;

 private:
  EngineLibrary() = default;
  void* handle_ = nullptr;
  const ordo_engine_ops* ops_ = nullptr;
  std::string path_;
};

// One open engine. Host services map onto `scheduler` (controlled or free),
// points are recorded to `history` (may be null) as engine events of kind
// trace::kSiteEventBase + site, after a site table entry per site.
// The engine ABI's host services over a scheduler and a history sink: what
// an engine is given at open (threads, mutexes and waits of the scheduler,
// ordering points that yield under control and record history events).
class SchedulerHost {
 public:
  // `scheduler` and `history` (may be null) are not owned and outlive this.
  SchedulerHost(sched::Scheduler* scheduler, engine::HistorySink* history, uint64_t seed);
  ~SchedulerHost();
  const ordo_host* abi() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

class HostedEngine {
 public:
  static Result<std::unique_ptr<HostedEngine>> Open(std::shared_ptr<EngineLibrary> library,
                                                    const std::string& dir,
                                                    const std::string& config,
                                                    sched::Scheduler* scheduler,
                                                    engine::HistorySink* history, uint64_t seed);
  ~HostedEngine();  // closes if needed

  // Applies one request. An engine-detected failure is kVerifyFailed with
  // the engine's message (corruption other than a read-verify failure is
  // prefixed "engine detected corruption"); failure() then has its fields.
  // Requests may be applied from several threads at once.
  Status Apply(const ordo_request& request);
  Status Check();
  Status Close();
  // What the engine reported on the calling thread's last call.
  const ordo_failure& failure() const;

 private:
  HostedEngine() = default;
  Status Outcome(int rc, const char* what);
  std::shared_ptr<EngineLibrary> library_;
  std::unique_ptr<SchedulerHost> host_;
  void* engine_ = nullptr;
  bool closed_ = true;
};

}  // namespace ordo::plugin
