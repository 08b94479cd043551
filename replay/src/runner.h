// One replay run after another over one plan: per run a fresh engine (a copy
// of the initial content laid out once) or the plain files, one replay thread
// per traced thread fed through a bounded queue by a dispatcher that streams
// the trace, timing by absolute deadlines, and the run's outcome.
#pragma once

#include <memory>
#include <string>

#include "isolated_run.h"
#include "ordo/plugin/plugin.h"
#include "ordo/replay/replayer.h"
#include "ordo/replay/trace_source.h"
#include "ordo/trace/writer.h"
#include "plan.h"

namespace ordo::replay {

class Runner {
 public:
  // `observe`: runs pass their events to the options' observers (false when
  // runs execute in a child process: the parent streams its history to them).
  // `library` and `config`: the engine (backend kEngine). Every argument must
  // outlive the runner.
  Runner(const TraceSource& trace, const ReplayOptions& options, const ReplayPlan& plan,
         std::shared_ptr<plugin::EngineLibrary> library, std::string config, bool observe);
  ~Runner();

  // Lays out the engine's initial content once, written through the engine
  // outside the scheduler's control and the history, as the template each
  // run copies (engine backend; a no-op after the first call). Runs in a
  // child process call it too, so the parent calls it before the first run.
  Status Prepare();
  // The template exists (laid out by Prepare in a child process).
  void MarkPrepared() { template_ready_ = true; }

  // One run of `plan`; its engine events go to `history` (may be null), its
  // threads' figures are merged into *total. An engine-detected failure is
  // the outcome, not an error.
  Result<RunOutcome> Run(int run, const RunPlan& plan, trace::TraceWriter* history,
                         ThreadStats* total);

 private:
  struct RunState;
  // The scheduler of a run of `plan` (controlled only on the engine backend).
  sched::SchedulerOptions SchedulerFor(const RunPlan& plan) const;
  Status OpenBackend(const std::string& dir, uint64_t seed, engine::HistorySink* sink,
                     RunState* st);
  // Replay thread `i`: executes its queue's operations until the queue closes.
  void ReplayThread(RunState* st, size_t i);
  // Streams the trace into the per-thread queues, blocking while one is full.
  Status Dispatch(RunState* st);
  // Verifies what is on disk after the requests and closes the engine.
  Status CloseEngine(RunState* st);
  // The history's thread table: each logical thread named by its role.
  Status WriteThreadTable(const sched::Scheduler& s, trace::TraceWriter* history) const;
  std::string ThreadRole(const std::string& name) const;
  // A fresh engine directory `dir`: a copy of the template.
  Status FreshEngine(const std::string& dir);
  Status WriteInitialContent(const std::string& tmpl, sched::Scheduler* s);

  const TraceSource& trace_;
  const ReplayOptions& o_;
  const ReplayPlan& plan_;
  Clock* clock_;
  std::shared_ptr<plugin::EngineLibrary> library_;
  std::string config_;
  bool observe_;
  bool template_ready_ = false;
};

}  // namespace ordo::replay
