// Helpers of the eBPF capture tests: a traced child workload, a capture run
// on a thread, a captured trace loaded whole (small by construction).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "engine_test_util.h"
#include "ordo/analyze/analyzer.h"
#include "ordo/capture/capture.h"
#include "ordo/trace/reader.h"

namespace ordo::capture {

using ordo::testing::TempDir;

// A traced child: started, made to wait, released on Go().
struct Workload {
  pid_t pid = -1;
  FILE* in = nullptr;   // its stdin
  FILE* out = nullptr;  // its stdout
  void Start(const std::string& dir, const std::string& mode, long n = 0) {
    int to[2], from[2];
    ASSERT_EQ(pipe(to), 0);
    ASSERT_EQ(pipe(from), 0);
    pid = fork();
    if (pid == 0) {
      dup2(to[0], 0);
      dup2(from[1], 1);
      close(to[1]);
      close(from[0]);
      std::string ns = std::to_string(n);
      execl(CAPTURE_WORKLOAD, CAPTURE_WORKLOAD, dir.c_str(), mode.c_str(), ns.c_str(), nullptr);
      _exit(127);
    }
    close(to[0]);
    close(from[1]);
    in = fdopen(to[1], "w");
    out = fdopen(from[0], "r");
    char line[64] = {};
    ASSERT_NE(fgets(line, sizeof(line), out), nullptr);
    ASSERT_EQ(std::string(line).rfind("ready", 0), 0u);
  }
  void Go() {
    fputs("go\n", in);
    fflush(in);
  }
  std::vector<std::string> Finish() {
    std::vector<std::string> lines;
    char line[512];
    while (fgets(line, sizeof(line), out)) lines.push_back(std::string(line, strcspn(line, "\n")));
    int st;
    waitpid(pid, &st, 0);
    fclose(in);
    fclose(out);
    return lines;
  }
};

// Runs a capture on a thread until Stop().
struct Capturing {
  std::atomic<bool> stop{false};
  std::thread thread;
  Result<CaptureResult> result = Status::Unsupported("not run");
  void Start(CaptureOptions o) {
    o.stop = &stop;
    thread = std::thread([this, o] { result = Run(o); });
    usleep(300000);  // attached well before the workload goes
  }
  void Stop() {
    usleep(200000);
    stop = true;
    thread.join();
  }
};

// The capture workload in `mode` run under a capture of its process: `o`
// gets the pid and DIR/t.ordo as output. The capture stops after the
// workload ends, or while it still runs when `stop_while_running`.
struct CapturedRun {
  std::vector<std::string> lines;  // the workload's output
  Result<CaptureResult> result = Status::Unsupported("not run");
  std::string output;
};
inline CapturedRun RunUnderCapture(const std::string& dir, const std::string& mode, long n,
                                   CaptureOptions o, bool stop_while_running = false) {
  Workload w;
  w.Start(dir, mode, n);
  Capturing cap;
  o.pids = {static_cast<uint32_t>(w.pid)};
  o.output = dir + "/t.ordo";
  cap.Start(o);
  w.Go();
  CapturedRun run;
  if (stop_while_running) cap.Stop();
  run.lines = w.Finish();
  if (!stop_while_running) cap.Stop();
  run.result = cap.result;
  run.output = o.output;
  return run;
}

struct Captured {
  std::map<uint32_t, std::string> paths;
  std::vector<trace::IoRecord> ios;
  std::vector<trace::EngineRecord> engine;
  uint64_t lost = 0;
};

inline Captured Load(const std::string& path) {
  Captured c;
  auto r = trace::TraceReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  trace::Record rec;
  while ((*r)->Next(&rec)) {
    if (rec.kind == trace::RecordKind::kFile) c.paths[rec.file.file] = rec.file.path;
    if (rec.kind == trace::RecordKind::kIo) c.ios.push_back(rec.io);
    if (rec.kind == trace::RecordKind::kEngine) c.engine.push_back(rec.engine);
    if (rec.kind == trace::RecordKind::kLost) c.lost += rec.lost.count;
  }
  EXPECT_TRUE((*r)->status().ok()) << (*r)->status().ToString();
  return c;
}

inline bool SkipWithoutBpf() {
  if (geteuid() != 0) {
    std::printf("SKIPPED: capture tests need root for BPF (CI runs as root)\n");
    return true;
  }
  return false;
}

// preads recorded from `pid`, checking that nothing came from `excluded`
// (sanitizer builds add short-lived helper tasks of the traced process, so
// "only from pid" would be too strict).
inline uint64_t PreadsFrom(const Captured& c, pid_t pid, std::vector<pid_t> excluded) {
  excluded.push_back(getpid());  // the test itself writes the trace
  uint64_t preads = 0;
  for (const auto& io : c.ios) {
    for (pid_t x : excluded)
      EXPECT_NE(io.pid, static_cast<uint32_t>(x)) << "I/O from a filtered-out process";
    if (io.pid == static_cast<uint32_t>(pid)) preads += io.op == trace::IoOp::kPread;
  }
  return preads;
}

}  // namespace ordo::capture
