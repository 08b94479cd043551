// `ordo demo [--workdir DIR]`: the whole mission in one go (lab/demo.h: a
// capture of loadgen or the committed sample, auto exploration until FPRE004
// is confirmed, the failing run again, analyze, minimize, reports, the fixed
// engine over many seeds, and a table).
#include "ordo/lab/demo.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>

#include "common.h"

namespace ordo::cli {

namespace {

std::string SelfExe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("ordo") : p.string();
}

int RunDemoCommand(lab::DemoOptions o) {
  // The library names the directory; the option that gives it is ours to name.
  if (Status s = lab::CheckDemoWorkdir(o.workdir); !s.ok())
    return Fail(Status::FromCode(s.code(), s.message() + "; give an empty or new --workdir"));
  o.ordo_binary = SelfExe();
  auto r = lab::RunDemo(o);
  if (!r.ok()) return Fail(r.status());
  if (r->fixed_failures > 0) return kExitFound;  // the fix does not hold: that is news
  if (r->reproduced && !r->repeated) return kExitBadInput;
  return kExitOk;
}

}  // namespace

void setup_demo(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<lab::DemoOptions>();
  o->sample = ORDO_SAMPLE_TRACE;
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
  cmd->callback([o, exit_code] { *exit_code = RunDemoCommand(*o); });
}

}  // namespace ordo::cli
