// The demo story, `ordo demo`: the whole mission in one go. A loadgen process
// runs the legacy engine like a production host and is captured with eBPF
// (syscalls and USDT); without the privilege the committed sample trace is
// used instead. Then: replay with the default exploration (auto) until its
// predictions are confirmed, the failing run again alone, free-running replay
// for comparison, analyze, minimize, reports, the fixed engine over many
// seeds, and a summary table.
#pragma once

#include <cstdint>
#include <string>

#include "ordo/status.h"

namespace ordo::lab {

struct DemoOptions {
  // Where the traces, histories and reports go: a new or empty directory, or
  // one an earlier demo made (its files are replaced). Locked for the demo's
  // duration as a replay target is.
  std::string workdir = "ordo-demo";
  // Start from this trace instead of capturing ("": capture).
  std::string from;
  // The trace used when capture is not possible (no eBPF privilege), or when
  // the capture does not reproduce FPRE004.
  std::string sample;
  // The ordo executable whose `loadgen` is run and captured (its USDT probes
  // are attached); "" with `from` set.
  std::string ordo_binary;
  // How long loadgen runs under capture, as ParseDuration reads it ("3s"); it
  // is passed to loadgen as given.
  std::string capture_duration = "3s";
  double rate = 1000;   // loadgen API requests per second
  int max_runs = 200;   // auto-exploration runs before giving up (at least 1)
  int fixed_runs = 30;  // seeds the fixed engine is replayed with (at least 1)
  // Budget of the minimization: a duration as ParseDuration reads it, and
  // replay runs.
  std::string minimize_time = "60s";
  uint64_t minimize_runs = 5000;
};

// What the story came to, beyond what it printed.
struct DemoResult {
  bool reproduced = false;  // FPRE004 reproduced under auto exploration
  // The failing run, replayed alone, failed the same way (thread, operation,
  // message) with a byte-identical history. Meaningful when reproduced.
  bool repeated = false;
  int fixed_runs = 0;      // runs of the fixed engine
  int fixed_failures = 0;  // of which failed: the fix does not hold
};

// Whether `dir` can hold a demo: new, empty, or made by an earlier demo.
// InvalidArgument naming `dir` otherwise. RunDemo checks it first too.
Status CheckDemoWorkdir(const std::string& dir);

// Runs the story in `options.workdir`, printing each step on stdout as it
// goes (stdout is flushed before the capture so the traced command's own
// output falls in order, also in a log), then the summary table. An error
// (bad options, an unusable or locked workdir, unreadable traces, a capture
// that failed for a reason other than privilege) ends the story where it
// happened; what was printed stands.
Result<DemoResult> RunDemo(const DemoOptions& options);

}  // namespace ordo::lab
