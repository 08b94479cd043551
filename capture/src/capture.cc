// The loader: open -> set rodata -> load -> attach -> drain the ring buffer on
// a timer, turning kernel events into trace records.
#include "ordo/capture/capture.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

#include "decoder.h"
#include "ordo/file_io.h"
#include "ordo/trace/writer.h"
#include "ordo/util/atomic_output.h"
#include "ordo/util/clock.h"
#include "syscalls.h"
#include "syscalls.skel.h"

namespace ordo::capture {

namespace {

using util::MonotonicNs;

struct SkeletonDeleter {
  void operator()(syscalls_bpf* s) const { syscalls_bpf__destroy(s); }
};

Status BpfError(const std::string& what, int err);

// The BPF ring buffer, read in place. libbpf's consumer (1.1) publishes its
// position after every record; the kernel reads that position on every
// reserve, so while the consumer drains, each event's reserve on the traced
// CPU misses in cache on a line the consumer just wrote. This consumer
// publishes once per batch (and every quarter of the ring, so a small ring
// frees room as it drains).
class Ring {
 public:
  ~Ring() {
    if (consumer_ != MAP_FAILED) munmap(consumer_, page_);
    if (producer_ != MAP_FAILED) munmap(producer_, page_ + 2 * size_);
  }

  // Maps the ring of `map_fd`, `size` bytes of data (a power of two).
  Status Open(int map_fd, size_t size) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = size;
    consumer_ = mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (consumer_ == MAP_FAILED) return BpfError("map the ring buffer", errno);
    // The data pages are mapped twice in a row: a record that wraps around
    // the end reads as one piece.
    producer_ =
        mmap(nullptr, page_ + 2 * size_, PROT_READ, MAP_SHARED, map_fd, static_cast<off_t>(page_));
    if (producer_ == MAP_FAILED) return BpfError("map the ring buffer", errno);
    data_ = static_cast<const uint8_t*>(producer_) + page_;
    return Status::Ok();
  }

  // Hands every committed record to `fn(data, size)` in order, until the ring
  // is empty, a record is still being written, or fn returns < 0 (returned,
  // after the record is consumed). Otherwise returns the count of records.
  template <class Fn>
  int Consume(Fn&& fn) {
    auto* cpos = static_cast<uint64_t*>(consumer_);
    const auto* ppos = static_cast<const uint64_t*>(producer_);
    uint64_t cons = __atomic_load_n(cpos, __ATOMIC_ACQUIRE);
    uint64_t published = cons;
    const uint64_t mask = size_ - 1, every = size_ / 4;
    int count = 0, ret = 0;
    for (bool more = true; more && ret >= 0;) {
      more = false;
      uint64_t prod = __atomic_load_n(ppos, __ATOMIC_ACQUIRE);
      while (cons < prod) {
        const uint8_t* rec = data_ + (cons & mask);
        uint32_t len = __atomic_load_n(reinterpret_cast<const uint32_t*>(rec), __ATOMIC_ACQUIRE);
        if (len & BPF_RINGBUF_BUSY_BIT) {
          prod = cons;  // not committed yet: the rest waits for the next drain
          break;
        }
        more = true;
        uint32_t body = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
        cons += (static_cast<uint64_t>(body) + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
        if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
          ++count;
          ret = fn(rec + BPF_RINGBUF_HDR_SZ, body);
          if (ret < 0) break;
        }
        if (cons - published >= every) {
          __atomic_store_n(cpos, cons, __ATOMIC_RELEASE);
          published = cons;
        }
      }
      if (prod == cons && !more) break;
    }
    if (cons != published) __atomic_store_n(cpos, cons, __ATOMIC_RELEASE);
    return ret < 0 ? ret : count;
  }

