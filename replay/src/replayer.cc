// The replay loop: per run, a fresh engine (or the plain files), one replay
// thread per traced thread fed through a bounded queue by a dispatcher that
// streams the trace, timing by absolute deadlines, and the run's outcome.
#include "ordo/replay/replayer.h"

#include <fmt/core.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>

#include "backend.h"
#include "isolated_run.h"
#include "ordo/engine/builtin.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/writer.h"
#include "ordo/util/clock.h"
#include "plan.h"
#include "target.h"

namespace ordo::replay {

namespace {

namespace fs = std::filesystem;

class MonotonicClock : public Clock {
 public:
  uint64_t NowNs() override { return util::MonotonicNs(); }
  // Sleeps to shortly before the deadline, then spins: a timer wake-up on a
  // busy VM is late by tens of microseconds, a spin of at most kSpinNs is not.
  void SleepUntilNs(uint64_t deadline) override {
    static constexpr uint64_t kSpinNs = 100000;
    uint64_t now = NowNs();
    if (deadline > now + kSpinNs) {
      uint64_t wake = deadline - kSpinNs;
      timespec ts{static_cast<time_t>(wake / 1000000000ull),
                  static_cast<long>(wake % 1000000000ull)};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
      }
    }
    while (NowNs() < deadline) __builtin_ia32_pause();
  }
};

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

class Runner {
 public:
  // `observe`: runs pass their events to the options' observers (false when
  // runs execute in a child process: the parent streams its history to them).
  // `library` and `config`: the engine (backend kEngine).
  Runner(const std::string& trace_path, const ReplayOptions& o, const ReplayPlan& plan,
         std::shared_ptr<plugin::EngineLibrary> library, std::string config, bool observe)
      : path_(trace_path),
        o_(o),
        plan_(plan),
        clock_(o.clock ? o.clock : RealClock()),
        library_(std::move(library)),
        config_(std::move(config)),
        observe_(observe) {}

