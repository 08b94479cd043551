#include "runner.h"

#include <fmt/core.h>
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>

#include "backend.h"
#include "ordo/engine/history.h"
#include "target.h"

namespace ordo::replay {

namespace {

namespace fs = std::filesystem;

// Keeps the fields of an engine-reported failure in the run's outcome.
void KeepFailure(const ordo_failure& f, RunOutcome* out) {
  out->failure_kind = f.kind;
  out->failure_object = f.object;
  out->failure_file = std::string(f.file, strnlen(f.file, sizeof f.file));
  out->failure_offset = f.offset;
}

struct Op {
  trace::IoOp op;
  uint32_t file;
  uint64_t offset;
  uint64_t length;
  uint64_t start_ns;
};

// A bounded queue from the dispatcher to one replay thread.
struct OpQueue {
  explicit OpQueue(sched::Scheduler* s) : mu(s), cv(s) {}
  sched::Mutex mu;
  sched::CondVar cv;
  std::deque<Op> ops;
  bool closed = false;
};
constexpr size_t kQueueDepth = 256;
// Measured on the sample traces: 6-14 racing decisions per operation (more
// for engine API requests, which span more blocks).
constexpr uint64_t kRacingStepsPerOp = 8;

// Forwards engine events to a trace and remembers where FPRE004 was seen.
class RunHistory : public engine::HistorySink {
 public:
  // `o`: whose observers see the events; null: none.
  RunHistory(engine::HistorySink* next, const ReplayOptions* o) : next_(next), o_(o) {}
  void Record(const trace::EngineRecord& e) override {
    if (first_fail_ < 0 && IsVerifyFail(e.kind)) {
      first_fail_ = static_cast<int64_t>(e.seq);
      fail_arg_ = e.arg;
    }
    if (next_) next_->Record(e);
    if (o_ && o_->observe) o_->observe(e);
  }
  void Site(const trace::SiteRecord& site) override {
    if (site.access == static_cast<uint8_t>(sched::Access::kVerifyFail))
      fail_sites_.push_back(site.site);
    if (next_) next_->Site(site);
    if (o_ && o_->observe_site) o_->observe_site(site);
  }
  int64_t first_fail() const { return first_fail_; }
  uint64_t fail_arg() const { return fail_arg_; }

