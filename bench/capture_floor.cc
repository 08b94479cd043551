// The hook floor and capture, side by side in one process: a 4 KiB random
// pread loop on a warmed file runs in phases of --phase-ms, each phase under
// one condition: nothing attached (N), the pid-check-only tp_btf
// sys_enter/sys_exit program (F, capture/bpf/floor.bpf.c), the same plus a
// clock read at enter and at exit (S, the stamp floor: what any capture of
// exact start and end times pays), or the real capture (C: capture::Run on
// this process, its consumer draining into a trace). Rounds run
// N F S C C S F N, so a linear drift of the machine's speed weighs equally on
// every condition; each round gives one ratio per condition (its two phases
// against the round's two N phases) and "capture above floor" and "above the
// stamp floor" in ns per read. Reported: medians over rounds with their
// spread (p10-p90, min-max). Usage (root):
//   capture_floor [--rounds 40] [--phase-ms 200] [--settle-ms 100] [--ring-mb 64]
//                 [--file PATH] [--size-mb 256]
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "floor.skel.h"
#include "ordo/capture/capture.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Phase {
  uint64_t reads = 0;
  double seconds = 0;
  double ns_per_read() const { return seconds * 1e9 / static_cast<double>(reads); }
  double rate() const { return static_cast<double>(reads) / seconds; }
};

// Preads 4 KiB at random aligned offsets for `ms` milliseconds.
Phase ReadLoop(int fd, uint64_t blocks, int ms, std::mt19937_64* rng) {
  char buf[4096];
  Phase p;
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::milliseconds(ms);
  for (;;) {
    for (int i = 0; i < 256; i++) {
      if (pread(fd, buf, sizeof(buf), static_cast<off_t>(((*rng)() % blocks) * 4096)) !=
          sizeof(buf)) {
        std::perror("pread");
        std::exit(1);
      }
    }
    p.reads += 256;
    auto now = Clock::now();
    if (now >= end) {
      p.seconds = std::chrono::duration<double>(now - t0).count();
      return p;
    }
  }
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t i = static_cast<size_t>(pos);
  double f = pos - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

void Report(const char* what, const std::vector<double>& v, const char* unit) {
  std::printf("%-34s median %8.3f%s  p10-p90 %.3f-%.3f  min-max %.3f-%.3f  (%zu rounds)\n", what,
              Quantile(v, 0.5), unit, Quantile(v, 0.1), Quantile(v, 0.9), Quantile(v, 0),
              Quantile(v, 1), v.size());
}

struct Options {
  int rounds = 40, phase_ms = 200, settle_ms = 100;
  uint64_t ring_mb = 64;
  uint64_t size_mb = 256;
  std::string path = "/tmp/ordo-capture-floor.data";
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--rounds")
      o->rounds = std::atoi(argv[i + 1]);
    else if (a == "--phase-ms")
      o->phase_ms = std::atoi(argv[i + 1]);
    else if (a == "--file")
      o->path = argv[i + 1];
    else if (a == "--size-mb")
      o->size_mb = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--ring-mb")
      o->ring_mb = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--settle-ms")
      o->settle_ms = std::atoi(argv[i + 1]);
    else
      return false;
  }
  return true;
}

// Lays out and warms the file: every read of a phase is a page-cache hit.
// Returns its fd, or -1 after printing why.
int WarmFile(const Options& o) {
  int fd = open(o.path.c_str(), O_RDWR | O_CREAT, 0600);
  if (fd < 0) {
    std::perror(o.path.c_str());
    return -1;
  }
  std::vector<char> mb(1 << 20, 'x');
  for (uint64_t i = 0; i < o.size_mb; i++) {
    if (pwrite(fd, mb.data(), mb.size(), static_cast<off_t>(i << 20)) !=
        static_cast<ssize_t>(mb.size())) {
      std::perror("pwrite");
      close(fd);
      return -1;
    }
  }
  for (uint64_t i = 0; i < o.size_mb; i++)
    (void)!pread(fd, mb.data(), mb.size(), static_cast<off_t>(i << 20));
  return fd;
}

// The three kinds of phase: nothing attached, the pid-check-only floor
// programs, and the real capture of this process (consumer included).
struct Phases {
  const Options& o;
  int fd;
  floor_bpf* fl;
  uint64_t blocks;
  std::mt19937_64 rng{3};
  uint64_t events = 0, lost = 0, captured_reads = 0;

  Phase None() { return ReadLoop(fd, blocks, o.phase_ms, &rng); }

  Phase HookFloor() { return Attached(fl->progs.floor_enter, fl->progs.floor_exit); }
  Phase StampFloor() { return Attached(fl->progs.stamp_enter, fl->progs.stamp_exit); }

  Phase Attached(bpf_program* enter, bpf_program* exit) {
    bpf_link* a = bpf_program__attach(enter);
    bpf_link* b = bpf_program__attach(exit);
    if (!a || !b) {
      std::fprintf(stderr, "attach floor BPF failed\n");
      std::exit(1);
    }
    Phase p = ReadLoop(fd, blocks, o.phase_ms, &rng);
    bpf_link__destroy(a);
    bpf_link__destroy(b);
    return p;
  }

