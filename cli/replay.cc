// `ordo replay FILE --target DIR ...`: replay a trace against the engine or
// plain files, exploring schedules until FPRE004 shows. Binds the options to
// replay::ReplayOptions, replays through lab::Explore, and prints the report
// as text or JSON (ordo/replay/report.h, ordo/replay/summary_json.h).
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "common.h"
#include "engine_option.h"
#include "ordo/file_io.h"
#include "ordo/lab/explore.h"
#include "ordo/replay/report.h"
#include "ordo/replay/summary_json.h"
#include "ordo/units.h"
#include "ordo/util/atomic_output.h"
#include "shard_spec.h"
#include "strategy_option.h"

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
  bool explore_given = false;  // --explore was on the command line
};

// Runs `--explore auto` makes when --runs is not given: it ends earlier once
// every predicted signature is confirmed or its targeted runs are spent.
constexpr int kAutoRuns = 10;

// The replay the command line asks for; an error names the flag.
Status BindOptions(const ReplayCliOptions& c, replay::ReplayOptions* o) {
  o->target = c.target;
  o->force = c.force;
  replay::ParseBackend(c.backend, &o->backend);  // CLI11 checked it
  if (plugin::IsEngineSpec(c.engine)) {
    plugin::EngineSpec spec = plugin::ParseEngineSpec(c.engine);
    o->engine_path = spec.path;
    o->engine_config = spec.config;
    o->engine_in_process = c.in_process;
    o->run_timeout_s = c.run_timeout;
  } else {
    engine::ParseEngineMode(c.engine, &o->engine_mode);
  }
  o->direct_io = c.direct;
  ORDO_RETURN_IF_ERROR(
      replay::ParseTiming(c.timing, &o->timing, &o->speed).WithContext("--timing"));
  const bool file_backend = o->backend == replay::Backend::kFile;
  if (file_backend && ((c.explore_given && c.explore != "none") || !c.focus.empty())) {
    return Status::InvalidArgument(
        "the file backend replays plain files with real threads and real timing, as the trace "
        "did: it has no ordering points to schedule, so --explore " +
        (c.focus.empty() ? c.explore : std::string("targeted/--focus")) +
        " means nothing there (use --backend engine, or --explore none)");
  }
  const bool auto_explore = c.explore == "auto" && !file_backend;
  if (file_backend) o->strategy = sched::Strategy::kFree;
  if (!auto_explore && !file_backend && !sched::ParseStrategy(c.explore, &o->strategy))
    return Status::InvalidArgument("unknown exploration strategy '" + c.explore + "'");
  for (const std::string& text : c.focus) {
    engine::Focus f;
    if (!engine::ParseFocus(text, &f)) {
      return Status::InvalidArgument(
          "--focus must be RULE:FILE:BLOCK:THREAD (e.g. FPRE004-A:0:12:3), not '" + text + "'");
    }
    o->focus.push_back(f);
  }
  if (o->strategy == sched::Strategy::kTargeted && o->focus.empty())
    return Status::InvalidArgument("--explore targeted needs at least one --focus");
  o->seed = c.seed;
  o->depth = c.depth;
  o->runs = c.runs > 0 ? c.runs : auto_explore ? kAutoRuns : 1;
  if (!c.shard.empty()) {
    auto shard = ParseShard(c.shard, [](const char* name) { return std::getenv(name); });
    if (!shard.ok()) return shard.status();
    o->shard_index = shard->index;
    o->shard_count = shard->count;
  }
  o->until_fail = c.until_fail;
  o->history_path = c.history;
  o->max_threads = c.max_threads;
  if (!c.max_file_size.empty()) {
    auto m = ParseSize(c.max_file_size);
    if (!m.ok()) return m.status();
    o->max_target_file_bytes = m.value();
  }
  return Status::Ok();
}

// The report's request, as the command line spelled it.
replay::ReplayRequest RequestOf(const ReplayCliOptions& c, const replay::ReplayOptions& o) {
  replay::ReplayRequest q;
  q.trace = c.file;
  q.backend = c.backend;
  q.engine = c.engine;
  q.strategy = o.backend == replay::Backend::kFile ? "none" : c.explore;
  q.seed = c.seed;
  q.depth = c.depth;
  q.timing = c.timing;
  q.runs_planned = o.runs;
  q.shard_index = o.shard_index;
  q.shard_count = o.shard_count;
  q.until_fail = c.until_fail;
  q.history = c.history;
  return q;
}

