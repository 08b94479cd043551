// `ordo minimize FILE [--engine legacy] [--seed N] -o MIN.ordo`: the smallest
// trace that still reproduces FPRE004.
#include "ordo/lab/minimize.h"

#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "common.h"
#include "engine_option.h"
#include "ordo/units.h"
#include "strategy_option.h"

namespace ordo::cli {

namespace {

struct MinimizeFlags {
  std::string file, out, engine = "legacy", explore = "pct", time = "5m";
  uint64_t seed = 1;
  int depth = 10;
  int runs_per_test = 30;
  int targeted_runs = 2, pos_runs = 0;
  bool no_confirm = false;
  std::string rule = "any";
  uint64_t max_runs = 20000;
};

int RunMinimize(const MinimizeFlags& o) {
  lab::MinimizeOptions mo;
  if (plugin::IsEngineSpec(o.engine)) {
    plugin::EngineSpec spec = plugin::ParseEngineSpec(o.engine);
    mo.engine_path = spec.path;
    mo.engine_config = spec.config;
  } else {
    engine::ParseEngineMode(o.engine, &mo.mode);
  }
  sched::ParseStrategy(o.explore, &mo.strategy);
  mo.confirm = !o.no_confirm;
  engine::Fpre004Rule rule;
  if (engine::ParseFpre004Rule(o.rule, &rule)) mo.rule = rule;
  mo.targeted_runs = o.targeted_runs;
  mo.pos_runs = o.pos_runs;
  mo.seed = o.seed;
  mo.depth = o.depth;
  mo.runs_per_test = o.runs_per_test;
  mo.max_runs = o.max_runs;
  auto t = ParseDuration(o.time);
  if (!t.ok()) {
    return Fail(t.status());
  }
  mo.max_seconds = static_cast<double>(t.value()) / 1e9;
  if (isatty(2))
    mo.on_progress = [](const std::string& s) { fmt::print(stderr, "\rminimize: {}        ", s); };
  auto r = lab::Minimize(o.file, o.out, mo);
  if (isatty(2)) fmt::print(stderr, "\n");
  if (!r.ok()) {
    return Fail(r.status());
  }
  fmt::print("{}: {} of {} operations ({} threads), {} replay runs in {:.1f} s\nreproduce: {}\n",
             o.out, r->minimized_ops, r->original_ops, r->threads, r->runs, r->seconds,
             r->reproduce);
  return kExitFound;  // the minimized trace reproduces FPRE004
}

}  // namespace

void setup_minimize(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<MinimizeFlags>();
  CLI::App* cmd =
      app.add_subcommand("minimize", "Shrink a failing trace to the smallest that still fails");
  cmd->add_option("FILE", o->file, "trace that reproduces FPRE004")->required();
  cmd->add_option("-o,--output", o->out, "minimized trace")->required();
  cmd->add_option("--engine", o->engine,
                  "the built-in engine's orderings, or an engine of your own: PATH.so[:CONFIG]")
      ->check(EngineOption())
      ->capture_default_str();
  cmd->add_option(
         "--explore", o->explore,
         "strategy that finds the failure and judges candidates until targeted confirmation "
         "applies (targeted: POS to find it, then targeted verdicts or an error)")
      ->check(
          CLI::IsMember(StrategyChoices({}, {sched::Strategy::kPct, sched::Strategy::kRandom,
                                             sched::Strategy::kPos, sched::Strategy::kTargeted})))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "first seed of each test")->capture_default_str();
  cmd->add_option("--depth", o->depth, "PCT depth")->capture_default_str();
  cmd->add_option("--runs-per-test", o->runs_per_test, "seeds tried per candidate")
      ->capture_default_str();
  cmd->add_flag("--no-confirm", o->no_confirm,
                "judge candidates by --runs-per-test seeds of the strategy, not by targeted runs "
                "forcing the failure's ordering on its block");
  cmd->add_option("--rule", o->rule, "keep only failures of this rule")
      ->check(CLI::IsMember({"any", "FPRE004-A", "FPRE004-B"}))
      ->capture_default_str();
  cmd->add_option("--targeted-runs", o->targeted_runs, "targeted runs per candidate")
      ->capture_default_str();
  cmd->add_option("--pos-runs", o->pos_runs, "POS runs per candidate after the targeted ones")
      ->capture_default_str();
  cmd->add_option("--max-runs", o->max_runs, "replay runs in all")->capture_default_str();
  cmd->add_option("--time", o->time, "time budget")->capture_default_str();
  cmd->callback([o, exit_code] { *exit_code = RunMinimize(*o); });
}

}  // namespace ordo::cli
