// `ordo replay FILE --target DIR ...`: replay a trace against the engine or
// plain files, exploring schedules until FPRE004 shows.
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common.h"
#include "engine_option.h"
#include "ordo/file_io.h"
#include "ordo/lab/explore.h"
#include "ordo/replay/replayer.h"
#include "ordo/units.h"
#include "ordo/util/atomic_output.h"
#include "shard_spec.h"

namespace ordo::cli {

namespace {

std::atomic<bool> g_stop{false};
void OnStopSignal(int sig) {
  if (g_stop.exchange(true)) {  // a second signal: stop now, cleaning up
    RemoveTemporariesNow();
    signal(sig, SIG_DFL);
    raise(sig);
  }
}

struct ReplayCliOptions {
  std::string file;
  std::string target;
  std::string backend = "engine";
  std::string engine = "fixed";
  std::string timing = "fast";
  std::string explore = "auto";
  std::vector<std::string> focus;
  uint64_t seed = 1;
  int depth = 10;
  int runs = 0;  // 0: auto decides (up to kAutoRuns), else 1
  std::string shard;
  bool until_fail = false;
  std::string history;
  bool json = false;
  bool force = false;
  bool in_process = false;
  double run_timeout = 300;
  bool direct = false;
  uint32_t max_threads = 1024;
  std::string max_file_size;
};

nlohmann::ordered_json Percentiles(const replay::LatencyHistogram& h) {
  return {{"count", h.count()},
          {"p50_us", h.Percentile(0.50) / 1e3},
          {"p99_us", h.Percentile(0.99) / 1e3},
          {"p999_us", h.Percentile(0.999) / 1e3}};
}

// Runs `--explore auto` makes when --runs is not given: it ends earlier once
// every predicted signature is confirmed or its targeted runs are spent.
constexpr int kAutoRuns = 10;

// What a failing run found: FPRE004 (a read-verify failure), other
// corruption an engine of your own reported, or that engine crashing/hanging.
const char* FailureKind(const replay::RunOutcome& r) {
  if (r.hung) return "hang";
  if (r.deadlocked) return "deadlock";
  if (r.crashed) return "crash";
  if (r.failure_kind != ORDO_FAILURE_VERIFY) return "corruption";
  return "FPRE004";
}

int RunReplay(const ReplayCliOptions& c) {
  replay::ReplayOptions o;
  o.target = c.target;
  o.force = c.force;
  o.backend = c.backend == "file" ? replay::Backend::kFile : replay::Backend::kEngine;
  if (plugin::IsEngineSpec(c.engine)) {
    plugin::EngineSpec spec = plugin::ParseEngineSpec(c.engine);
    o.engine_path = spec.path;
    o.engine_config = spec.config;
    o.engine_in_process = c.in_process;
    o.run_timeout_s = c.run_timeout;
  } else {
    engine::ParseEngineMode(c.engine, &o.engine_mode);
  }
  o.direct_io = c.direct;
  if (c.timing == "fast") {
    o.timing = replay::Timing::kFast;
  } else if (c.timing == "original") {
    o.timing = replay::Timing::kOriginal;
  } else if (c.timing.rfind("scale:", 0) == 0) {
    o.timing = replay::Timing::kScaled;
    try {
      o.speed = std::stod(c.timing.substr(6));
    } catch (...) {
      o.speed = 0;
    }
    if (!(o.speed > 0))
      return Fail(Status::InvalidArgument("--timing scale:X needs a number X > 0 (e.g. scale:2)"),
                  c.json);
  } else {
    return Fail(Status::InvalidArgument("--timing must be fast, original or scale:X"), c.json);
  }
  const bool auto_explore = c.explore == "auto";
  if (!auto_explore && !sched::ParseStrategy(c.explore, &o.strategy))
    return Fail(Status::InvalidArgument("unknown exploration strategy '" + c.explore + "'"),
                c.json);
  for (const std::string& text : c.focus) {
    engine::Focus f;
    if (!engine::ParseFocus(text, &f)) {
      return Fail(Status::InvalidArgument("--focus must be RULE:FILE:BLOCK:THREAD (e.g. " +
                                          std::string("FPRE004-A:0:12:3), not '") + text + "'"),
                  c.json);
    }
    o.focus.push_back(f);
  }
  if (o.strategy == sched::Strategy::kTargeted && o.focus.empty())
    return Fail(Status::InvalidArgument("--explore targeted needs at least one --focus"), c.json);
  o.seed = c.seed;
  o.depth = c.depth;
  o.runs = c.runs > 0 ? c.runs : auto_explore ? kAutoRuns : 1;
  if (!c.shard.empty()) {
    auto shard = ParseShard(c.shard, [](const char* name) { return std::getenv(name); });
    if (!shard.ok()) return Fail(shard.status(), c.json);
    o.shard_index = shard->index;
    o.shard_count = shard->count;
  }
  o.until_fail = c.until_fail;
  o.history_path = c.history;
  o.max_threads = c.max_threads;
  if (!c.max_file_size.empty()) {
    auto m = ParseSize(c.max_file_size);
    if (!m.ok()) return Fail(m.status(), c.json);
    o.max_target_file_bytes = m.value();
  }
  const bool tty = isatty(2) && !c.json;
  if (tty) {
    o.on_run = [](int run, int runs, bool failed) {
      fmt::print(stderr, "\rreplay: run {}/{}{}", run + 1, runs, failed ? " FPRE004" : "        ");
      if (run + 1 == runs || failed) fmt::print(stderr, "\n");
    };
  }
  if (!c.history.empty()) {
    if (Status s = CheckOutput(c.history, {c.file}); !s.ok()) return Fail(s, c.json);
  }
  o.stop = &g_stop;
  signal(SIGINT, OnStopSignal);  // the first stops after the run in progress, with a summary
  signal(SIGTERM, OnStopSignal);
  auto input = SpooledInput::Open(c.file);  // stdin or a FIFO: read once, replayed from a copy
  if (!input.ok()) return Fail(input.status(), c.json);
  lab::AutoSummary campaign;
  if (auto_explore && o.backend == replay::Backend::kEngine) {
    lab::AutoOptions ao;
    ao.stop_when_settled = c.runs == 0;
    auto res = lab::ReplayAuto((*input)->path(), o, ao);
    if (!res.ok()) return Fail(res.status(), c.json);
    campaign = std::move(res).value();
  } else {
    auto res = replay::Replay((*input)->path(), o);
    if (!res.ok()) return Fail(res.status(), c.json);
    campaign.replay = std::move(res).value();
  }
  const replay::ReplaySummary& s = campaign.replay;
  // FPRE004 wins; then operations that failed otherwise (the replay did not
  // do what the trace did, so it proves nothing: exit 2); then a shard or an
  // interrupted replay that made no runs; only then a pass.
  int crashes = 0, corruptions = 0;
  for (const auto& r : s.outcomes) {
    if (!r.failed) continue;
    crashes += r.crashed ? 1 : 0;
    corruptions += std::string_view(FailureKind(r)) == "corruption" ? 1 : 0;
  }
  const int fpre004 = static_cast<int>(s.failures) - crashes - corruptions;
  const char* outcome = fpre004 > 0       ? "FPRE004"
                        : corruptions > 0 ? "corruption"
                        : s.failures > 0  ? "crash"
                        : s.errors > 0    ? "error"
                        : s.runs == 0     ? "no runs"
                                          : "pass";
  const int exit_code = s.failures > 0 ? kExitFound : s.errors > 0 ? kExitBadInput : kExitOk;
  replay::LatencyHistogram all;
  for (const auto& h : s.latency) all.Merge(h);
  double ops_per_s = s.seconds > 0 ? static_cast<double>(s.ops) / s.seconds : 0;
  const char* strategy = o.backend == replay::Backend::kFile ? "none" : c.explore.c_str();
  nlohmann::ordered_json signatures = nlohmann::ordered_json::array();
  for (const auto& sig : campaign.signatures) {
    nlohmann::ordered_json attempts = nlohmann::ordered_json::array();
    for (const auto& t : sig.attempts) {
      nlohmann::ordered_json focus = nlohmann::ordered_json::array();
      for (const auto& f : t.focus) focus.push_back(engine::FocusString(f));
      attempts.push_back({{"run", t.run},
                          {"focus", focus},
                          {"outcome", t.failed ? "FPRE004" : "pass"},
                          {"holds",
                           {{"started", t.holds.started},
                            {"matched", t.holds.matched},
                            {"expired", t.holds.expired}}}});
    }
    signatures.push_back({{"rule", sig.rule},
                          {"signature", sig.signature},
                          {"status", sig.confirmed ? "confirmed" : "predicted"},
                          {"predicted_in_run", sig.predicted_in_run},
                          {"targeted_runs", sig.targeted_runs},
                          {"attempts", attempts},
                          {"confirmed_by_run", sig.confirmed_by_run},
                          {"reproduce", sig.confirmed ? nlohmann::ordered_json(sig.reproduce)
                                                      : nlohmann::ordered_json(nullptr)}});
  }
  if (c.json) {
    nlohmann::ordered_json first = nullptr;
    if (s.first_failure) {
      const auto& f = *s.first_failure;
      first = {{"run", f.run},
               {"seed", f.seed},
               {"strategy", sched::StrategyName(f.strategy)},
               {"thread", f.thread},
               {"op_index", f.op_index},
               {"history_event", f.history_seq},
               {"kind", FailureKind(f)},
               {"message", f.message},
               {"reproduce", replay::ReproduceCommand(c.file, o, f)}};
    }
    nlohmann::ordered_json failing = nlohmann::ordered_json::array();
    for (const auto& r : s.outcomes) {
      if (r.failed) {
        failing.push_back({{"run", r.run},
                           {"seed", r.seed},
                           {"strategy", sched::StrategyName(r.strategy)},
                           {"holds",
                            {{"started", r.holds.started},
                             {"matched", r.holds.matched},
                             {"expired", r.holds.expired}}},
                           {"kind", FailureKind(r)},
                           {"message", r.message},
                           {"reproduce", replay::ReproduceCommand(c.file, o, r)}});
      }
    }
    nlohmann::ordered_json j = {
        {"trace", c.file},
        {"backend", c.backend},
        {"engine", c.engine},
        {"runs", s.runs},
        {"runs_planned", o.runs},
        {"interrupted", g_stop.load()},
        {"shard", fmt::format("{}/{}", o.shard_index + 1, o.shard_count)},
        {"until_fail", c.until_fail},
        {"failures", s.failures},
        {"first_failure", first},
        {"failing_runs", failing},
        {"outcome", outcome},
        {"seed", c.seed},
        {"strategy", strategy},
        {"depth", c.depth},
        {"findings", signatures},
        {"timing", c.timing},
        {"threads", s.threads},
        {"files", s.files},
        {"api_level", s.api_level},
        {"ops", s.ops},
        {"errors", s.errors},
        {"first_error",
         s.errors ? nlohmann::ordered_json(s.first_error) : nlohmann::ordered_json(nullptr)},
        {"seconds", s.seconds},
        {"ops_per_s", ops_per_s},
        {"p50_us", all.Percentile(0.50) / 1e3},
        {"p99_us", all.Percentile(0.99) / 1e3},
        {"p999_us", all.Percentile(0.999) / 1e3},
        {"per_op",
         {{"read", Percentiles(s.latency[0])},
          {"write", Percentiles(s.latency[1])},
          {"sync", Percentiles(s.latency[2])}}},
        {"trace_duration_ns", s.trace_duration_ns},
        {"issue_error_p99_us", s.issue_error.Percentile(0.99) / 1e3},
        {"history",
         s.history_written ? nlohmann::ordered_json(c.history) : nlohmann::ordered_json(nullptr)},
        {"exit_code", exit_code},
    };
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("replayed {} ({} threads, {} files, {} level) on the {} backend{}\n", c.file,
               s.threads, s.files, s.api_level ? "engine API" : "syscall", c.backend,
               o.backend == replay::Backend::kEngine
                   ? fmt::format(" ({} engine, explore {})", c.engine, strategy)
                   : "");
    if (o.shard_count > 1) {
      fmt::print("shard {}/{}: runs {}, {}, ... of 0..{} (seed {} + run)\n", o.shard_index + 1,
                 o.shard_count, o.shard_index, o.shard_index + o.shard_count, c.runs - 1, c.seed);
    }
    fmt::print("runs {}, FPRE004 in {}{}{}, {} ops in {:.2f} s ({:.0f} ops/s), {} other errors\n",
               s.runs, fpre004,
               corruptions ? fmt::format(", other corruption in {}", corruptions) : "",
               crashes ? fmt::format(", the engine crashed in {}", crashes) : "", s.ops, s.seconds,
               ops_per_s, s.errors);
    fmt::print("{:<6} {:>10} {:>10} {:>10} {:>10}\n", "op", "count", "p50 us", "p99 us",
               "p99.9 us");
    const char* names[] = {"read", "write", "sync"};
    for (int k = 0; k < 3; ++k) {
      const auto& h = s.latency[k];
      if (h.count() == 0) continue;
      fmt::print("{:<6} {:>10} {:>10.1f} {:>10.1f} {:>10.1f}\n", names[k], h.count(),
                 h.Percentile(0.5) / 1e3, h.Percentile(0.99) / 1e3, h.Percentile(0.999) / 1e3);
    }
    if (o.timing != replay::Timing::kFast && s.issue_error.count()) {
      fmt::print("issue-time error vs the trace: p50 {:.1f} us, p99 {:.1f} us\n",
                 s.issue_error.Percentile(0.5) / 1e3, s.issue_error.Percentile(0.99) / 1e3);
    }
    if (s.first_failure) {
      const auto& f = *s.first_failure;
      if (f.crashed) {
        fmt::print("\nthe engine {} in run {} (seed {}): a {} finding\n  {}\n",
                   f.hung         ? "hung"
                   : f.deadlocked ? "deadlocked"
                                  : "crashed",
                   f.run, f.seed, FailureKind(f), f.message);
      } else if (std::string_view(FailureKind(f)) == "corruption") {
        fmt::print(
            "\nthe engine detected corruption in run {} (seed {}): thread {}, its "
            "operation #{}\n  {}\n",
            f.run, f.seed, f.thread, f.op_index, f.message);
      } else {
        fmt::print(
            "\nFPRE004 reproduced in run {} (seed {}): thread {}, its operation #{}, history "
            "event #{}\n  {}\n",
            f.run, f.seed, f.thread, f.op_index, f.history_seq, f.message);
      }
      fmt::print("reproduce with:\n  {}\n", replay::ReproduceCommand(c.file, o, f));
    }
    for (const auto& sig : campaign.signatures) {
      if (sig.confirmed) {
        fmt::print("{} confirmed in run {} ({} targeted run{}): {}\n", sig.rule,
                   sig.confirmed_by_run, sig.targeted_runs, sig.targeted_runs == 1 ? "" : "s",
                   sig.reproduce);
      } else {
        fmt::print("{} predicted in run {}, not confirmed in {} targeted run{}\n", sig.rule,
                   sig.predicted_in_run, sig.targeted_runs, sig.targeted_runs == 1 ? "" : "s");
      }
    }
    const char* interrupted = g_stop ? "; interrupted, the summary covers the runs made" : "";
    if (s.errors > 0) {
      fmt::print("\n{} operation{} failed other than FPRE004; the first: {}\n", s.errors,
                 s.errors == 1 ? "" : "s", s.first_error);
    }
    if (s.failures == 0 && s.errors > 0) {
      fmt::print("outcome: error (the replay did not execute the trace as captured){}\n",
                 interrupted);
    } else if (s.runs == 0) {
      fmt::print("\noutcome: no runs ({}){}\n",
                 o.shard_count > 1 ? fmt::format("shard {}/{} has none of the {} runs",
                                                 o.shard_index + 1, o.shard_count, o.runs)
                                   : std::string("none was made"),
                 interrupted);
    } else if (!s.first_failure) {
      fmt::print("\noutcome: pass (no FPRE004 in {} runs){}\n", s.runs, interrupted);
    }
    if (s.history_written) {
      fmt::print("history of the {} run: {}\n",
                 s.first_failure && !s.first_failure->crashed ? "failing" : "last", c.history);
    } else if (!c.history.empty()) {
      fmt::print("no history written: no run completed (a crashed run keeps none)\n");
    }
  }
  return exit_code;
}

}  // namespace

void setup_replay(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ReplayCliOptions>();
  CLI::App* cmd = app.add_subcommand("replay", "Replay a trace against the engine or plain files");
  cmd->add_option("FILE", o->file, "trace to replay")->required();
  cmd->add_option("--target", o->target, "directory replay may write in")->required();
  cmd->add_option("--backend", o->backend, "what to drive")
      ->check(CLI::IsMember({"engine", "file"}))
      ->capture_default_str();
  cmd->add_option("--engine", o->engine,
                  "the built-in engine's orderings (legacy, fixed), or an engine of your own: "
                  "PATH.so[:key=value,...] (see docs/engines.md)")
      ->check(EngineOption())
      ->capture_default_str();
  cmd->add_option("--run-timeout", o->run_timeout,
                  "seconds one run of an engine of your own may take before it is a hang finding "
                  "(0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--in-process", o->in_process,
                "run an engine of your own (--engine PATH.so) in ordo's process, not a child "
                "per run: faster, but a crash in it ends ordo (for gdb)");
  cmd->add_option("--timing", o->timing, "fast, original, or scale:X (X times faster)")
      ->capture_default_str();
  cmd->add_option("--explore", o->explore, "schedule exploration (engine backend)")
      ->check(CLI::IsMember({"auto", "pos", "targeted", "pct", "random", "none"}))
      ->capture_default_str();
  cmd->add_option("--focus", o->focus,
                  "targeted: the race to force, RULE:FILE:BLOCK:THREAD (as auto prints it)");
  cmd->add_option("--seed", o->seed, "seed of the first run (run i uses seed + i)")
      ->capture_default_str();
  cmd->add_option("--depth", o->depth, "PCT bug depth")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--runs", o->runs,
                  "runs to make (default: auto stops once its predictions are confirmed, at most "
                  "10 runs; other strategies make 1)")
      ->check(CLI::Range(1, 100000000));
  cmd->add_option("--shard", o->shard,
                  "K/N: make only runs i with i % N == K-1, to split the seeds across machines; "
                  "auto: K and N from a Slurm job array or a Kubernetes Indexed Job "
                  "(docs/scaling.md)");
  cmd->add_flag("--until-fail", o->until_fail, "stop at the first FPRE004");
  cmd->add_option("--history", o->history, "write the failing (or last) run's engine history here");
  cmd->add_flag("--json", o->json, "print one JSON document");
  cmd->add_flag("--force", o->force, "use a non-empty target ordo did not create");
  cmd->add_flag("--direct", o->direct, "file backend: open files with O_DIRECT");
  cmd->add_option("--max-threads", o->max_threads, "refuse traces with more threads")
      ->capture_default_str();
  cmd->add_option("--max-file-size", o->max_file_size,
                  "refuse traces declaring a larger file (default: half the target's disk)");
  cmd->callback([o, exit_code] { *exit_code = RunReplay(*o); });
}

}  // namespace ordo::cli