 private:
  size_t page_ = 0;
  size_t size_ = 0;
  void* consumer_ = MAP_FAILED;
  void* producer_ = MAP_FAILED;
  const uint8_t* data_ = nullptr;
};

Status BpfError(const std::string& what, int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES) {
    return Status::PermissionDenied(
        fmt::format("{}: {} (BPF needs root or CAP_BPF + CAP_PERFMON; check also "
                    "kernel.unprivileged_bpf_disabled "
                    "and lockdown)",
                    what, std::strerror(err)));
  }
  if (err == ENOENT || err == ENOTSUP || err == EINVAL || err == ESRCH) {
    return Status::PermissionDenied(
        fmt::format("{}: {} (the kernel lacks a needed feature: BTF tracepoints "
                    "tp_btf/sys_enter, sys_exit, sched_process_fork)",
                    what, std::strerror(err)));
  }
  return Status::IoError(fmt::format("{}: {}", what, std::strerror(err)));
}

// Whether this kernel has all the BTF tracepoints `names` (tp_btf/NAME).
bool HasTracepoints(std::initializer_list<const char*> names) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return false;
  bool found = true;
  for (const char* name : names)
    found = found && btf__find_by_name_kind(vmlinux, fmt::format("btf_trace_{}", name).c_str(),
                                            BTF_KIND_TYPEDEF) > 0;
  btf__free(vmlinux);
  return found;
}

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

