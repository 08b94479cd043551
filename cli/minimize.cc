// `ordo minimize FILE [--engine legacy] [--seed N] -o MIN.ordo`: the smallest
// trace that still reproduces FPRE004.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <unistd.h>

#include "common.h"
#include "ordo/analyze/minimize.h"
#include "ordo/units.h"

namespace ordo::cli {

void setup_minimize(CLI::App& app, int* exit_code) {
  struct Options {
    std::string file, out, engine = "legacy", explore = "pct", time = "5m";
    uint64_t seed = 1;
    int depth = 10;
    int runs_per_test = 30;
    uint64_t max_runs = 20000;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("minimize", "Shrink a failing trace to the smallest that still fails");
  cmd->add_option("FILE", o->file, "trace that reproduces FPRE004")->required();
  cmd->add_option("-o,--output", o->out, "minimized trace")->required();
  cmd->add_option("--engine", o->engine, "engine orderings")->check(CLI::IsMember({"legacy", "fixed"}))->capture_default_str();
  cmd->add_option("--explore", o->explore, "strategy")->check(CLI::IsMember({"pct", "random"}))->capture_default_str();
  cmd->add_option("--seed", o->seed, "first seed of each test")->capture_default_str();
  cmd->add_option("--depth", o->depth, "PCT depth")->capture_default_str();
  cmd->add_option("--runs-per-test", o->runs_per_test, "seeds tried per candidate")->capture_default_str();
  cmd->add_option("--max-runs", o->max_runs, "replay runs in all")->capture_default_str();
  cmd->add_option("--time", o->time, "time budget")->capture_default_str();
  cmd->callback([o, exit_code] {
    analyze::MinimizeOptions mo;
    engine::ParseEngineMode(o->engine, &mo.mode);
    mo.strategy = o->explore == "random" ? sched::Strategy::kRandom : sched::Strategy::kPct;
    mo.seed = o->seed;
    mo.depth = o->depth;
    mo.runs_per_test = o->runs_per_test;
    mo.max_runs = o->max_runs;
    auto t = ParseDuration(o->time);
    if (!t.ok()) {
      *exit_code = Fail(t.status());
      return;
    }
    mo.max_seconds = static_cast<double>(t.value()) / 1e9;
    if (isatty(2)) mo.on_progress = [](const std::string& s) { fmt::print(stderr, "\rminimize: {}        ", s); };
    auto r = analyze::Minimize(o->file, o->out, mo);
    if (isatty(2)) fmt::print(stderr, "\n");
    if (!r.ok()) {
      *exit_code = Fail(r.status());
      return;
    }
    fmt::print("{}: {} of {} operations ({} threads), {} replay runs in {:.1f} s\nreproduce: {}\n", o->out,
               r->minimized_ops, r->original_ops, r->threads, r->runs, r->seconds, r->reproduce);
    *exit_code = kExitFound;  // the minimized trace reproduces FPRE004
  });
}

}  // namespace ordo::cli
