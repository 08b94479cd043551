#include "isolated_run.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <type_traits>

#include "ordo/sched/scheduler.h"

namespace ordo::replay {

namespace {

// A flat encoding of what crosses the pipe; both ends are this binary.
class Packer {
 public:
  template <typename T>
  void Put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes.append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  void Put(const std::string& v) {
    Put(static_cast<uint64_t>(v.size()));
    bytes += v;
  }
  std::string bytes;
};

class Unpacker {
 public:
  explicit Unpacker(const std::string& b) : b_(b) {}
  template <typename T>
  bool Get(T* v) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (b_.size() - at_ < sizeof(T)) return false;
    std::memcpy(v, b_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool Get(std::string* v) {
    uint64_t n;
    if (!Get(&n) || b_.size() - at_ < n) return false;
    v->assign(b_.data() + at_, n);
    at_ += n;
    return true;
  }
  bool done() const { return at_ == b_.size(); }

 private:
  const std::string& b_;
  size_t at_ = 0;
};

// Targeted runs carry their focus; the parent keeps its own copy of the plan.
void Pack(const RunOutcome& o, const ThreadStats& s, Packer* p) {
  p->Put(o.holds);
  p->Put(o.failed);
  p->Put(o.message);
  p->Put(o.failure_kind);
  p->Put(o.failure_object);
  p->Put(o.failure_file);
  p->Put(o.failure_offset);
  p->Put(o.thread);
  p->Put(o.op_index);
  p->Put(o.history_seq);
  p->Put(o.fail_arg);
  p->Put(o.steps);
  p->Put(static_cast<uint64_t>(o.thread_ops.size()));
  for (uint64_t n : o.thread_ops) p->Put(n);
  p->Put(s.latency);
  p->Put(s.issue_error);
  p->Put(s.ops);
  p->Put(s.errors);
  p->Put(s.first_error);
}

bool Unpack(const std::string& bytes, RunOutcome* o, ThreadStats* s) {
  Unpacker u(bytes);
  uint64_t n = 0;
  if (!u.Get(&o->holds) || !u.Get(&o->failed) || !u.Get(&o->message) || !u.Get(&o->failure_kind) ||
      !u.Get(&o->failure_object) || !u.Get(&o->failure_file) || !u.Get(&o->failure_offset) ||
      !u.Get(&o->thread) || !u.Get(&o->op_index) || !u.Get(&o->history_seq) ||
      !u.Get(&o->fail_arg) || !u.Get(&o->steps) || !u.Get(&n) || n > (1u << 20)) {
    return false;
  }
  o->thread_ops.resize(n);
  for (uint64_t& x : o->thread_ops) {
    if (!u.Get(&x)) return false;
  }
  return u.Get(&s->latency) && u.Get(&s->issue_error) && u.Get(&s->ops) && u.Get(&s->errors) &&
         u.Get(&s->first_error) && u.done();
}

// The child's end of the result pipe, for the deadlock reporter.
int g_result_fd = -1;

bool WriteAll(int fd, const std::string& b) {
  size_t at = 0;
  while (at < b.size()) {
    ssize_t n = write(fd, b.data() + at, b.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

// Under control a deadlock of the engine's threads ends the child: it is
// reported as the run's outcome (tag 2), not as an abort.
void ReportDeadlock(const std::string& what) {
  Packer p;
  p.Put(static_cast<uint8_t>(2));
  p.Put(what);
  (void)WriteAll(g_result_fd, p.bytes);
  _exit(0);
}

// The child's side: runs `run`, writes its report to `fd` and exits (never
// returns).
[[noreturn]] void RunInChild(int fd, const std::function<Result<RunOutcome>(ThreadStats*)>& run) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive ordo (a hang, a second Ctrl-C)
  if (getppid() == 1) _exit(3);
  dup2(STDERR_FILENO, STDOUT_FILENO);  // what the engine prints is not ordo's summary
  signal(SIGINT, SIG_IGN);             // ordo decides when to stop: after the run in progress
  g_result_fd = fd;
  sched::SetDeadlockReporter(&ReportDeadlock);
  ThreadStats mine;
  Result<RunOutcome> out = run(&mine);
  Packer p;
  p.Put(static_cast<uint8_t>(out.ok() ? 0 : 1));
  if (out.ok()) {
    Pack(out.value(), mine, &p);
  } else {
    p.Put(static_cast<int>(out.status().code()));
    p.Put(out.status().message());
  }
  _exit(WriteAll(fd, p.bytes) ? 0 : 3);
}

// How the child ended: its wait status and report, or killed at the timeout.
struct ChildEnd {
  int status = 0;
  bool hung = false;
  std::string report;
};

// Reads the child's report from `fd` until the child has exited (a process
// the engine forked may keep the pipe open after that) or the run's time is
// up (then the child is killed); reaps it either way.
ChildEnd Collect(pid_t child, int fd, double timeout_s) {
  ChildEnd end;
  char buf[65536];
  bool exited = false;
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, 100);
    if (ready > 0) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        end.report.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) break;  // every writer closed it
    }
    if (waitpid(child, &end.status, WNOHANG) == child) {
      exited = true;
      while ((ready = poll(&p, 1, 0)) > 0) {  // what it wrote before exiting
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        end.report.append(buf, static_cast<size_t>(n));
      }
      break;
    }
    if (timeout_s > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
            timeout_s) {
      kill(child, SIGKILL);
      end.hung = true;
      break;
    }
  }
  if (!exited) {
    while (waitpid(child, &end.status, 0) < 0 && errno == EINTR) {
    }
  }
  return end;
}

// A run that ended without a report of its own: a hang, a crash, an exit
// inside the engine, or a deadlock the scheduler reported. False if the
// child reported normally.
bool AbnormalEnd(const ChildEnd& end, double timeout_s, RunOutcome* out) {
  auto fail = [&](std::string message) {
    out->failed = out->crashed = true;
    out->message = std::move(message);
    return true;
  };
  if (end.hung) {
    out->hung = true;
    return fail(fmt::format(
        "the engine did not finish the run within its run timeout of {:g} s: a hang or a deadlock",
        timeout_s));
  }
  if (WIFSIGNALED(end.status)) {
    int sig = WTERMSIG(end.status);
    return fail(fmt::format("the engine crashed: signal {} ({}){}", sig, strsignal(sig),
                            WCOREDUMP(end.status) ? ", core dumped" : ""));
  }
  if (!WIFEXITED(end.status) || WEXITSTATUS(end.status) != 0 || end.report.empty()) {
    // The child reports every error of ordo's own; ending without a report
    // is the engine's doing: exit() or abort by a sanitizer inside it.
    return fail(
        fmt::format("the engine ended the run's process (exit status {}) before it finished",
                    WIFEXITED(end.status) ? WEXITSTATUS(end.status) : -1));
  }
  if (end.report[0] == 2) {
    Unpacker u(end.report);
    uint8_t tag;
    std::string what;
    if (u.Get(&tag) && u.Get(&what)) {
      out->deadlocked = true;
      return fail("the engine deadlocked under the scheduler: " + what);
    }
  }
  return false;
}

}  // namespace