// The id bpf_get_current_cgroup_id() reports for a cgroup v2 directory: its
// inode number. 0 when `path` is not a directory of a cgroup2 file system.
uint64_t CgroupId(const std::string& path) {
  std::string p = path.empty() || path[0] == '/' ? path : "/sys/fs/cgroup/" + path;
  struct statfs fs;
  struct stat st;
  if (statfs(p.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) return 0;
  if (stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  return st.st_ino;
}

}  // namespace

Result<CaptureResult> Run(const CaptureOptions& o) {
  if (o.output.empty()) return Status::InvalidArgument("capture: -o OUT.ordo is required");
  if (o.ring_bytes < 4096 || (o.ring_bytes & (o.ring_bytes - 1)) != 0)
    return Status::InvalidArgument("--ring must be a power of two of at least 4 KiB (e.g. 64M)");
  uint64_t cgroup = 0;
  if (!o.cgroup.empty() && (cgroup = CgroupId(o.cgroup)) == 0)
    return Status::InvalidArgument(
        "--cgroup " + o.cgroup + ": not a cgroup v2 directory (give its path on a cgroup2 mount)");
  // The output is claimed before anything is loaded: written as OUT.partial
  // (0600, locked; left for the user if the capture is killed outright) and
  // renamed to OUT when the capture ends cleanly.
  std::vector<std::string> inputs;
  if (!o.usdt_binary.empty()) inputs.push_back(o.usdt_binary);
  if (!o.command.empty()) inputs.push_back(o.command[0]);
  ORDO_RETURN_IF_ERROR(CheckOutput(o.output, inputs));
  OutputOptions out_options;
  out_options.mode = 0600;
  out_options.visible_partial = true;
  auto sink = CreateSink(o.output, out_options);
  if (!sink.ok()) return sink.status();
  libbpf_set_print([](enum libbpf_print_level level, const char* fmt, va_list args) {
    return level == LIBBPF_WARN && std::getenv("ORDO_BPF_DEBUG") ? vfprintf(stderr, fmt, args) : 0;
  });

  std::unique_ptr<syscalls_bpf, SkeletonDeleter> skel(syscalls_bpf__open());
  if (!skel) return BpfError("open BPF object", errno);
  bool by_pid = !o.pids.empty() || !o.command.empty();
  skel->rodata->filter_pids = by_pid;
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
  bool uring = HasTracepoints({"io_uring_submit_req", "io_uring_complete"});
  bpf_program__set_autoload(skel->progs.uring_submit, uring);
  bpf_program__set_autoload(skel->progs.uring_complete, uring);
  bool usdt = !o.usdt_binary.empty();
  bpf_program__set_autoload(skel->progs.engine_point, usdt);
  bpf_program__set_autoload(skel->progs.engine_request, usdt);
  bpf_program__set_autoload(skel->progs.engine_site, usdt);
  bpf_program__set_autoattach(skel->progs.engine_point, false);
  bpf_program__set_autoattach(skel->progs.engine_request, false);
  bpf_program__set_autoattach(skel->progs.engine_site, false);
  if (int err = syscalls_bpf__load(skel.get()); err != 0) return BpfError("load BPF programs", err);

  Child child;
  if (!o.command.empty()) {
    auto c = ForkCommand(o.command);
    if (!c.ok()) return c.status();
    child = c.value();
  }
  std::vector<uint32_t> pids = o.pids;
  if (child.pid > 0) pids.push_back(static_cast<uint32_t>(child.pid));
  for (uint32_t pid : pids) {
    uint8_t one = 1;
    bpf_map__update_elem(skel->maps.tgids, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
  }
  auto kill_child = [&] {
    if (child.pid > 0) {
      kill(child.pid, SIGKILL);
      waitpid(child.pid, nullptr, 0);
    }
  };
  if (int err = syscalls_bpf__attach(skel.get()); err != 0) {
    kill_child();
    return BpfError(uring ? "attach tp_btf/sys_enter, sys_exit, sched_process_fork, "
                            "io_uring_submit_req, io_uring_complete"
                          : "attach tp_btf/sys_enter, sys_exit, sched_process_fork",
                    err);
  }
  std::vector<bpf_link*> usdt_links;
  if (usdt) {
    struct {
      bpf_program* prog;
      const char* name;
    } probes[] = {{skel->progs.engine_site, "site"},
                  {skel->progs.engine_point, "point"},
                  {skel->progs.engine_request, "request"}};
    for (auto& p : probes) {
      bpf_link* l =
          bpf_program__attach_usdt(p.prog, -1, o.usdt_binary.c_str(), "ordo", p.name, nullptr);
      // ordo:point is the one probe every engine has (ordo/engine_point.h);
      // ordo:site and ordo:request may be missing.
      if (!l && errno == ENOENT && std::string_view(p.name) != "point") continue;
      if (!l) {
        int err = errno;
        for (auto* x : usdt_links) bpf_link__destroy(x);
        kill_child();
        return BpfError(fmt::format("attach USDT ordo:{} in {}", p.name, o.usdt_binary), err);
      }
      usdt_links.push_back(l);
    }
  }

  trace::TraceHeader h;
  h.tool_version = std::string("ordo ") + ORDO_VERSION;
  h.kind = "capture";
  h.clock = "monotonic";
  h.tick_ns = o.tick_ns;
  // --redact-paths covers the header too: the command line and the filters
  // name paths (the output, --path, --cgroup, --usdt, the traced command).
  h.source = o.redact_paths ? "ordo capture (command line withheld: --redact-paths)" : o.source;
  auto name = [&](const std::string& p) { return o.redact_paths ? RedactedPath(p) : p; };
  h.start_realtime_ns = static_cast<uint64_t>(time(nullptr)) * 1000000000ull;
  {
    std::ifstream host("/proc/sys/kernel/hostname"), rel("/proc/sys/kernel/osrelease");
    std::getline(host, h.host);
    std::string r;
    std::getline(rel, r);
    h.kernel = "Linux " + r;
  }
  std::string filters;
  for (uint32_t p : o.pids) filters += fmt::format("--pid {} ", p);
  if (!o.comm.empty()) filters += "--comm " + o.comm + " ";
  if (!o.cgroup.empty()) filters += "--cgroup " + name(o.cgroup) + " ";
  for (const auto& p : o.path_prefixes) filters += "--path " + name(p) + " ";
  if (usdt) filters += "--usdt " + name(o.usdt_binary) + " ";
  h.filters = filters;
  trace::WriterOptions wo;
  wo.file_mode = 0600;
  // Level 1: ~45% less compression CPU than 3 for ~2% more bytes on
  // capture traces (3.54 -> 3.60 bytes/event on 4 KiB random reads).
  wo.zstd_level = 1;
  auto writer = trace::TraceWriter::Create(std::move(sink).value(), h, wo);
  if (!writer.ok()) {
    kill_child();
    return writer.status();
  }

  Decoder decoder(writer->get(), o);
  for (uint32_t pid : o.pids) decoder.SnapshotProcess(pid);
  Ring ring;
  if (Status s = ring.Open(bpf_map__fd(skel->maps.events), o.ring_bytes); !s.ok()) {
    kill_child();
    return s;
  }
  auto consume = [&] {
    return ring.Consume([&](const void* data, size_t size) { return decoder.OnEvent(data, size); });
  };
  if (child.pid > 0) {
    (void)!write(child.go, "g", 1);
    close(child.go);
  }

  if (o.on_attached) o.on_attached();
  CaptureResult result;
  const uint64_t t0 = MonotonicNs();
  uint64_t last_flush = t0;
  uint64_t lost_seen = 0;
  int ncpu = libbpf_num_possible_cpus();
  std::vector<uint64_t> percpu(static_cast<size_t>(std::max(ncpu, 1)));
  auto read_lost = [&] {
    uint32_t zero = 0;
    uint64_t total = 0;
    if (bpf_map__lookup_elem(skel->maps.lost, &zero, sizeof(zero), percpu.data(),
                             percpu.size() * sizeof(uint64_t), 0) == 0) {
      for (uint64_t v : percpu) total += v;
    }
    return total;
  };
  Status status;
  bool child_done = false;
  for (;;) {
    // Drain in bounded slices: the decoder stops a slice after a time budget
    // so a busy producer cannot starve the checks below (libbpf 1.1's consume
    // loop has no record limit of its own).
    decoder.StartSlice(MonotonicNs() + 20000000);
    int n = consume();
    if (!decoder.status().ok()) {  // the decoder's own error (a full disk) stopped the drain
      status = decoder.status();
      break;
    }
    if (n < 0 && n != -EAGAIN) {
      status = BpfError("ring buffer consume", n);
      break;
    }
    uint64_t now = MonotonicNs();
    if (now - last_flush >= 1000000000ull) {
      uint64_t lost = read_lost();
      if (lost > lost_seen) decoder.AddLost(lost - lost_seen, now);
      lost_seen = lost;
      status = (*writer)->Flush();
      if (!status.ok()) break;
      last_flush = now;
      if (o.on_progress)
        o.on_progress(decoder.events(), lost_seen, (*writer)->bytes_written(), (now - t0) / 1e9);
    }
    bool stop = (o.stop && o.stop->load()) || (o.duration_ns && now - t0 >= o.duration_ns) ||
                (o.max_size && (*writer)->bytes_written() >= o.max_size);
    if (child.pid > 0 && !child_done) {
      int st = 0;
      if (waitpid(child.pid, &st, WNOHANG) == child.pid) {
        child_done = true;
        result.command_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
    }
    if (stop || child_done) break;
    if (n < 100) usleep(10000);
  }
  // Everything already in the ring goes into the trace.
  decoder.StartSlice(~0ull);
  (void)consume();
  uint64_t lost = read_lost();
  if (lost > lost_seen) decoder.AddLost(lost - lost_seen, MonotonicNs());
  for (auto* l : usdt_links) bpf_link__destroy(l);
  Status closed = (*writer)->Close();
  if (status.ok()) status = closed.ok() ? decoder.status() : closed;
  if (child.pid > 0 && !child_done) {
    // Stopped before the command ended (--duration, --max-size, a signal):
    // tracing stops, the command is left to run — never kill a workload.
    std::fprintf(stderr, "ordo capture: stopped; %s (pid %d) keeps running untraced\n",
                 o.command[0].c_str(), static_cast<int>(child.pid));
  }
  if (!status.ok()) {
    if (o.output == "-") return status;
    return status.WithContext("capture stopped (the events up to the last flush are in " +
                              o.output + ".partial)");
  }
  result.events = decoder.events();
  result.lost = lost;
  result.bytes = (*writer)->bytes_written();
  result.seconds = (MonotonicNs() - t0) / 1e9;
  return result;
}

}  // namespace ordo::capture