  // One run. `history` may be null.
  Result<RunOutcome> Run(int run, const RunPlan& rp, trace::TraceWriter* history,
                         ThreadStats* total) {
    RunOutcome out;
    out.run = run;
    out.seed = rp.seed;
    out.strategy = rp.strategy;
    out.focus = rp.focus;
    bool controlled = o_.backend == Backend::kEngine && rp.strategy != sched::Strategy::kFree;
    sched::SchedulerOptions so;
    so.strategy = controlled ? rp.strategy : sched::Strategy::kFree;
    so.seed = rp.seed;
    so.depth = o_.depth;
    // PCT spreads its change points over the racing decisions of a run: about
    // kRacingStepsPerOp per operation. It must depend on the trace alone (not
    // on earlier runs), so that a seed reproduces its run on its own.
    so.steps_estimate = std::max<uint64_t>(20, plan_.ops * kRacingStepsPerOp);
    for (const engine::Focus& f : rp.focus) {
      so.targets.push_back(engine::FocusTarget(f));
    }
    // Each run's engine opens a copy of the prepared directory (made before
    // this thread takes part in the run's scheduler).
    const std::string dir = o_.target + "/engine";
    if (o_.backend == Backend::kEngine) ORDO_RETURN_IF_ERROR(FreshEngine(dir));
    sched::Scheduler s(so);
    s.Attach("dispatcher");

    std::unique_ptr<plugin::HostedEngine> hosted;
    std::unique_ptr<ReplayBackend> backend;
    std::unique_ptr<engine::TraceHistory> trace_sink;
    if (history) trace_sink = std::make_unique<engine::TraceHistory>(history);
    RunHistory sink(trace_sink.get(), observe_ ? &o_ : nullptr);
    if (o_.backend == Backend::kEngine) {
      auto e = plugin::HostedEngine::Open(library_, dir, config_, &s, &sink, rp.seed);
      if (!e.ok()) {
        s.Detach();
        return e.status();
      }
      hosted = std::move(e).value();
      backend = HostedEngineBackend(hosted.get());
    } else {
      auto b = FileBackend(o_.target, plan_.files, o_.direct_io);
      if (!b.ok()) return b.status();
      backend = std::move(b).value();
    }

    size_t n = plan_.thread_index.size();
    std::vector<std::unique_ptr<OpQueue>> queues;
    std::vector<ThreadStats> stats(n);
    for (size_t i = 0; i < n; ++i) queues.push_back(std::make_unique<OpQueue>(&s));
    std::atomic<bool> failed{false};
    std::mutex fail_mu;
    const uint64_t base = clock_->NowNs() + 1000000;  // trace time zero, 1 ms from now
    std::vector<int> ids;
    for (size_t i = 0; i < n; ++i) {
      ids.push_back(s.Spawn(fmt::format("replay-{}", i), [&, i] {
        prctl(PR_SET_TIMERSLACK, 1);  // timed sleeps wake on time, not 50 us late
        SetReplayThread(static_cast<uint32_t>(i));
        OpQueue& q = *queues[i];
        ThreadStats& st = stats[i];
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
          if (failed.load()) continue;  // the run is decided: drain
          if (!controlled && o_.timing != Timing::kFast) {
            double speed = o_.timing == Timing::kScaled ? o_.speed : 1.0;
            uint64_t deadline =
                base +
                static_cast<uint64_t>(static_cast<double>(op.start_ns - plan_.first_ns) / speed);
            clock_->SleepUntilNs(deadline);
            uint64_t now = clock_->NowNs();
            st.issue_error.Add(now > deadline ? now - deadline : deadline - now);
          }
          uint64_t t0 = clock_->NowNs();
          Status status;
          int kind = 0;
          if (trace::IsReadOp(op.op)) {
            status = backend->Read(op.file, op.offset, op.length, &buf);
          } else if (trace::IsWriteOp(op.op)) {
            kind = 1;
            data.resize(op.length);
            FillWriteData(static_cast<uint32_t>(i), index, op.offset, data.data(), data.size());
            status = backend->Write(op.file, op.offset, data);
          } else {
            kind = 2;
            status = backend->Sync(op.file);
          }
          st.latency[kind].Add(clock_->NowNs() - t0);
          ++st.ops;
          if (status.code() == StatusCode::kVerifyFailed) {
            std::lock_guard<std::mutex> lock(fail_mu);
            if (!out.failed) {
              out.failed = true;
              out.message = status.message();
              out.thread = static_cast<uint32_t>(i);
              out.op_index = index;
              if (hosted) KeepFailure(hosted->failure(), &out);
            }
            failed = true;
          } else if (!status.ok()) {
            if (st.errors++ == 0) {
              st.first_error =
                  fmt::format("thread {}, operation #{}: {}", i, index, status.message());
            }
          }
        }
      }));
    }
    Status dispatch = Dispatch(queues);
    for (auto& q : queues) {
      q->mu.lock();
      q->closed = true;
      q->mu.unlock();
      q->cv.NotifyAll();
    }
    for (int id : ids) s.Join(id);
    if (hosted) {
      // Everything on disk is verified after the requests: corruption the
      // requests did not read is a failure of the run too.
      Status c = out.failed ? Status::Ok() : hosted->Check();
      if (c.code() == StatusCode::kVerifyFailed) {
        out.failed = true;
        out.message = c.message();
        out.thread = 0;
        out.op_index = 0;
        KeepFailure(hosted->failure(), &out);
        c = Status::Ok();
      }
      Status cl = hosted->Close();
      if (cl.code() == StatusCode::kVerifyFailed && !out.failed) {
        out.failed = true;  // corruption found at close is the run's outcome
        out.message = cl.message();
        KeepFailure(hosted->failure(), &out);
        cl = Status::Ok();
      }
      if (dispatch.ok()) dispatch = c.ok() ? cl : c;
    }
    s.Detach();
    if (history && o_.backend == Backend::kEngine) {
      // The thread table: each logical thread of the history named by its role.
      std::vector<std::string> names = s.ThreadNames();
      for (size_t t = 0; t < names.size(); ++t) {
        trace::ThreadRecord tr{static_cast<uint32_t>(t), 0, ThreadRole(names[t])};
        ORDO_RETURN_IF_ERROR(history->Add(trace::Record::Thread(tr)));
      }
    }
    out.steps = s.steps();
    out.holds = s.holds();
    ORDO_RETURN_IF_ERROR(dispatch);
    out.history_seq = sink.first_fail();
    out.fail_arg = sink.fail_arg();
    for (auto& st : stats) {
      out.thread_ops.push_back(st.ops);
      total->Merge(st);
    }
    return out;
  }

