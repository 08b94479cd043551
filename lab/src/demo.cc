// The demo story (demo.h): the trace to work from, and the failure reproduced
// under auto exploration, again alone, and free-running for comparison.
#include "ordo/lab/demo.h"

#include <fmt/core.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "demo_story.h"
#include "ordo/capture/capture.h"
#include "ordo/trace/reader.h"
#include "ordo/units.h"

namespace ordo::lab {

namespace {

namespace fs = std::filesystem;
constexpr char kDemoMarker[] = ".ordo-demo";

// What a demo writes at most (the host engine, the lab's engine template and
// working copy, traces, histories, reports), checked before it starts.
constexpr uint64_t kDemoBytes = 256ull << 20;

// The command line as a shell reads it, for the capture's provenance.
std::string CommandLine(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : " ") + replay::ShellWord(a);
  return out;
}

}  // namespace

Status CheckDemoWorkdir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec) && !fs::exists(dir + "/" + kDemoMarker, ec))
    return Status::InvalidArgument(dir + ": not empty and not made by `ordo demo`");
  return Status::Ok();
}

// The demo's directory: created, or one an earlier demo made (then reused).
Status ClaimWorkdir(const std::string& dir, replay::TargetClaim* claim) {
  ORDO_RETURN_IF_ERROR(CheckDemoWorkdir(dir));
  std::error_code ec;
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

bool SameBytes(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  std::stringstream sa, sb;
  sa << fa.rdbuf();
  sb << fb.rdbuf();
  return fa && fb && sa.str() == sb.str();
}

Result<DemoResult> RunDemo(const DemoOptions& options) { return DemoStory(options).Run(); }

Result<DemoResult> DemoStory::Run() {
  ORDO_RETURN_IF_ERROR(ClaimWorkdir(dir_, &claim_));
  auto trace = Obtain();
  if (!trace.ok()) return trace.status();
  trace_ = trace.value();
  auto facts = Facts(trace_);
  if (!facts.ok()) return facts.status();
  facts_ = facts.value();
  fmt::print("   {}: {} events ({} engine API requests), {} lost, {:.2f} bytes/event\n", trace_,
             facts_.events, facts_.api_ops, facts_.lost,
             facts_.events ? double(facts_.bytes) / double(facts_.events) : 0.0);
  ORDO_RETURN_IF_ERROR(Reproduce());
  if (auto_runs_ == 0 && o_.from.empty() && trace_ != o_.sample) {
    Step("this capture did not reproduce; continuing from the committed sample trace " + o_.sample);
    trace_ = o_.sample;
    source_ = "committed sample (the capture did not reproduce)";
    auto f = Facts(trace_);
    if (!f.ok()) return f.status();
    facts_ = f.value();
    ORDO_RETURN_IF_ERROR(Reproduce());
  }
  ORDO_RETURN_IF_ERROR(Examine());
  return Table();
}

void DemoStory::Step(const std::string& what) {
  std::fflush(stdout);  // in order with the traced command's output, also in a log
  fmt::print("\n== [{:5.1f} s] {}\n", Since(t0_), what);
  std::fflush(stdout);
}

replay::ReplayOptions DemoStory::Lab(engine::EngineMode mode, sched::Strategy strategy,
                                     uint64_t seed, int runs) const {
  replay::ReplayOptions ro;
  ro.target = dir_ + "/lab";
  ro.engine_mode = mode;
  ro.strategy = strategy;
  ro.seed = seed;
  ro.runs = runs;
  return ro;
}

Result<std::string> DemoStory::Obtain() {
  if (!o_.from.empty()) {
    Step("starting from " + o_.from + " (--from)");
    source_ = "given trace";
    return o_.from;
  }
  auto d = ParseDuration(o_.capture_duration);
  if (!d.ok()) return d.status();
  const std::string& self = o_.ordo_binary;
  if (self.empty())
    return Status::InvalidArgument("demo: no ordo executable to capture running loadgen");
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
  co.source = "ordo demo: " + CommandLine(co.command);
  co.duration_ns = d.value() + 10ull * 1000000000ull;  // the command ends it; this is a safety net
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

Status DemoStory::Reproduce() {
  Step(fmt::format(
      "replay on the legacy engine with the default exploration (auto: a POS run analyzed "
      "in-process, then targeted runs that force each predicted ordering), until every "
      "prediction is confirmed (at most {} runs)",
      o_.max_runs));
  auto pct = Lab(engine::EngineMode::kLegacy, sched::Strategy::kPos, 1, o_.max_runs);
  pct.history_path = dir_ + "/fail.ordo";
  auto campaign = lab::ReplayAuto(trace_, pct);
  if (!campaign.ok()) return campaign.status();
  signatures_ = campaign->signatures;
  const replay::ReplaySummary* r = &campaign->replay;
  for (const auto& sig : signatures_) {
    fmt::print("   {} predicted in run {}: {}\n", sig.rule, sig.predicted_in_run,
               sig.confirmed ? fmt::format("confirmed by run {}", sig.confirmed_by_run)
                             : fmt::format("not confirmed in {} targeted runs", sig.targeted_runs));
  }
  if (!r->first_failure) {
    fmt::print(
        "   no FPRE004 in {} runs: this capture holds no racing write and burst read on one "
        "block\n",
        r->runs);
    return Status::Ok();
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
  if (!a.ok()) return a.status();
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
  if (!f.ok()) return f.status();
  free_runs_ = f->first_failure ? f->first_failure->run + 1 : 0;
  free_made_ = f->runs;
  fmt::print("   {}\n",
             free_runs_
                 ? fmt::format("FPRE004 in run {} (not repeatable: timing decides)", free_runs_ - 1)
                 : fmt::format("no FPRE004 in {} runs", f->runs));
  return Status::Ok();
}

}  // namespace ordo::lab
