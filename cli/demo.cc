// `ordo demo [--workdir DIR]`: the whole mission in one go. A loadgen process
// runs the legacy engine like a production host and is captured with eBPF
// (syscalls and USDT); without the privilege the committed sample trace is
// used instead. Then: replay with the default exploration (auto) until its
// predictions are confirmed, the failing run again alone,
// analyze, minimize, reports, the fixed engine over many seeds, and a table.
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common.h"
#include "ordo/analyze/analyzer.h"
#include "ordo/analyze/render.h"
#include "ordo/capture/capture.h"
#include "ordo/lab/explore.h"
#include "ordo/lab/minimize.h"
#include "ordo/lab/report.h"
#include "ordo/replay/replayer.h"
#include "ordo/replay/target_claim.h"
#include "ordo/trace/reader.h"
#include "ordo/units.h"

namespace ordo::cli {

namespace {

namespace fs = std::filesystem;
constexpr char kDemoMarker[] = ".ordo-demo";

struct DemoOptions {
  std::string workdir = "ordo-demo";
  std::string from;  // start from this trace instead of capturing
  std::string sample = ORDO_SAMPLE_TRACE;
  std::string capture_duration = "3s";
  double rate = 1000;
  int max_runs = 200;
  int fixed_runs = 30;
  std::string minimize_time = "60s";
  uint64_t minimize_runs = 5000;
};

using SteadyClock = std::chrono::steady_clock;

double Since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// The demo's directory: created, or one an earlier demo made (then reused).
// What a demo writes at most (the host engine, the lab's engine template and
// working copy, traces, histories, reports), checked before it starts.
constexpr uint64_t kDemoBytes = 256ull << 20;

// Locks the work directory for the demo's duration (the lock a replay target
// takes: a second demo in it is refused naming the first's pid), then clears
// what an earlier demo left there.
Status ClaimWorkdir(const std::string& dir, replay::TargetClaim* claim) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec) && !fs::exists(dir + "/" + kDemoMarker, ec)) {
    return Status::InvalidArgument(
        dir + ": not empty and not made by `ordo demo`; give an empty or new --workdir");
  }
  // Not ours to judge by replay's marker: the demo marker above already was.
  auto c = replay::ClaimTarget(dir, /*force=*/true);
  if (!c.ok()) return c.status();
  *claim = std::move(c).value();
  ORDO_RETURN_IF_ERROR(replay::CheckFreeSpace(dir, kDemoBytes));
  for (const char* sub : {"host", "lab"}) fs::remove_all(dir + "/" + sub, ec);
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError(dir + ": " + ec.message());
  std::ofstream(dir + "/" + kDemoMarker) << "made by ordo demo\n";
  return Status::Ok();
}

std::string SelfExe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("ordo") : p.string();
}

struct TraceFacts {
  uint64_t events = 0, lost = 0, bytes = 0, api_ops = 0;
};

Result<TraceFacts> Facts(const std::string& path) {
  auto r = trace::TraceReader::Open(path);
  if (!r.ok()) return r.status();
  TraceFacts f;
  trace::Record rec;
  while ((*r)->Next(&rec)) {
    if (rec.kind == trace::RecordKind::kIo || rec.kind == trace::RecordKind::kEngine) ++f.events;
    if (rec.kind == trace::RecordKind::kLost) f.lost += rec.lost.count;
    if (rec.kind == trace::RecordKind::kIo && replay::Replayable(rec.io.op, true)) ++f.api_ops;
  }
  ORDO_RETURN_IF_ERROR((*r)->status());
  std::error_code ec;
  f.bytes = fs::file_size(path, ec);
  return f;
}

class Demo {
 public:
  explicit Demo(const DemoOptions& o) : o_(o), dir_(o.workdir), t0_(SteadyClock::now()) {}

  int Run() {
    if (Status s = ClaimWorkdir(dir_, &claim_); !s.ok()) return Fail(s);
    auto trace = Obtain();
    if (!trace.ok()) return Fail(trace.status());
    trace_ = trace.value();
    auto facts = Facts(trace_);
    if (!facts.ok()) return Fail(facts.status());
    facts_ = facts.value();
    fmt::print("   {}: {} events ({} engine API requests), {} lost, {:.2f} bytes/event\n", trace_,
               facts_.events, facts_.api_ops, facts_.lost,
               facts_.events ? double(facts_.bytes) / double(facts_.events) : 0.0);
    if (int code = Reproduce(); code != kExitOk) return code;
    if (auto_runs_ == 0 && o_.from.empty() && trace_ != o_.sample) {
      Step("this capture did not reproduce; continuing from the committed sample trace " +
           o_.sample);
      trace_ = o_.sample;
      source_ = "committed sample (the capture did not reproduce)";
      auto f = Facts(trace_);
      if (!f.ok()) return Fail(f.status());
      facts_ = f.value();
      if (int code = Reproduce(); code != kExitOk) return code;
    }
    if (int code = Examine(); code != kExitOk) return code;
    return Table();
  }