Result<RunOutcome> RunIsolated(const RunOutcome& planned,
                               const std::function<Result<RunOutcome>(ThreadStats*)>& run,
                               double timeout_s, ThreadStats* stats) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + strerror(errno));
  pid_t child = fork();
  if (child < 0) {
    close(fds[0]);
    close(fds[1]);
    return Status::IoError(std::string("fork: ") + strerror(errno));
  }
  if (child == 0) {
    close(fds[0]);
    RunInChild(fds[1], run);
  }
  close(fds[1]);
  ChildEnd end = Collect(child, fds[0], timeout_s);
  close(fds[0]);
  RunOutcome out = planned;
  if (AbnormalEnd(end, timeout_s, &out)) return out;
  if (end.report[0] != 0) {
    Unpacker u(end.report);
    uint8_t tag;
    int code = 0;
    std::string message;
    if (!u.Get(&tag) || !u.Get(&code) || !u.Get(&message)) {
      return Status::IoError(fmt::format("run {}: unreadable error from its process", planned.run));
    }
    return Status::FromCode(static_cast<StatusCode>(code), message);
  }
  ThreadStats mine;
  if (!Unpack(end.report.substr(1), &out, &mine)) {
    return Status::IoError(fmt::format("run {}: unreadable outcome from its process", planned.run));
  }
  stats->Merge(mine);
  return out;
}

}  // namespace ordo::replay