 private:
  // What a scheduler thread is, for readers of the history: "replay-2" is the
  // replay thread of a trace thread; an engine's threads keep their names.
  std::string ThreadRole(const std::string& name) const {
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

  // A fresh engine directory holding every planned file at its size with its
  // initial content, written through the engine outside the scheduler's
  // control and the history: once per replay (engine-template under the
  // target, closed), then copied for each run. An engine keeps its state in
  // its directory (ordo/engine_abi.h), so the copy opens with that content.
  Status FreshEngine(const std::string& dir) {
    ORDO_RETURN_IF_ERROR(Prepare());
    std::error_code ec;
    fs::remove_all(dir, ec);
    const std::string tmpl = o_.target + "/engine-template";
    // Links the engine made stay links (never followed out of the target).
    fs::copy(tmpl, dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return Status::IoError(dir + ": cannot copy the engine template: " + ec.message());
    return Status::Ok();
  }

 public:
  // Lays out the engine's initial content once (engine backend; a no-op
  // after the first call). Runs in a child process call it too, so the
  // parent calls it before the first run.
  // The template exists (laid out by Prepare in a child process).
  void MarkPrepared() { template_ready_ = true; }
  Status Prepare() {
    if (o_.backend != Backend::kEngine || template_ready_) return Status::Ok();
    std::error_code ec;
    const std::string tmpl = o_.target + "/engine-template";
    {
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
    }
    return Status::Ok();
  }

 private:
  Status WriteInitialContent(const std::string& tmpl, sched::Scheduler* s) {
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

  // Streams the trace into the per-thread queues, blocking while one is full.
  Status Dispatch(std::vector<std::unique_ptr<OpQueue>>& queues) {
    auto reader = trace::TraceReader::Open(path_);
    if (!reader.ok()) return reader.status();
    trace::Record r;
    while ((*reader)->Next(&r)) {
      if (r.kind != trace::RecordKind::kIo || !Replayable(r.io.op, plan_.api_level)) continue;
      auto t = plan_.thread_index.find((uint64_t{r.io.pid} << 32) | r.io.tid);
      auto f = plan_.file_index.find(r.io.file);
      if (t == plan_.thread_index.end() || f == plan_.file_index.end()) continue;
      OpQueue& q = *queues[t->second];
      q.mu.lock();
      q.cv.Wait(q.mu, [&] { return q.ops.size() < kQueueDepth; });
      q.ops.push_back(Op{r.io.op, f->second, r.io.offset, r.io.length, r.io.start_ns});
      q.mu.unlock();
      q.cv.NotifyAll();
    }
    return (*reader)->status();
  }

  std::string path_;
  const ReplayOptions& o_;
  const ReplayPlan& plan_;
  Clock* clock_;
  std::shared_ptr<plugin::EngineLibrary> library_;
  std::string config_;
  bool observe_;
  bool template_ready_ = false;
};

// The header of a run's history: what made it, and where.
trace::TraceHeader HistoryHeader(const std::string& trace_path, const ReplayOptions& o,
                                 const RunOutcome& planned) {
  trace::TraceHeader h;
  h.tool_version = std::string("ordo ") + ORDO_VERSION;
  h.kind = "history";
  h.clock = "logical";
  struct utsname u;
  if (uname(&u) == 0) {  // where the run was made, for reports
    h.host = u.nodename;
    h.kernel = std::string(u.sysname) + " " + u.release;
  }
  h.source = ReproduceCommand(trace_path, o, planned);
  return h;
}

// Streams a run's history (written by its child process) to the observers.
Status Observe(const std::string& history, const ReplayOptions& o) {
  auto reader = trace::TraceReader::Open(history);
  if (!reader.ok()) return reader.status();
  trace::Record r;
  while ((*reader)->Next(&r)) {
    if (r.kind == trace::RecordKind::kEngine && o.observe) o.observe(r.engine);
    if (r.kind == trace::RecordKind::kSite && o.observe_site) o.observe_site(r.site);
  }
  return (*reader)->status();
}

}  // namespace

Clock* RealClock() {
  static MonotonicClock clock;
  return &clock;
}

Result<ReplaySummary> Replay(const std::string& trace_path, const ReplayOptions& o) {
  if (o.runs < 1) return Status::InvalidArgument("--runs must be at least 1");
  if (o.shard_count < 1 || o.shard_index < 0 || o.shard_index >= o.shard_count) {
    return Status::InvalidArgument("--shard K/N needs 1 <= K <= N");
  }
  if (o.timing == Timing::kScaled && !(o.speed > 0))
    return Status::InvalidArgument("timing scale must be > 0");
  auto plan = MakePlan(trace_path, o);
  if (!plan.ok()) return plan.status();
  auto claim = PrepareTarget(o, plan.value());  // locked until we return
  if (!claim.ok()) return claim.status();

  ReplaySummary summary;
  summary.threads = static_cast<uint32_t>(plan->thread_index.size());
  summary.files = static_cast<uint32_t>(plan->files.size());
  summary.api_level = plan->api_level;
  summary.trace_duration_ns = plan->last_ns - plan->first_ns;
  std::shared_ptr<plugin::EngineLibrary> library;
  std::string config = o.engine_config;
  if (o.backend == Backend::kEngine && !o.engine_path.empty()) {
    ORDO_RETURN_IF_ERROR(plugin::EngineLibrary::Probe(o.engine_path));
    auto lib = plugin::EngineLibrary::Load(o.engine_path);
    if (!lib.ok()) return lib.status();
    library = std::move(lib).value();
  } else if (o.backend == Backend::kEngine) {
    // ordo's own engine, linked in, behind the same ABI.
    library = plugin::EngineLibrary::FromOps(engine::BuiltinEngineOps(), "built-in");
    config = fmt::format("mode={}{}{}", engine::EngineModeName(o.engine_mode),
                         config.empty() ? "" : ",", config);
  }
  // Engines loaded from a shared object run each run in a child process: a
  // crash in them is a finding, not ordo dying.
  const bool isolated = !o.engine_path.empty() && !o.engine_in_process;
  Runner runner(trace_path, o, plan.value(), library, config, !isolated);
  if (isolated && o.backend == Backend::kEngine) {
    // Laying out the initial content runs the engine too: in a child.
    ThreadStats unused;
    auto laid = RunIsolated(
        RunOutcome{},
        [&runner](ThreadStats*) -> Result<RunOutcome> {
          ORDO_RETURN_IF_ERROR(runner.Prepare());
          return RunOutcome{};
        },
        o.run_timeout_s, &unused);
    if (!laid.ok()) return laid.status();
    if (laid->crashed) {
      return Status::IoError(fmt::format("{}: engine {} while laying out the initial content: {}",
                                         o.engine_path, laid->hung ? "hung" : "crashed",
                                         laid->message));
    }
    runner.MarkPrepared();
  }
  ORDO_RETURN_IF_ERROR(runner.Prepare());
  ThreadStats total;
  const uint64_t t0 = RealClock()->NowNs();
  bool history_kept = false;
  // An isolated run's events reach `observe` from its history, read back.
  const bool observe_history = isolated && (o.observe || o.observe_site);
  // Per process: two replays asked for one --history do not share it.
  std::string tmp = !o.history_path.empty() ? fmt::format("{}.{}.partial", o.history_path, getpid())
                                            : o.target + "/run-history.partial";
  // The last run this shard makes, for "keep the last run's history".
  const int last_run = o.shard_index + (o.runs - 1 - o.shard_index) / o.shard_count * o.shard_count;
  for (int run = o.shard_index; run < o.runs && !(o.stop && o.stop->load()); run += o.shard_count) {
    RunPlan rp{o.strategy, o.seed + static_cast<uint64_t>(run), o.focus};
    if (o.next_run) {
      std::optional<RunPlan> next = o.next_run(run);
      if (!next) break;
      rp = *next;
    }
    RunOutcome planned;
    planned.run = run;
    planned.seed = rp.seed;
    planned.strategy = rp.strategy;
    planned.focus = rp.focus;
    const bool want_history = !o.history_path.empty() && !history_kept;
    const bool write_history = want_history || observe_history;
    // Runs `rp`, writing its history to `tmp` when asked.
    auto run_once = [&](ThreadStats* stats) -> Result<RunOutcome> {
      std::unique_ptr<trace::TraceWriter> writer;
      if (write_history) {
        auto w = trace::TraceWriter::Create(tmp, HistoryHeader(trace_path, o, planned));
        if (!w.ok()) return w.status();
        writer = std::move(w).value();
      }
      auto outcome = runner.Run(run, rp, writer.get(), stats);
      if (writer && outcome.ok()) ORDO_RETURN_IF_ERROR(writer->Close());
      return outcome;
    };
    auto outcome =
        isolated ? RunIsolated(planned, run_once, o.run_timeout_s, &total) : run_once(&total);
    if (!outcome.ok()) {
      return outcome.status().WithContext(
          fmt::format("run {} ({} seed {})", run, sched::StrategyName(rp.strategy), rp.seed));
    }
    if (outcome->crashed) {
      // What the killed run wrote has no footer: it is not kept as a history.
      std::error_code ec;
      fs::remove(tmp, ec);
    } else if (observe_history) {
      ORDO_RETURN_IF_ERROR(Observe(tmp, o));
    }
    if (want_history && !outcome->crashed && (outcome->failed || run == last_run)) {
      std::error_code ec;
      fs::rename(tmp, o.history_path, ec);
      if (ec) return Status::IoError(o.history_path + ": " + ec.message());
      history_kept = true;
    }
    summary.outcomes.push_back(outcome.value());
    ++summary.runs;
    if (outcome->failed) {
      ++summary.failures;
      if (!summary.first_failure) summary.first_failure = outcome.value();
    }
    if (o.on_run) o.on_run(run, o.runs, outcome->failed);
    if (outcome->failed && o.until_fail) break;
  }
  std::error_code ec;
  if (o.history_path.empty()) {
    fs::remove(tmp, ec);
  } else if (!history_kept && fs::exists(tmp, ec)) {
    // The last run made, when a stop cut the runs short.
    fs::rename(tmp, o.history_path, ec);
    history_kept = !ec;
  }
  summary.history_written = history_kept;
  summary.seconds = static_cast<double>(RealClock()->NowNs() - t0) / 1e9;
  summary.ops = total.ops;
  summary.errors = total.errors;
  summary.first_error = total.first_error;
  summary.latency = total.latency;
  summary.issue_error = total.issue_error;
  return summary;
}

std::string ShellWord(const std::string& w) {
  bool plain = !w.empty();
  for (char c : w) {
    plain &= std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_./:=,+-@%", c) != nullptr;
  }
  if (plain) return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string ReproduceCommand(const std::string& trace_path, const ReplayOptions& o,
                             const RunOutcome& run) {
  std::string cmd =
      fmt::format("ordo replay {} --target {} --backend {}", ShellWord(trace_path),
                  ShellWord(o.target), o.backend == Backend::kEngine ? "engine" : "file");
  if (o.backend == Backend::kEngine) {
    std::string engine = o.engine_path.empty()
                             ? std::string(engine::EngineModeName(o.engine_mode))
                             : plugin::EngineSpecString({o.engine_path, o.engine_config});
    cmd += fmt::format(" --engine {} --explore {} --seed {}", ShellWord(engine),
                       sched::StrategyName(run.strategy), run.seed);
    if (run.strategy == sched::Strategy::kPct) cmd += fmt::format(" --depth {}", o.depth);
    if (run.strategy == sched::Strategy::kTargeted) {
      for (const engine::Focus& f : run.focus) cmd += " --focus " + engine::FocusString(f);
    }
  }
  return cmd + " --runs 1";
}

}  // namespace ordo::replay