 private:
  void Step(const std::string& what) {
    std::fflush(stdout);  // in order with the traced command's output, also in a log
    fmt::print("\n== [{:5.1f} s] {}\n", Since(t0_), what);
    std::fflush(stdout);
  }

  replay::ReplayOptions Lab(engine::EngineMode mode, sched::Strategy strategy, uint64_t seed,
                            int runs) const {
    replay::ReplayOptions ro;
    ro.target = dir_ + "/lab";
    ro.engine_mode = mode;
    ro.strategy = strategy;
    ro.seed = seed;
    ro.runs = runs;
    return ro;
  }

  // The trace to work from: a fresh capture of loadgen, or the sample.
  Result<std::string> Obtain() {
    if (!o_.from.empty()) {
      Step("starting from " + o_.from + " (--from)");
      source_ = "given trace";
      return o_.from;
    }
    auto d = ParseDuration(o_.capture_duration);
    if (!d.ok()) return d.status();
    std::string self = SelfExe();
    Step(fmt::format(
        "capture: `ordo loadgen` on the legacy engine ({} API requests/s, {}), traced with eBPF "
        "(syscalls via tp_btf, the engine's USDT probes)",
        o_.rate, o_.capture_duration));
    capture::CaptureOptions co;
    co.usdt_binary = self;
    co.command = {
        self,     "loadgen",    "--target",          dir_ + "/host", "--engine",
        "legacy", "--duration", o_.capture_duration, "--rate",       fmt::format("{}", o_.rate),
        "--seed", "1"};
    co.output = dir_ + "/capture.ordo";
    co.source = "ordo demo: " + QuoteCommand(co.command);
    co.duration_ns =
        d.value() + 10ull * 1000000000ull;  // the command ends it; this is a safety net
    std::fflush(stdout);
    auto r = capture::Run(co);
    if (r.ok()) {
      source_ = "live eBPF capture";
      return co.output;
    }
    if (r.status().code() != StatusCode::kPermissionDenied) return r.status();
    fmt::print(
        "   capture is not possible here: {}\n   continuing from the committed sample trace {}\n",
        r.status().message(), o_.sample);
    source_ = "committed sample (no eBPF privilege)";
    return o_.sample;
  }

  int Reproduce() {
    Step(fmt::format(
        "replay on the legacy engine with the default exploration (auto: a POS run analyzed "
        "in-process, then targeted runs that force each predicted ordering), until every "
        "prediction is confirmed (at most {} runs)",
        o_.max_runs));
    auto pct = Lab(engine::EngineMode::kLegacy, sched::Strategy::kPos, 1, o_.max_runs);
    pct.history_path = dir_ + "/fail.ordo";
    auto campaign = lab::ReplayAuto(trace_, pct);
    if (!campaign.ok()) return Fail(campaign.status());
    signatures_ = campaign->signatures;
    const replay::ReplaySummary* r = &campaign->replay;
    for (const auto& sig : signatures_) {
      fmt::print("   {} predicted in run {}: {}\n", sig.rule, sig.predicted_in_run,
                 sig.confirmed
                     ? fmt::format("confirmed by run {}", sig.confirmed_by_run)
                     : fmt::format("not confirmed in {} targeted runs", sig.targeted_runs));
    }
    if (!r->first_failure) {
      fmt::print(
          "   no FPRE004 in {} runs: this capture holds no racing write and burst read on one "
          "block\n",
          r->runs);
      return kExitOk;
    }
    failure_ = *r->first_failure;
    auto_runs_ = failure_.run + 1;
    fmt::print(
        "   FPRE004 in run {} (seed {}): replay thread {}, its operation #{}\n   {}\n   reproduce: "
        "{}\n",
        failure_.run, failure_.seed, failure_.thread, failure_.op_index, failure_.message,
        replay::ReproduceCommand(trace_, pct, failure_));

    Step("the failing run again, alone (its strategy, seed and focus)");
    auto again = Lab(engine::EngineMode::kLegacy, failure_.strategy, failure_.seed, 1);
    again.focus = failure_.focus;
    again.history_path = dir_ + "/again.ordo";
    auto a = replay::Replay(trace_, again);
    if (!a.ok()) return Fail(a.status());
    same_ = a->first_failure && a->first_failure->message == failure_.message &&
            a->first_failure->thread == failure_.thread &&
            a->first_failure->op_index == failure_.op_index &&
            SameBytes(dir_ + "/fail.ordo", dir_ + "/again.ordo");
    fmt::print("   {}\n",
               same_ ? "same failure (same thread, operation, message) and a byte-identical history"
                     : "DIFFERENT outcome: the run did not repeat");

    Step(
        fmt::format("for comparison, free-running replay (real concurrency, no control) until "
                    "FPRE004 (at most {} runs)",
                    o_.max_runs / 2));
    auto free_runs = Lab(engine::EngineMode::kLegacy, sched::Strategy::kFree, 1, o_.max_runs / 2);
    free_runs.until_fail = true;
    auto f = replay::Replay(trace_, free_runs);
    if (!f.ok()) return Fail(f.status());
    free_runs_ = f->first_failure ? f->first_failure->run + 1 : 0;
    free_made_ = f->runs;
    fmt::print("   {}\n", free_runs_
                              ? fmt::format("FPRE004 in run {} (not repeatable: timing decides)",
                                            free_runs_ - 1)
                              : fmt::format("no FPRE004 in {} runs", f->runs));
    return kExitOk;
  }

