// The loader: open -> set rodata -> load -> attach -> drain the ring buffer on
// a timer, turning kernel events into trace records.
#include "ordo/capture/capture.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <linux/magic.h>
#include <linux/membarrier.h>
#include <linux/types.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "bpf_util.h"
#include "decoder.h"
#include "ordo/file_io.h"
#include "ordo/trace/writer.h"
#include "ordo/util/atomic_output.h"
#include "ordo/util/clock.h"
#include "ring.h"
#include "syscalls.h"
#include "syscalls.skel.h"

namespace ordo::capture {

namespace {

using util::MonotonicNs;

struct SkeletonDeleter {
  void operator()(syscalls_bpf* s) const { syscalls_bpf__destroy(s); }
};
using Skeleton = std::unique_ptr<syscalls_bpf, SkeletonDeleter>;

// The traced command: forked stopped on a pipe until its pid is in the filter.
struct Child {
  pid_t pid = -1;
  int go = -1;
};

Result<Child> ForkCommand(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return Status::IoError(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0) return Status::IoError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(fds[1]);
    char c;
    if (read(fds[0], &c, 1) != 1) _exit(127);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    fmt::print(stderr, "ordo capture: cannot run {}: {}\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[0]);
  return Child{pid, fds[1]};
}

// Opens and loads the programs for `o`: the filters in read-only data, the
// ring's size, io_uring's programs where the kernel has their tracepoints
// (*uring), the USDT programs when a binary is named (attached by path later).
Result<Skeleton> LoadPrograms(const CaptureOptions& o, uint64_t cgroup, bool* uring) {
  libbpf_set_print([](enum libbpf_print_level level, const char* fmt, va_list args) {
    return level == LIBBPF_WARN && std::getenv("ORDO_BPF_DEBUG") ? vfprintf(stderr, fmt, args) : 0;
  });
  Skeleton skel(syscalls_bpf__open());
  if (!skel) return BpfError("open BPF object", errno);
  skel->rodata->filter_pids = !o.pids.empty() || !o.command.empty();
  skel->rodata->follow_children = !o.command.empty();
  skel->rodata->cgroup_id = cgroup;
  if (!o.comm.empty()) {
    skel->rodata->filter_comm = true;
    std::strncpy(const_cast<char*>(skel->rodata->comm), o.comm.c_str(), ORDO_COMM_LEN - 1);
  }
  bpf_map__set_max_entries(skel->maps.events, static_cast<uint32_t>(o.ring_bytes));
  // io_uring's tracepoints: io_uring_submit_req since Linux 5.19 (before it,
  // io_uring_submit_sqe with other arguments). Without them io_uring stays
  // unseen, as it was before; the syscalls are captured all the same.
  *uring = HasTracepoints({"io_uring_submit_req", "io_uring_complete"});
  bpf_program__set_autoload(skel->progs.uring_submit, *uring);
  bpf_program__set_autoload(skel->progs.uring_complete, *uring);
  const bool usdt = !o.usdt_binary.empty();
  for (bpf_program* prog :
       {skel->progs.engine_point, skel->progs.engine_request, skel->progs.engine_site}) {
    bpf_program__set_autoload(prog, usdt);
    bpf_program__set_autoattach(prog, false);
  }
  if (int err = syscalls_bpf__load(skel.get()); err != 0) return BpfError("load BPF programs", err);
  return skel;
}

// Attaches ordo:site, ordo:point and ordo:request in `binary`. ordo:point is
// the one probe every engine has (ordo/engine_point.h); the others may be
// missing. On error nothing stays attached.
Result<std::vector<bpf_link*>> AttachUsdt(syscalls_bpf* skel, const std::string& binary) {
  struct {
    bpf_program* prog;
    const char* name;
  } probes[] = {{skel->progs.engine_site, "site"},
                {skel->progs.engine_point, "point"},
                {skel->progs.engine_request, "request"}};
  std::vector<bpf_link*> links;
  for (auto& p : probes) {
    bpf_link* l = bpf_program__attach_usdt(p.prog, -1, binary.c_str(), "ordo", p.name, nullptr);
    if (!l && errno == ENOENT && std::string_view(p.name) != "point") continue;
    if (!l) {
      int err = errno;
      for (auto* x : links) bpf_link__destroy(x);
      return BpfError(fmt::format("attach USDT ordo:{} in {}", p.name, binary), err);
    }
    links.push_back(l);
  }
  return links;
}

// The trace header of a capture with `o`: this host, its kernel, and the
// filters as a command line would give them (paths withheld when redacting).
trace::TraceHeader CaptureHeader(const CaptureOptions& o) {
  trace::TraceHeader h;
  h.tool_version = std::string("ordo ") + ORDO_VERSION;
  h.kind = "capture";
  h.clock = "monotonic";
  h.tick_ns = o.tick_ns;
  // Redaction covers the header too: the command line and the filters name
  // paths (the output, path prefixes, the cgroup, the USDT binary, the command).
  h.source = o.redact_paths ? "ordo capture (command line withheld: --redact-paths)" : o.source;
  auto name = [&](const std::string& p) { return o.redact_paths ? RedactedPath(p) : p; };
  h.start_realtime_ns = static_cast<uint64_t>(time(nullptr)) * 1000000000ull;
  std::ifstream host("/proc/sys/kernel/hostname"), rel("/proc/sys/kernel/osrelease");
  std::getline(host, h.host);
  std::string r;
  std::getline(rel, r);
  h.kernel = "Linux " + r;
  std::string filters;
  for (uint32_t p : o.pids) filters += fmt::format("--pid {} ", p);
  if (!o.comm.empty()) filters += "--comm " + o.comm + " ";
  if (!o.cgroup.empty()) filters += "--cgroup " + name(o.cgroup) + " ";
  for (const auto& p : o.path_prefixes) filters += "--path " + name(p) + " ";
  if (!o.usdt_binary.empty()) filters += "--usdt " + name(o.usdt_binary) + " ";
  h.filters = filters;
  return h;
}

// The events the kernel side could not reserve room for, over all CPUs.
uint64_t ReadLost(syscalls_bpf* skel) {
  static const int ncpu = std::max(libbpf_num_possible_cpus(), 1);
  std::vector<uint64_t> percpu(static_cast<size_t>(ncpu));
  uint32_t zero = 0;
  uint64_t total = 0;
  if (bpf_map__lookup_elem(skel->maps.lost, &zero, sizeof(zero), percpu.data(),
                           percpu.size() * sizeof(uint64_t), 0) == 0) {
    for (uint64_t v : percpu) total += v;
  }
  return total;
}

// One capture's moving parts while it drains.
struct Session {
  const CaptureOptions& o;
  syscalls_bpf* skel;
  Ring& ring;
  Decoder& decoder;
  trace::TraceWriter& writer;
  Child& child;
  uint64_t t0 = 0;
  uint64_t lost_seen = 0;
  bool child_done = false;

  int Consume() {
    return ring.Consume([&](const void* data, size_t size) { return decoder.OnEvent(data, size); });
  }

  // Drains the ring until a stop (the flag, the duration, the size limit, the
  // traced command's end) or an error; every second accounts lost events,
  // flushes the trace and reports progress.
  Status DrainUntilStopped(CaptureResult* result) {
    uint64_t last_flush = t0;
    for (;;) {
      // Drain in bounded slices: the decoder stops a slice after a time budget
      // so a busy producer cannot starve the checks below.
      decoder.StartSlice(MonotonicNs() + 20000000);
      int n = Consume();
      // The decoder's own error (a full disk) stopped the drain.
      if (!decoder.status().ok()) return decoder.status();
      if (n < 0 && n != -EAGAIN) return BpfError("ring buffer consume", n);
      uint64_t now = MonotonicNs();
      if (now - last_flush >= 1000000000ull) {
        AccountLost(now);
        ORDO_RETURN_IF_ERROR(writer.Flush());
        last_flush = now;
        if (o.on_progress)
          o.on_progress(decoder.events(), lost_seen, writer.bytes_written(), (now - t0) / 1e9);
      }
      bool stop = (o.stop && o.stop->load()) || (o.duration_ns && now - t0 >= o.duration_ns) ||
                  (o.max_size && writer.bytes_written() >= o.max_size);
      if (child.pid > 0 && !child_done) {
        int st = 0;
        if (waitpid(child.pid, &st, WNOHANG) == child.pid) {
          child_done = true;
          result->command_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
      }
      if (stop || child_done) return Status::Ok();
      if (n < 100) usleep(10000);
    }
  }

  // Capture stops: every program is detached, and once none can still be
  // running (an RCU grace period, through membarrier) the ring's last records
  // and then what each CPU's batch still holds go into the trace. A thread's
  // records in a batch are its latest, so they come after the ring's.
  void DrainLast(std::vector<bpf_link*>* usdt_links) {
    for (auto* l : *usdt_links) bpf_link__destroy(l);
    usdt_links->clear();
    syscalls_bpf__detach(skel);
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0) usleep(50000);
    decoder.StartSlice(~0ull);
    (void)Consume();
    TakeBatches();
    decoder.ReleaseHeld();
    AccountLost(MonotonicNs());
  }

  void TakeBatches() {
    static const int ncpu = std::max(libbpf_num_possible_cpus(), 1);
    std::vector<ordo_io_batch> batches(static_cast<size_t>(ncpu));
    uint32_t zero = 0;
    if (bpf_map__lookup_elem(skel->maps.batch, &zero, sizeof(zero), batches.data(),
                             batches.size() * sizeof(ordo_io_batch), 0) != 0)
      return;
    for (size_t cpu = 0; cpu < batches.size(); cpu++) {
      ordo_io_batch& b = batches[cpu];
      if (b.count == 0) continue;
      b.type = ORDO_EV_IO_BATCH;
      b.cpu = static_cast<uint32_t>(cpu);
      (void)decoder.OnEvent(&b, sizeof(b));
    }
  }

  void AccountLost(uint64_t now) {
    uint64_t lost = ReadLost(skel);
    if (lost > lost_seen) decoder.AddLost(lost - lost_seen, now);
    lost_seen = lost;
  }
};

// Claims the output before anything is loaded: written as OUT.partial (0600,
// locked; left for the user if the capture is killed outright) and renamed to
// OUT when the capture ends cleanly. Refused if it is one of the inputs.
Result<std::unique_ptr<ByteSink>> ClaimOutput(const CaptureOptions& o) {
  std::vector<std::string> inputs;
  if (!o.usdt_binary.empty()) inputs.push_back(o.usdt_binary);
  if (!o.command.empty()) inputs.push_back(o.command[0]);
  ORDO_RETURN_IF_ERROR(CheckOutput(o.output, inputs));
  OutputOptions out_options;
  out_options.mode = 0600;
  out_options.visible_partial = true;
  return CreateSink(o.output, out_options);
}

void KillChild(const Child& child) {
  if (child.pid > 0) {
    kill(child.pid, SIGKILL);
    waitpid(child.pid, nullptr, 0);
  }
}

// Starts the traced command (held before exec until it is in the filter),
// puts the pids in the filter and attaches every program. On error the
// command is killed and nothing stays attached.
Status Attach(const CaptureOptions& o, syscalls_bpf* skel, bool uring, Child* child,
              std::vector<bpf_link*>* usdt_links) {
  if (!o.command.empty()) {
    auto c = ForkCommand(o.command);
    if (!c.ok()) return c.status();
    *child = c.value();
  }
  std::vector<uint32_t> pids = o.pids;
  if (child->pid > 0) pids.push_back(static_cast<uint32_t>(child->pid));
  for (uint32_t pid : pids) {
    uint8_t one = 1;
    bpf_map__update_elem(skel->maps.tgids, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
  }
  if (int err = syscalls_bpf__attach(skel); err != 0) {
    KillChild(*child);
    return BpfError(uring ? "attach tp_btf/sys_enter, sys_exit, sched_switch, sched_process_fork, "
                            "io_uring_submit_req, io_uring_complete"
                          : "attach tp_btf/sys_enter, sys_exit, sched_switch, sched_process_fork",
                    err);
  }
  if (o.usdt_binary.empty()) return Status::Ok();
  auto links = AttachUsdt(skel, o.usdt_binary);
  if (!links.ok()) {
    KillChild(*child);
    return links.status();
  }
  *usdt_links = std::move(links).value();
  return Status::Ok();
}

}  // namespace

Result<CaptureResult> Run(const CaptureOptions& o) {
  if (o.output.empty()) return Status::InvalidArgument("capture: no output path");
  if (o.ring_bytes < 4096 || (o.ring_bytes & (o.ring_bytes - 1)) != 0)
    return Status::InvalidArgument(
        fmt::format("ring buffer of {} bytes: must be a power of two of at least 4 KiB (e.g. 64M)",
                    o.ring_bytes));
  uint64_t cgroup = 0;
  if (!o.cgroup.empty() && (cgroup = CgroupId(o.cgroup)) == 0)
    return Status::InvalidArgument(
        "cgroup " + o.cgroup + ": not a cgroup v2 directory (give its path on a cgroup2 mount)");
  auto sink = ClaimOutput(o);
  if (!sink.ok()) return sink.status();
  bool uring = false;
  auto skel = LoadPrograms(o, cgroup, &uring);
  if (!skel.ok()) return skel.status();
  Child child;
  std::vector<bpf_link*> usdt_links;
  ORDO_RETURN_IF_ERROR(Attach(o, skel->get(), uring, &child, &usdt_links));

  trace::WriterOptions wo;
  wo.file_mode = 0600;
  // Level 1: ~45% less compression CPU than 3 for ~2% more bytes on
  // capture traces (3.54 -> 3.60 bytes/event on 4 KiB random reads).
  wo.zstd_level = 1;
  auto writer = trace::TraceWriter::Create(std::move(sink).value(), CaptureHeader(o), wo);
  Ring ring;
  Status opened =
      writer.ok() ? ring.Open(bpf_map__fd((*skel)->maps.events), o.ring_bytes) : writer.status();
  if (!opened.ok()) {
    for (auto* l : usdt_links) bpf_link__destroy(l);
    KillChild(child);
    return opened;
  }
  Decoder decoder(writer->get(), o);
  for (uint32_t pid : o.pids) decoder.SnapshotProcess(pid);
  if (child.pid > 0) {
    (void)!write(child.go, "g", 1);
    close(child.go);
  }

  if (o.on_attached) o.on_attached();
  CaptureResult result;
  Session session{o, skel->get(), ring, decoder, **writer, child};
  session.t0 = MonotonicNs();
  Status status = session.DrainUntilStopped(&result);
  // Everything already recorded goes into the trace.
  session.DrainLast(&usdt_links);
  Status closed = (*writer)->Close();
  if (status.ok()) status = closed.ok() ? decoder.status() : closed;
  if (child.pid > 0 && !session.child_done) {
    // Stopped before the command ended (duration, size, a signal): tracing
    // stops, the command is left to run — never kill a workload.
    std::fprintf(stderr, "ordo capture: stopped; %s (pid %d) keeps running untraced\n",
                 o.command[0].c_str(), static_cast<int>(child.pid));
  }
  if (!status.ok()) {
    if (o.output == "-") return status;
    return status.WithContext("capture stopped (the events up to the last flush are in " +
                              o.output + ".partial)");
  }
  result.events = decoder.events();
  result.lost = session.lost_seen;
  result.bytes = (*writer)->bytes_written();
  result.seconds = (MonotonicNs() - session.t0) / 1e9;
  return result;
}

}  // namespace ordo::capture
