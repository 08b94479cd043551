// `ordo capture [filters] -o OUT.ordo [-- COMMAND ARGS...]`: record file I/O
// (and the engine's USDT probes) with eBPF.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "common.h"
#include "ordo/capture/capture.h"
#include "ordo/units.h"

namespace ordo::cli {

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct CaptureCliOptions {
  std::vector<uint32_t> pids;
  std::string comm, cgroup, usdt, output;
  std::vector<std::string> paths;
  std::string duration, max_size, ring = "64M", tick = "1us";
  bool redact = false;
  std::vector<std::string> command;
};

int RunCapture(const CaptureCliOptions& c, const std::string& source) {
  capture::CaptureOptions o;
  o.pids = c.pids;
  o.comm = c.comm;
  o.cgroup = c.cgroup;
  o.path_prefixes = c.paths;
  o.usdt_binary = c.usdt;
  o.command = c.command;
  o.output = c.output;
  o.redact_paths = c.redact;
  o.source = source;
  if (!c.duration.empty()) {
    auto d = ParseDuration(c.duration);
    if (!d.ok()) return Fail(d.status());
    o.duration_ns = d.value();
  }
  if (!c.max_size.empty()) {
    auto s = ParseSize(c.max_size);
    if (!s.ok()) return Fail(s.status());
    o.max_size = s.value();
  }
  auto ring = ParseSize(c.ring);
  if (!ring.ok()) return Fail(ring.status());
  o.ring_bytes = ring.value();
  auto tick = ParseDuration(c.tick);
  if (!tick.ok() || tick.value() == 0 || tick.value() > 1000000000) {
    return Fail(Status::InvalidArgument("--tick must be a duration from 1ns to 1s (e.g. 1us)"));
  }
  o.tick_ns = static_cast<uint32_t>(tick.value());
  if (o.pids.empty() && o.command.empty() && o.comm.empty() && o.cgroup.empty()) {
    return Fail(Status::InvalidArgument(
        "capture: say what to trace: --pid, --comm, --cgroup, or -- COMMAND (tracing every process on a busy host "
        "is rarely what you want)"));
  }
  o.stop = &g_stop;
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  if (isatty(2)) {
    o.on_progress = [](uint64_t events, uint64_t lost, uint64_t bytes, double s) {
      fmt::print(stderr, "\rcapture: {:.0f} s, {} events ({:.0f}/s), {} lost, {} written   ", s, events,
                 s > 0 ? events / s : 0.0, lost, bytes);
    };
  }
  auto r = capture::Run(o);
  if (isatty(2)) fmt::print(stderr, "\n");
  if (!r.ok()) return Fail(r.status());
  const auto& res = r.value();
  fmt::print(stderr, "{}: {} events, {} lost, {} bytes ({:.2f} bytes/event) in {:.1f} s\n", c.output, res.events,
             res.lost, res.bytes, res.events ? double(res.bytes) / res.events : 0.0, res.seconds);
  if (res.command_status >= 0) return res.command_status;
  return kExitOk;
}

}  // namespace

void setup_capture(CLI::App& app, int* exit_code, const std::string* source) {
  auto o = std::make_shared<CaptureCliOptions>();
  CLI::App* cmd = app.add_subcommand("capture", "Record file I/O and engine probes with eBPF");
  cmd->add_option("--pid", o->pids, "trace this process (repeatable)");
  cmd->add_option("--comm", o->comm, "trace tasks with this command name");
  cmd->add_option("--cgroup", o->cgroup, "trace tasks in this cgroup (v2)");
  cmd->add_option("--path", o->paths, "keep only files under this prefix (repeatable)");
  cmd->add_option("--usdt", o->usdt, "attach the engine's USDT probes in this binary");
  cmd->add_option("--duration", o->duration, "stop after this long (e.g. 30s)");
  cmd->add_option("--max-size", o->max_size, "stop when the trace reaches this size (e.g. 1G)");
  cmd->add_option("--ring", o->ring, "ring buffer size, a power of two")->capture_default_str();
  cmd->add_option("--tick", o->tick, "timestamp resolution kept in the trace")->capture_default_str();
  cmd->add_flag("--redact-paths", o->redact, "store path hashes instead of paths");
  cmd->add_option("-o,--output", o->output, "trace to write (created 0600)")->required();
  cmd->add_option("command", o->command, "-- COMMAND ARGS: run it and trace it and its children");
  cmd->callback([o, exit_code, source] { *exit_code = RunCapture(*o, *source); });
}

}  // namespace ordo::cli