  static bool SameBytes(const std::string& a, const std::string& b) {
    std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
    std::stringstream sa, sb;
    sa << fa.rdbuf();
    sb << fb.rdbuf();
    return fa && fb && sa.str() == sb.str();
  }

  int Examine() {
    if (auto_runs_ > 0) {
      Step("analyze the failing run's history");
      auto a = analyze::AnalyzeTrace(dir_ + "/fail.ordo");
      if (!a.ok()) return Fail(a.status());
      for (const auto& f : a->findings) {
        rules_[f.rule] += f.count;
        if (f.manifested) manifested_ = f.rule;
      }
      fmt::print("   {} engine events in {:.3f} s, {} distinct findings\n", a->events, a->seconds,
                 a->findings.size());
      const analyze::TextRenderer text({}, "   ");
      for (const auto& f : a->findings) {
        if (f.manifested) fmt::print("{}", text.Render(f));
      }

      Step("minimize: the smallest trace that still fails");
      lab::MinimizeOptions mo;
      mo.mode = engine::EngineMode::kLegacy;
      mo.seed = failure_.seed;
      auto budget = ParseDuration(o_.minimize_time);
      if (!budget.ok()) return Fail(budget.status());
      mo.max_seconds = static_cast<double>(budget.value()) / 1e9;
      mo.max_runs = o_.minimize_runs;
      auto m = lab::Minimize(trace_, dir_ + "/min.ordo", mo);
      if (!m.ok()) return Fail(m.status());
      minimized_ = m.value();
      fmt::print(
          "   {}/min.ordo: {} of {} operations, {} threads, {} replay runs in {:.1f} s\n   "
          "reproduce: {}\n",
          dir_, minimized_.minimized_ops, minimized_.original_ops, minimized_.threads,
          minimized_.runs, minimized_.seconds, minimized_.reproduce);
    }

    Step(fmt::format("the fixed engine on the same trace, seeds 1..{}", o_.fixed_runs));
    auto fixed = Lab(engine::EngineMode::kFixed, sched::Strategy::kPos, 1, o_.fixed_runs);
    fixed.history_path = dir_ + "/fixed.ordo";
    lab::AutoOptions every_run;
    every_run.stop_when_settled = false;  // nothing is predicted: POS run after run
    auto campaign = lab::ReplayAuto(trace_, fixed, every_run);
    if (!campaign.ok()) return Fail(campaign.status());
    const replay::ReplaySummary* r = &campaign->replay;
    fixed_runs_ = r->runs;
    fixed_failures_ = r->failures;
    fmt::print("   {} runs, {} FPRE004\n", r->runs, r->failures);

    Step("reports");
    std::vector<std::string> histories;
    if (auto_runs_ > 0) histories.push_back(dir_ + "/fail.ordo");
    histories.push_back(dir_ + "/fixed.ordo");
    for (const char* ext : {"html", "md"}) {
      std::string out = fmt::format("{}/report.{}", dir_, ext);
      if (Status s = lab::WriteReport(histories, out); !s.ok()) return Fail(s);
      fmt::print("   {}\n", out);
    }
    return kExitOk;
  }

