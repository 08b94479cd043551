// `ordo capture [filters] -o OUT.ordo [-- COMMAND ARGS...]`: record file I/O
// (and the engine's USDT probes) with eBPF.
#include "ordo/capture/capture.h"

#include <fmt/core.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common.h"
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

// True when `file` holds a USDT note of provider "ordo" (the stapsdt note
// stores provider and probe names as consecutive NUL-terminated strings).
bool HasOrdoProbes(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  static const std::string kPoint("ordo\0point", 10);
  return bytes.find(kPoint) != std::string::npos;
}

bool CommandExists(const std::string& cmd) {
  if (cmd.find('/') != std::string::npos) return access(cmd.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string full = (dir.empty() ? "." : dir) + "/" + cmd;
    struct stat st;
    if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(full.c_str(), X_OK) == 0)
      return true;
    start = end + 1;
  }
  return false;
}

// What can be known wrong before any BPF is loaded: bad input (exit 2), not
// the environment refusing (3).
Status CheckCaptureOptions(const CaptureCliOptions& c) {
  for (uint32_t pid : c.pids) {
    if (pid == 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH))
      return Status::InvalidArgument(fmt::format("--pid {}: no such process", pid));
  }
  if (!c.usdt.empty()) {
    struct stat st;
    if (stat(c.usdt.c_str(), &st) != 0)
      return Status::InvalidArgument("--usdt " + c.usdt + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode) || access(c.usdt.c_str(), R_OK) != 0)
      return Status::InvalidArgument("--usdt " + c.usdt + ": not a readable binary");
    if (!HasOrdoProbes(c.usdt))
      return Status::InvalidArgument("--usdt " + c.usdt +
                                     ": has no USDT probes of provider \"ordo\" (ordo:point, "
                                     "ordo:request); give the binary that links the engine");
  }
  if (!c.command.empty() && !CommandExists(c.command[0]))
    return Status::InvalidArgument(c.command[0] + ": command not found");
  return Status::Ok();
}

int RunCapture(const CaptureCliOptions& c, const std::string& source) {
  if (Status s = CheckCaptureOptions(c); !s.ok()) return Fail(s);
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
    if (d.value() == 0) {
      return Fail(Status::InvalidArgument(
          "--duration 0 would capture nothing; give a duration (e.g. 30s), or omit it to capture "
          "until stopped"));
    }
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
  if (o.ring_bytes < 4096 || (o.ring_bytes & (o.ring_bytes - 1)) != 0) {
    return Fail(
        Status::InvalidArgument("--ring must be a power of two of at least 4 KiB (e.g. 64M)"));
  }
  auto tick = ParseDuration(c.tick);
  if (!tick.ok() || tick.value() == 0 || tick.value() > 1000000000) {
    return Fail(Status::InvalidArgument("--tick must be a duration from 1ns to 1s (e.g. 1us)"));
  }
  o.tick_ns = static_cast<uint32_t>(tick.value());
  if (o.pids.empty() && o.command.empty() && o.comm.empty() && o.cgroup.empty()) {
    return Fail(
        Status::InvalidArgument("capture: say what to trace: --pid, --comm, --cgroup, or -- "
                                "COMMAND (tracing every process on a busy host "
                                "is rarely what you want)"));
  }
  o.stop = &g_stop;
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  if (isatty(2)) {
    o.on_progress = [](uint64_t events, uint64_t lost, uint64_t bytes, double s) {
      fmt::print(stderr, "\rcapture: {:.0f} s, {} events ({:.0f}/s), {} lost, {} written   ", s,
                 events, s > 0 ? events / s : 0.0, lost, bytes);
    };
  }
  auto r = capture::Run(o);
  if (isatty(2)) fmt::print(stderr, "\n");
  if (!r.ok()) return Fail(r.status());
  const auto& res = r.value();
  fmt::print(stderr, "{}: {} events, {} lost, {} bytes ({:.2f} bytes/event) in {:.1f} s\n",
             c.output, res.events, res.lost, res.bytes,
             res.events ? double(res.bytes) / res.events : 0.0, res.seconds);
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
  cmd->add_option("--tick", o->tick, "timestamp resolution kept in the trace")
      ->capture_default_str();
  cmd->add_flag("--redact-paths", o->redact, "store path hashes instead of paths");
  cmd->add_option("-o,--output", o->output, "trace to write (created 0600)")->required();
  cmd->add_option("command", o->command, "-- COMMAND ARGS: run it and trace it and its children");
  cmd->callback([o, exit_code, source] { *exit_code = RunCapture(*o, *source); });
}

}  // namespace ordo::cli