 private:
  bool IsVerifyFail(uint16_t kind) const {
    if (!trace::IsSiteEvent(kind)) return false;
    uint32_t site = kind - trace::kSiteEventBase;
    return std::find(fail_sites_.begin(), fail_sites_.end(), site) != fail_sites_.end();
  }
  engine::HistorySink* next_;
  const ReplayOptions* o_;
  int64_t first_fail_ = -1;
  uint64_t fail_arg_ = 0;
  std::vector<uint32_t> fail_sites_;
};

}  // namespace

// What the threads of one run share. Lives inside the run's scheduler.
struct Runner::RunState {
  RunState(sched::Scheduler* scheduler, size_t threads) : s(scheduler), stats(threads) {
    for (size_t i = 0; i < threads; ++i) queues.push_back(std::make_unique<OpQueue>(s));
  }
  sched::Scheduler* s;
  RunOutcome out;  // written by a replay thread under fail_mu
  bool controlled = false;
  std::unique_ptr<plugin::HostedEngine> hosted;
  std::unique_ptr<ReplayBackend> backend;
  std::vector<std::unique_ptr<OpQueue>> queues;
  std::vector<ThreadStats> stats;
  std::atomic<bool> failed{false};  // the run is decided: the threads drain
  std::mutex fail_mu;
  uint64_t base = 0;  // trace time zero on the clock
};

Runner::Runner(const TraceSource& trace, const ReplayOptions& o, const ReplayPlan& plan,
               std::shared_ptr<plugin::EngineLibrary> library, std::string config, bool observe)
    : trace_(trace),
      o_(o),
      plan_(plan),
      clock_(o.clock ? o.clock : RealClock()),
      library_(std::move(library)),
      config_(std::move(config)),
      observe_(observe) {}

Runner::~Runner() = default;

sched::SchedulerOptions Runner::SchedulerFor(const RunPlan& rp) const {
  const bool controlled = o_.backend == Backend::kEngine && rp.strategy != sched::Strategy::kFree;
  sched::SchedulerOptions so;
  so.strategy = controlled ? rp.strategy : sched::Strategy::kFree;
  so.seed = rp.seed;
  so.depth = o_.depth;
  // PCT spreads its change points over the racing decisions of a run: about
  // kRacingStepsPerOp per operation. It must depend on the trace alone (not
  // on earlier runs), so that a seed reproduces its run on its own.
  so.steps_estimate = std::max<uint64_t>(20, plan_.ops * kRacingStepsPerOp);
  for (const engine::Focus& f : rp.focus) so.targets.push_back(engine::FocusTarget(f));
  return so;
}

Result<RunOutcome> Runner::Run(int run, const RunPlan& rp, trace::TraceWriter* history,
                               ThreadStats* total) {
  // Each run's engine opens a copy of the prepared directory (made before
  // this thread takes part in the run's scheduler).
  const std::string dir = o_.target + "/engine";
  if (o_.backend == Backend::kEngine) ORDO_RETURN_IF_ERROR(FreshEngine(dir));
  sched::Scheduler s(SchedulerFor(rp));
  s.Attach("dispatcher");
  std::unique_ptr<engine::TraceHistory> trace_sink;
  if (history) trace_sink = std::make_unique<engine::TraceHistory>(history);
  RunHistory sink(trace_sink.get(), observe_ ? &o_ : nullptr);
  RunState st(&s, plan_.thread_index.size());
  st.out.run = run;
  st.out.seed = rp.seed;
  st.out.strategy = rp.strategy;
  st.out.focus = rp.focus;
  st.controlled = s.controlled();
  if (Status opened = OpenBackend(dir, rp.seed, &sink, &st); !opened.ok()) {
    s.Detach();
    return opened;
  }
  st.base = clock_->NowNs() + 1000000;  // trace time zero, 1 ms from now
  std::vector<int> ids;
  for (size_t i = 0; i < st.queues.size(); ++i) {
    ids.push_back(s.Spawn(fmt::format("replay-{}", i), [this, &st, i] { ReplayThread(&st, i); }));
  }
  Status dispatch = Dispatch(&st);
  for (auto& q : st.queues) {
    q->mu.lock();
    q->closed = true;
    q->mu.unlock();
    q->cv.NotifyAll();
  }
  for (int id : ids) s.Join(id);
  if (st.hosted) {
    Status closed = CloseEngine(&st);
    if (dispatch.ok()) dispatch = closed;
  }
  s.Detach();
  if (history && o_.backend == Backend::kEngine) ORDO_RETURN_IF_ERROR(WriteThreadTable(s, history));
  RunOutcome out = std::move(st.out);
  out.steps = s.steps();
  out.holds = s.holds();
  ORDO_RETURN_IF_ERROR(dispatch);
  out.history_seq = sink.first_fail();
  out.fail_arg = sink.fail_arg();
  for (auto& ts : st.stats) {
    out.thread_ops.push_back(ts.ops);
    total->Merge(ts);
  }
  return out;
}

Status Runner::OpenBackend(const std::string& dir, uint64_t seed, engine::HistorySink* sink,
                           RunState* st) {
  if (o_.backend == Backend::kEngine) {
    auto e = plugin::HostedEngine::Open(library_, dir, config_, st->s, sink, seed);
    if (!e.ok()) return e.status();
    st->hosted = std::move(e).value();
    st->backend = HostedEngineBackend(st->hosted.get());
    return Status::Ok();
  }
  auto b = FileBackend(o_.target, plan_.files, o_.direct_io);
  if (!b.ok()) return b.status();
  st->backend = std::move(b).value();
  return Status::Ok();
}

void Runner::ReplayThread(RunState* st, size_t i) {
  prctl(PR_SET_TIMERSLACK, 1);  // timed sleeps wake on time, not 50 us late
  SetReplayThread(static_cast<uint32_t>(i));
  OpQueue& q = *st->queues[i];
  ThreadStats& ts = st->stats[i];
  std::string buf, data;
  for (uint64_t index = 0;; ++index) {
    q.mu.lock();
    q.cv.Wait(q.mu, [&] { return q.closed || !q.ops.empty(); });
    if (q.ops.empty()) {
      q.mu.unlock();
      break;
    }
    Op op = q.ops.front();
    q.ops.pop_front();
    q.mu.unlock();
    q.cv.NotifyAll();
    if (st->failed.load()) continue;  // the run is decided: drain
    if (!st->controlled && o_.timing != Timing::kFast) {
      double speed = o_.timing == Timing::kScaled ? o_.speed : 1.0;
      uint64_t deadline = st->base + static_cast<uint64_t>(
                                         static_cast<double>(op.start_ns - plan_.first_ns) / speed);
      clock_->SleepUntilNs(deadline);
      uint64_t now = clock_->NowNs();
      ts.issue_error.Add(now > deadline ? now - deadline : deadline - now);
    }
    uint64_t t0 = clock_->NowNs();
    Status status;
    int kind = 0;  // read, write, sync: the latency histogram
    if (trace::IsReadOp(op.op)) {
      status = st->backend->Read(op.file, op.offset, op.length, &buf);
    } else if (trace::IsWriteOp(op.op)) {
      kind = 1;
      data.resize(op.length);
      FillWriteData(static_cast<uint32_t>(i), index, op.offset, data.data(), data.size());
      status = st->backend->Write(op.file, op.offset, data);
    } else {
      kind = 2;
      status = st->backend->Sync(op.file);
    }
    ts.latency[kind].Add(clock_->NowNs() - t0);
    ++ts.ops;
    if (status.code() == StatusCode::kVerifyFailed) {
      std::lock_guard<std::mutex> lock(st->fail_mu);
      if (!st->out.failed) {
        st->out.failed = true;
        st->out.message = status.message();
        st->out.thread = static_cast<uint32_t>(i);
        st->out.op_index = index;
        if (st->hosted) KeepFailure(st->hosted->failure(), &st->out);
      }
      st->failed = true;
    } else if (!status.ok() && ts.errors++ == 0) {
      ts.first_error = fmt::format("thread {}, operation #{}: {}", i, index, status.message());
    }
  }
}

Status Runner::Dispatch(RunState* st) {
  auto stream = trace_.Open();
  if (!stream.ok()) return stream.status();
  trace::Record r;
  while ((*stream)->Next(&r)) {
    if (r.kind != trace::RecordKind::kIo || !Replayable(r.io.op, plan_.api_level)) continue;
    auto t = plan_.thread_index.find((uint64_t{r.io.pid} << 32) | r.io.tid);
    auto f = plan_.file_index.find(r.io.file);
    if (t == plan_.thread_index.end() || f == plan_.file_index.end()) continue;
    OpQueue& q = *st->queues[t->second];
    q.mu.lock();
    q.cv.Wait(q.mu, [&] { return q.ops.size() < kQueueDepth; });
    q.ops.push_back(Op{r.io.op, f->second, r.io.offset, r.io.length, r.io.start_ns});
    q.mu.unlock();
    q.cv.NotifyAll();
  }
  return (*stream)->status();
}

Status Runner::CloseEngine(RunState* st) {
  RunOutcome& out = st->out;
  // Everything on disk is verified after the requests: corruption the
  // requests did not read is a failure of the run too.
  Status c = out.failed ? Status::Ok() : st->hosted->Check();
  if (c.code() == StatusCode::kVerifyFailed) {
    out.failed = true;
    out.message = c.message();
    out.thread = 0;
    out.op_index = 0;
    KeepFailure(st->hosted->failure(), &out);
    c = Status::Ok();
  }
  Status cl = st->hosted->Close();
  if (cl.code() == StatusCode::kVerifyFailed && !out.failed) {
    out.failed = true;  // corruption found at close is the run's outcome
    out.message = cl.message();
    KeepFailure(st->hosted->failure(), &out);
    cl = Status::Ok();
  }
  return c.ok() ? cl : c;
}

Status Runner::WriteThreadTable(const sched::Scheduler& s, trace::TraceWriter* history) const {
  std::vector<std::string> names = s.ThreadNames();
  for (size_t t = 0; t < names.size(); ++t) {
    trace::ThreadRecord tr{static_cast<uint32_t>(t), 0, ThreadRole(names[t])};
    ORDO_RETURN_IF_ERROR(history->Add(trace::Record::Thread(tr)));
  }
  return Status::Ok();
}

// What a scheduler thread is, for readers of the history: "replay-2" is the
// replay thread of a trace thread; an engine's threads keep their names.
std::string Runner::ThreadRole(const std::string& name) const {
  auto number = [&](size_t prefix) -> long {
    if (name.size() <= prefix) return -1;
    long v = 0;
    for (size_t k = prefix; k < name.size(); ++k) {
      if (name[k] < '0' || name[k] > '9' || v > 1000000) return -1;
      v = v * 10 + (name[k] - '0');
    }
    return v;
  };
  if (name.rfind("replay-", 0) == 0) {
    long i = number(7);
    for (const auto& [key, index] : plan_.thread_index) {
      if (static_cast<long>(index) != i) continue;
      uint32_t pid = static_cast<uint32_t>(key >> 32), tid = static_cast<uint32_t>(key);
      std::string who = pid == 0 ? fmt::format("{}", tid) : fmt::format("{}/{}", pid, tid);
      auto n = plan_.thread_names.find(key);
      if (n != plan_.thread_names.end()) who += " (" + n->second + ")";
      return "replay thread of trace thread " + who;
    }
  }
  return name;  // "dispatcher", or the name the engine gave its thread ("prefetch-0")
}

// An engine keeps its state in its directory (ordo/engine_abi.h), so the
// copy of the template opens with the initial content.
Status Runner::FreshEngine(const std::string& dir) {
  ORDO_RETURN_IF_ERROR(Prepare());
  std::error_code ec;
  fs::remove_all(dir, ec);
  const std::string tmpl = o_.target + "/engine-template";
  // Links the engine made stay links (never followed out of the target).
  fs::copy(tmpl, dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return Status::IoError(dir + ": cannot copy the engine template: " + ec.message());
  return Status::Ok();
}

Status Runner::Prepare() {
  if (o_.backend != Backend::kEngine || template_ready_) return Status::Ok();
  std::error_code ec;
  const std::string tmpl = o_.target + "/engine-template";
  fs::remove_all(tmpl, ec);
  if (!fs::create_directories(tmpl, ec) || ec) {
    return Status::IoError(tmpl + ": cannot create the engine directory: " + ec.message());
  }
  sched::Scheduler free_running(sched::SchedulerOptions{});
  free_running.Attach("setup");
  Status s = WriteInitialContent(tmpl, &free_running);
  free_running.Detach();
  ORDO_RETURN_IF_ERROR(s.WithContext("laying out the initial content"));
  template_ready_ = true;
  return Status::Ok();
}

Status Runner::WriteInitialContent(const std::string& tmpl, sched::Scheduler* s) {
  auto e = plugin::HostedEngine::Open(library_, tmpl, config_, s, nullptr, 0);
  if (!e.ok()) return e.status();
  std::unique_ptr<ReplayBackend> backend = HostedEngineBackend(e->get());
  std::string chunk;
  for (uint32_t i = 0; i < plan_.files.size(); ++i) {
    for (uint64_t off = 0; off < plan_.files[i].size; off += 1 << 20) {
      chunk.resize(static_cast<size_t>(std::min<uint64_t>(1 << 20, plan_.files[i].size - off)));
      FillContent(i, off, chunk.data(), chunk.size());
      ORDO_RETURN_IF_ERROR(backend->Write(i, off, chunk));
    }
  }
  return (*e)->Close();
}

}  // namespace ordo::replay