  int Table() {
    Step("summary");
    auto row = [](const std::string& k, const std::string& v) {
      fmt::print("   {:<34} {}\n", k, v);
    };
    row("trace", fmt::format("{} ({})", trace_, source_));
    row("events captured", fmt::format("{}", facts_.events));
    row("bytes/event",
        fmt::format("{:.2f}", facts_.events ? double(facts_.bytes) / double(facts_.events) : 0.0));
    row("lost events", fmt::format("{}", facts_.lost));
    row("runs to reproduce, auto",
        auto_runs_ ? fmt::format("{} ({} run, seed {})", auto_runs_,
                                 sched::StrategyName(failure_.strategy), failure_.seed)
                   : fmt::format("not in {}", o_.max_runs));
    std::string status;
    for (const auto& sig : signatures_) {
      status += fmt::format("{}{} {}", status.empty() ? "" : ", ", sig.rule,
                            sig.confirmed ? fmt::format("confirmed (run {})", sig.confirmed_by_run)
                                          : std::string("predicted only"));
    }
    row("predicted / confirmed", status.empty() ? "nothing predicted" : status);
    row("runs to reproduce, free",
        free_runs_ ? fmt::format("{}", free_runs_) : fmt::format("not in {}", free_made_));
    row("same seed, same failure", auto_runs_ ? (same_ ? "yes" : "NO") : "-");
    std::string rules;
    for (const auto& [rule, n] : rules_)
      rules += fmt::format("{}{} x{}", rules.empty() ? "" : ", ", rule, n);
    row("findings by rule",
        rules.empty() ? "none"
                      : rules + (manifested_.empty() ? "" : " (manifested: " + manifested_ + ")"));
    row("minimized", auto_runs_
                         ? fmt::format("{} of {} operations, {} threads", minimized_.minimized_ops,
                                       minimized_.original_ops, minimized_.threads)
                         : "-");
    row("fixed engine",
        fmt::format("{} of {} runs clean", fixed_runs_ - fixed_failures_, fixed_runs_));
    row("reports", fmt::format("{0}/report.html, {0}/report.md", dir_));
    row("demo time", fmt::format("{:.1f} s", Since(t0_)));
    if (fixed_failures_ > 0) return kExitFound;  // the fix does not hold: that is news
    if (auto_runs_ > 0 && !same_) return kExitBadInput;
    return kExitOk;
  }

  const DemoOptions& o_;
  std::string dir_;
  replay::TargetClaim claim_;  // the workdir's lock, held until the demo ends
  SteadyClock::time_point t0_;
  std::string trace_, source_;
  TraceFacts facts_;
  replay::RunOutcome failure_;
  int auto_runs_ = 0, free_runs_ = 0, free_made_ = 0;
  bool same_ = false;
  std::map<std::string, uint64_t> rules_;
  std::vector<lab::SignatureStatus> signatures_;
  std::string manifested_;
  lab::MinimizeResult minimized_;
  int fixed_runs_ = 0, fixed_failures_ = 0;
};

}  // namespace

void setup_demo(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd =
      app.add_subcommand("demo", "Capture loadgen, reproduce FPRE004, analyze, minimize, report");
  cmd->add_option("--workdir", o->workdir, "where the traces, histories and reports go")
      ->capture_default_str();
  cmd->add_option("--from", o->from, "start from this trace instead of capturing");
  cmd->add_option("--sample", o->sample, "trace used when capture is not possible")
      ->capture_default_str();
  cmd->add_option("--capture-duration", o->capture_duration, "how long loadgen runs under capture")
      ->capture_default_str();
  cmd->add_option("--rate", o->rate, "loadgen API requests per second")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-runs", o->max_runs, "pct runs to try before giving up")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--fixed-runs", o->fixed_runs, "seeds the fixed engine is replayed with")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--minimize-time", o->minimize_time, "time budget of the minimization")
      ->capture_default_str();
  cmd->add_option("--minimize-runs", o->minimize_runs, "replay-run budget of the minimization")
      ->capture_default_str();
  cmd->callback([o, exit_code] { *exit_code = Demo(*o).Run(); });
}

}  // namespace ordo::cli