  Phase Capture() {
    std::atomic<bool> stop{false}, attached{false};
    ordo::capture::CaptureOptions co;
    co.pids = {static_cast<uint32_t>(getpid())};
    co.output = o.path + ".ordo";
    co.stop = &stop;
    co.ring_bytes = o.ring_mb << 20;
    co.on_attached = [&] { attached = true; };
    std::atomic<bool> done{false};
    ordo::Result<ordo::capture::CaptureResult> r = ordo::Status::IoError("capture did not run");
    std::thread t([&] {
      r = ordo::capture::Run(co);
      done = true;
    });
    while (!attached && !done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // Steady state: the first lap of the ring (the consumer's first touch of
    // its pages) is a once-per-capture cost, not a per-event one.
    Phase settle = ReadLoop(fd, blocks, o.settle_ms, &rng);
    Phase p = ReadLoop(fd, blocks, o.phase_ms, &rng);
    stop = true;
    t.join();
    if (!r.ok()) {
      std::fprintf(stderr, "capture: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
    events += r->events;
    lost += r->lost;
    captured_reads += settle.reads + p.reads;
    return p;
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: capture_floor [--rounds N] [--phase-ms MS] [--settle-ms MS] [--ring-mb "
                 "MB] [--file PATH] [--size-mb MB]\n");
    return 2;
  }
  int fd = WarmFile(o);
  if (fd < 0) return 1;
  floor_bpf* fl = floor_bpf__open();
  if (!fl) {
    std::perror("open floor BPF");
    return 1;
  }
  fl->rodata->target_tgid = static_cast<uint32_t>(getpid());
  if (floor_bpf__load(fl) != 0) {
    std::fprintf(stderr, "load floor BPF failed (root? BTF tracepoints?)\n");
    return 1;
  }
  Phases ph{o, fd, fl, o.size_mb * 256};
  ph.None();  // warm-up
  std::vector<double> floor_ratio, stamp_ratio, capture_ratio, floor_ns, stamp_ns, capture_ns,
      above_ns, above_stamp_ns;
  for (int r = 0; r < o.rounds; r++) {
    Phase n1 = ph.None(), f1 = ph.HookFloor(), s1 = ph.StampFloor(), c1 = ph.Capture(),
          c2 = ph.Capture(), s2 = ph.StampFloor(), f2 = ph.HookFloor(), n2 = ph.None();
    double n_rate = (n1.rate() + n2.rate()) / 2, f_rate = (f1.rate() + f2.rate()) / 2,
           s_rate = (s1.rate() + s2.rate()) / 2, c_rate = (c1.rate() + c2.rate()) / 2;
    double n_ns = 1e9 / n_rate, f_ns = 1e9 / f_rate, s_ns = 1e9 / s_rate, c_ns = 1e9 / c_rate;
    floor_ratio.push_back(f_rate / n_rate);
    stamp_ratio.push_back(s_rate / n_rate);
    capture_ratio.push_back(c_rate / n_rate);
    floor_ns.push_back(f_ns - n_ns);
    stamp_ns.push_back(s_ns - f_ns);
    capture_ns.push_back(c_ns - n_ns);
    above_ns.push_back(c_ns - f_ns);
    above_stamp_ns.push_back(c_ns - s_ns);
    std::fprintf(stderr,
                 "round %d: untraced %.0f ns/read, floor %.3fx, stamp floor %.3fx, capture %.3fx\n",
                 r + 1, n_ns, floor_ratio.back(), stamp_ratio.back(), capture_ratio.back());
  }
  std::printf(
      "capture_floor: %d rounds of N F S C C S F N, %d ms phases (capture: timed after %d ms of "
      "settling, %llu MiB ring), 4 KiB random preads of a warm %llu MiB file\n",
      o.rounds, o.phase_ms, o.settle_ms, static_cast<unsigned long long>(o.ring_mb),
      static_cast<unsigned long long>(o.size_mb));
  Report("hook floor / untraced", floor_ratio, "x");
  Report("stamp floor / untraced", stamp_ratio, "x");
  Report("capture / untraced", capture_ratio, "x");
  Report("hook floor cost", floor_ns, " ns/read");
  Report("two clock reads (stamp - hook)", stamp_ns, " ns/read");
  Report("capture cost", capture_ns, " ns/read");
  Report("capture above floor", above_ns, " ns/read");
  Report("capture above stamp floor", above_stamp_ns, " ns/read");
  std::printf("capture phases: %llu reads issued, %llu events recorded, %llu lost\n",
              static_cast<unsigned long long>(ph.captured_reads),
              static_cast<unsigned long long>(ph.events), static_cast<unsigned long long>(ph.lost));
  floor_bpf__destroy(fl);
  close(fd);
  unlink(o.path.c_str());
  unlink((o.path + ".ordo").c_str());
  return 0;
}