// Library errors and outcomes name ReplayOptions fields; the user sets them
// with flags. A limit exceeded is max_threads, or the run timeout of an
// engine of the user's own that runs in a child.
Status WithFlags(const Status& s, const replay::ReplayOptions& o) {
  if (s.code() != StatusCode::kLimitExceeded) return s;
  const bool timed = !o.engine_path.empty() && !o.engine_in_process;
  Status out =
      Status::LimitExceeded(s.message() + (timed ? " (raise it with --max-threads or --run-timeout)"
                                                 : " (raise it with --max-threads)"));
  return s.file().empty() ? out : out.WithFile(s.file());
}
// A hang is a run past the run timeout, which --run-timeout sets.
void NameRunTimeout(replay::ReplaySummary* s) {
  auto name = [](replay::RunOutcome& r) {
    if (r.hung) r.message += " (see --run-timeout)";
  };
  for (auto& r : s->outcomes) name(r);
  if (s->first_failure) name(*s->first_failure);
}

int RunReplay(const ReplayCliOptions& c) {
  replay::ReplayOptions o;
  if (Status s = BindOptions(c, &o); !s.ok()) return Fail(s, c.json);
  if (isatty(2) && !c.json) {
    o.on_run = [](int run, int runs, bool failed) {
      fmt::print(stderr, "\rreplay: run {}/{}{}", run + 1, runs, failed ? " FPRE004" : "        ");
      if (run + 1 == runs || failed) fmt::print(stderr, "\n");
    };
  }
  if (!c.history.empty()) {
    if (Status s = CheckOutput(c.history, {c.file}); !s.ok()) return Fail(s, c.json);
  }
  if (Status s = CheckTargetForce(c.target, c.force); !s.ok()) return Fail(s, c.json);
  o.stop = &g_stop;
  signal(SIGINT, OnStopSignal);  // the first stops after the run in progress, with a summary
  signal(SIGTERM, OnStopSignal);
  auto input = SpooledInput::Open(c.file);  // stdin or a FIFO: read once, replayed from a copy
  if (!input.ok()) return Fail(input.status(), c.json);
  std::optional<lab::AutoOptions> auto_options;
  if (c.explore == "auto" && o.backend == replay::Backend::kEngine)
    auto_options = lab::AutoOptions{.stop_when_settled = c.runs == 0};
  auto campaign = lab::Explore((*input)->path(), o, auto_options);
  if (!campaign.ok()) return Fail(WithFlags(campaign.status(), o), c.json);

  replay::ReplayReport report;
  report.request = RequestOf(c, o);
  report.run_spec = replay::RunSpecOf(c.file, o);
  report.summary = std::move(campaign->replay);
  report.signatures = std::move(campaign->signatures);
  report.interrupted = g_stop.load();
  NameRunTimeout(&report.summary);
  // FPRE004 (or another failure) wins; then operations that failed otherwise
  // (the replay proves nothing: exit 2); then a pass.
  const replay::ReplaySummary& s = report.summary;
  report.exit_code = s.failures > 0 ? kExitFound : s.errors > 0 ? kExitBadInput : kExitOk;
  if (c.json) {
    fmt::print("{}\n", replay::ToJson(report));
  } else {
    fmt::print("{}", replay::RenderText(report));
  }
  return report.exit_code;
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
  using sched::Strategy;
  cmd->add_option("--explore", o->explore,
                  "schedule exploration (engine backend; the file backend only replays, as "
                  "--explore none)")
      ->check(CLI::IsMember(
          StrategyChoices({"auto"}, {Strategy::kPos, Strategy::kTargeted, Strategy::kPct,
                                     Strategy::kRandom, Strategy::kFree})))
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
                  "10 runs; other strategies and the file backend make 1)")
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
  cmd->callback([o, exit_code, cmd] {
    o->explore_given = cmd->count("--explore") > 0;
    *exit_code = RunReplay(*o);
  });
}

}  // namespace ordo::cli
