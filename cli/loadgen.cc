// `ordo loadgen --target DIR [--engine legacy|fixed|PATH.so[:CONFIG]] [--duration 10s] [--seed N]`:
// a production-like process (lab/loadgen.h): the cache engine serving burst
// misaligned reads across block boundaries, targeted reads of a hot file,
// writes and fsyncs, with background compaction, from several threads. The
// "production host" of the demo, and a workload to point `ordo capture
// --usdt` at.
#include "ordo/lab/loadgen.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "common.h"
#include "engine_option.h"
#include "ordo/units.h"

namespace ordo::cli {

namespace {

struct LoadgenFlags {
  lab::LoadgenOptions options;
  std::string duration = "10s";
};

int RunLoadgenCommand(const LoadgenFlags& f) {
  auto d = ParseDuration(f.duration);
  if (!d.ok()) return Fail(d.status());
  // The target's claim (lab) refuses a directory ordo did not make; the
  // CLI says which flag overrides it.
  if (Status s = CheckTargetForce(f.options.target, f.options.force); !s.ok()) return Fail(s);
  lab::LoadgenOptions o = f.options;
  o.duration_ns = d.value();
  auto r = lab::RunLoadgen(o);
  if (!r.ok()) return Fail(r.status());
  const std::string background =
      r->builtin ? fmt::format(", {} prefetched, {} blocks relocated", r->prefetched, r->relocated)
                 : "";
  fmt::print("loadgen ({} engine, {}): {} reads, {} writes{}, {} FPRE004, {} other errors\n",
             o.engine, f.duration, r->reads, r->writes, background, r->verify_failures, r->errors);
  if (!r->first_failure.empty()) fmt::print("first: {}\n", r->first_failure);
  if (!r->closed.ok()) return Fail(r->closed);
  return r->verify_failures > 0 ? kExitFound : kExitOk;
}

}  // namespace

void setup_loadgen(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<LoadgenFlags>();
  lab::LoadgenOptions& o = f->options;
  CLI::App* cmd =
      app.add_subcommand("loadgen", "Run a production-like workload on the cache engine");
  cmd->add_option("--target", o.target, "engine directory")->required();
  cmd->add_option("--engine", o.engine,
                  "the built-in engine's orderings, or an engine of your own (ordo/engine_abi.h)")
      ->check(EngineOption())
      ->capture_default_str();
  cmd->add_option("--duration", f->duration, "how long")->capture_default_str();
  cmd->add_option("--seed", o.seed, "workload seed")->capture_default_str();
  cmd->add_option("--readers", o.readers, "burst reader threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--rate", o.rate, "API requests per second in all (0: as fast as it can)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--force", o.force, "use a non-empty target ordo did not create");
  cmd->callback([f, exit_code] { *exit_code = RunLoadgenCommand(*f); });
}

}  // namespace ordo::cli
