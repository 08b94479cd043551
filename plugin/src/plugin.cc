#include "ordo/plugin/plugin.h"

#include <dlfcn.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cstring>
#include <mutex>

#include "ordo/util/clock.h"

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include "ordo/host_table.h"
#include "ordo/trace/record.h"
#include "ordo/util/usdt.h"

namespace ordo::plugin {

static_assert(ORDO_ACCESS_VERIFY_FAIL == static_cast<int>(sched::Access::kVerifyFail) &&
                  ORDO_ACCESS_REQUEST == static_cast<int>(sched::Access::kRequest) &&
                  ORDO_ACCESS_FILL_CLEAN == static_cast<int>(sched::Access::kFillClean),
              "ordo_access and sched::Access must agree");
static_assert(ORDO_PUBLISH_REPLACES_ANY == sched::kPublishReplacesAny &&
                  ORDO_FAIL_FLAGS == sched::kFailFlags,
              "the args the rules read must agree");

namespace {

// Where the path of "PATH[:CONFIG]" ends: after the first ".so" (or
// ".so.N...") that ends the text or is followed by ':'. Directories may
// contain ".so" ("my.soft/x.so") and configs may contain ':'.
size_t PathEnd(std::string_view text) {
  for (size_t at = text.find(".so"); at != std::string_view::npos; at = text.find(".so", at + 1)) {
    size_t end = at + 3;
    while (end + 1 < text.size() && text[end] == '.' &&
           std::isdigit(static_cast<unsigned char>(text[end + 1]))) {
      end += 2;
      while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    }
    if (end == text.size() || text[end] == ':') return end;
  }
  return std::string_view::npos;
}

}  // namespace

bool IsEngineSpec(std::string_view text) { return PathEnd(text) != std::string_view::npos; }

EngineSpec ParseEngineSpec(std::string_view text) {
  EngineSpec spec;
  size_t end = PathEnd(text);
  spec.path = std::string(text.substr(0, end));
  if (end != std::string_view::npos && end < text.size())
    spec.config = std::string(text.substr(end + 1));
  return spec;
}

std::string EngineSpecString(const EngineSpec& spec) {
  return spec.config.empty() ? spec.path : spec.path + ":" + spec.config;
}

Status EngineLibrary::Probe(const std::string& path) {
  // Loading runs the engine's constructors and ordo_engine_get: in a child
  // first, so that a crash there is an error naming the engine, not ordo dying.
  int fds[2];
  if (pipe(fds) != 0) return Status::IoError(std::string("pipe: ") + std::strerror(errno));
  pid_t child = fork();
  if (child < 0) {
    close(fds[0]);
    close(fds[1]);
    return Status::IoError(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    close(fds[0]);
    dup2(STDERR_FILENO, STDOUT_FILENO);
    auto lib = Load(path);
    std::string why = lib.ok() ? "" : lib.status().message();
    (void)!write(fds[1], why.data(), why.size());
    _exit(lib.ok() ? 0 : 2);
  }
  close(fds[1]);
  std::string why;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    why.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return Status::InvalidArgument(fmt::format(
        "{}: engine: crashed while loading (signal {}, {}): in a constructor or ordo_engine_get",
        path, WTERMSIG(status), strsignal(WTERMSIG(status))));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && !why.empty()) {
    return Status::InvalidArgument(why);  // Load's own error
  }
  // exit() in a constructor, or a sanitizer ending the process.
  return Status::InvalidArgument(fmt::format(
      "{}: engine: crashed while loading (its process ended with status {}): in a constructor "
      "or ordo_engine_get",
      path, WIFEXITED(status) ? WEXITSTATUS(status) : -1));
}

Result<std::shared_ptr<EngineLibrary>> EngineLibrary::Load(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Status::NotFound(fmt::format("{}: engine: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": engine: not a regular file");
  // A name without a slash would be searched for on the library path.
  std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status::InvalidArgument(
        fmt::format("{}: engine: not a loadable shared object: {}", path, why ? why : "?"));
  }
  std::shared_ptr<EngineLibrary> lib(new EngineLibrary);
  lib->handle_ = handle;
  lib->path_ = path;
  auto get = reinterpret_cast<ordo_engine_get_fn>(dlsym(handle, ORDO_ENGINE_GET_SYMBOL));
  if (get == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: engine: no {} symbol: not an ordo engine (see ordo/engine_abi.h)", path,
                    ORDO_ENGINE_GET_SYMBOL));
  }
  const ordo_engine_ops* ops = nullptr;
  int rc = get(ORDO_ENGINE_ABI_MAJOR, ORDO_ENGINE_ABI_MINOR, &ops);
  if (ops != nullptr && ops->major != ORDO_ENGINE_ABI_MAJOR) {
    return Status::Unsupported(fmt::format(
        "{}: engine ABI {}.{} is not supported by this ordo (engine ABI {}.{}): rebuild the engine "
        "against this ordo's engine_abi.h",
        path, ops->major, ops->minor, ORDO_ENGINE_ABI_MAJOR, ORDO_ENGINE_ABI_MINOR));
  }
  if (rc != ORDO_OK) {
    return Status::Unsupported(
        fmt::format("{}: engine refused this ordo's engine ABI {}.{} (ordo_engine_get returned {})",
                    path, ORDO_ENGINE_ABI_MAJOR, ORDO_ENGINE_ABI_MINOR, rc));
  }
  if (ops == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: engine: ordo_engine_get returned ORDO_OK but no ops", path));
  }
  if (ops->size < offsetof(ordo_engine_ops, close) + sizeof(ops->close) || !ops->open ||
      !ops->apply || !ops->check || !ops->close) {
    return Status::InvalidArgument(
        fmt::format("{}: engine: its ordo_engine_ops is incomplete (size {}, a null entry point)",
                    path, ops->size));
  }
  lib->ops_ = ops;
  return lib;
}

std::shared_ptr<EngineLibrary> EngineLibrary::FromOps(const ordo_engine_ops* ops,
                                                      std::string name) {
  std::shared_ptr<EngineLibrary> lib(new EngineLibrary);
  lib->ops_ = ops;
  lib->path_ = std::move(name);
  return lib;
}

EngineLibrary::~EngineLibrary() {
  if (handle_ != nullptr) dlclose(handle_);
}

std::string EngineLibrary::name() const {
  return ops_ != nullptr && ops_->name != nullptr ? ops_->name : path_;
}

namespace {

// An engine's text as one printable line: its bytes are not trusted to be
// UTF-8 or free of control characters.
void Printable(char* text, size_t size) {
  text[size - 1] = 0;
  for (char* c = text; *c; ++c) {
    if (static_cast<unsigned char>(*c) < 0x20 || static_cast<unsigned char>(*c) >= 0x7f) *c = '?';
  }
}

// Each replay thread applies its own requests: failures are per thread.
thread_local ordo_failure t_failure;
ordo_failure* Fresh() {
  t_failure = ordo_failure{};
  t_failure.size = sizeof(ordo_failure);
  return &t_failure;
}

struct HostMutex {
  explicit HostMutex(sched::Scheduler* s) : mu(s), cv(s) {}
  sched::Mutex mu;
  sched::CondVar cv;
};

}  // namespace

struct SchedulerHost::State {
  ordo_host abi{};
  sched::Scheduler* scheduler = nullptr;
  engine::HistorySink* history = nullptr;
  std::atomic<uint64_t> rng{0};
  std::mutex mu;  // site registration, history records
  // Access kind by site id (0: unregistered), read without a lock by points.
  static constexpr uint32_t kMaxSites = 0x7fff;
  std::array<std::atomic<uint8_t>, kMaxSites + 1> access{};
  std::atomic<uint32_t> sites{0};
  uint64_t seq = 0;

  static State* Of(void* ctx) { return static_cast<State*>(ctx); }

  static int Spawn(void* ctx, const char* name, void (*fn)(void*), void* arg) {
    return Of(ctx)->scheduler->Spawn(name ? name : "engine", [fn, arg] { fn(arg); });
  }
  static void Join(void* ctx, int handle) { Of(ctx)->scheduler->Join(handle); }
  static ordo_mutex* MutexNew(void* ctx) {
    return reinterpret_cast<ordo_mutex*>(new HostMutex(Of(ctx)->scheduler));
  }
  static void MutexFree(void*, ordo_mutex* m) { delete reinterpret_cast<HostMutex*>(m); }
  static void Lock(void*, ordo_mutex* m) { reinterpret_cast<HostMutex*>(m)->mu.lock(); }
  static void Unlock(void*, ordo_mutex* m) { reinterpret_cast<HostMutex*>(m)->mu.unlock(); }
  static void Wait(void*, ordo_mutex* m, int (*ready)(void*), void* arg) {
    HostMutex* h = reinterpret_cast<HostMutex*>(m);
    h->cv.Wait(h->mu, [ready, arg] { return ready(arg) != 0; });
  }
  static void Notify(void*, ordo_mutex* m) { reinterpret_cast<HostMutex*>(m)->cv.NotifyAll(); }
  static uint64_t Random(void* ctx) {
    return SplitMix64(Of(ctx)->rng.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed));
  }
  static uint64_t NowNs(void* ctx) {
    State* h = Of(ctx);
    if (h->scheduler->controlled()) return h->scheduler->steps() * 1000;
    return util::MonotonicNs();
  }
  static uint32_t Site(void* ctx, const char* name, uint32_t access) {
    State* h = Of(ctx);
    std::lock_guard<std::mutex> lock(h->mu);
    uint32_t id = h->sites.load() + 1;
    if (access > ORDO_ACCESS_FILL_CLEAN || id > kMaxSites) return 0;
    // Stored as access + 1, so that 0 means "not registered".
    h->access[id].store(static_cast<uint8_t>(access + 1), std::memory_order_release);
    h->sites.store(id);
    if (h->history)
      h->history->Site(trace::SiteRecord{id, static_cast<uint8_t>(access), name ? name : ""});
    if (ordo_site_semaphore && name != nullptr) {
      unsigned site = id;
      STAP_PROBE3(ordo, site, site, access, name);
    }
    return id;
  }
  static int TryLock(void*, ordo_mutex* m) {
    return reinterpret_cast<HostMutex*>(m)->mu.try_lock() ? 1 : 0;
  }
  static void Point(void* ctx, uint32_t site, uint64_t object, uint64_t arg) {
    Step(ctx, site, object, arg, true);
  }
  static void Observe(void* ctx, uint32_t site, uint64_t object, uint64_t arg) {
    Step(ctx, site, object, arg, false);
  }
  static void Step(void* ctx, uint32_t site, uint64_t object, uint64_t arg, bool yield) {
    State* h = Of(ctx);
    const uint8_t stored = site <= kMaxSites ? h->access[site].load(std::memory_order_acquire) : 0;
    if (stored == 0) return;  // not a registered site
    const auto access = static_cast<sched::Access>(stored - 1);
    const uint16_t kind = static_cast<uint16_t>(trace::kSiteEventBase + site);
    // As at the built-in engine's points: yield first, so the thread that
    // takes the step records it and history order is effect order.
    if (yield && h->scheduler->controlled())
      h->scheduler->Yield(sched::PendingStep{site, object, access});
    if (ordo_point_semaphore) {
      unsigned k = kind;
      STAP_PROBE3(ordo, point, k, object, arg);
    }
    if (h->history == nullptr) return;
    int logical = h->scheduler->CurrentIndex();
    trace::EngineRecord e;
    e.kind = kind;
    e.tid =
        logical >= 0 ? static_cast<uint32_t>(logical) : static_cast<uint32_t>(syscall(SYS_gettid));
    e.block = object;
    e.arg = arg;
    std::lock_guard<std::mutex> lock(h->mu);
    e.seq = h->seq++;
    h->history->Record(e);
  }
};

SchedulerHost::SchedulerHost(sched::Scheduler* scheduler, engine::HistorySink* history,
                             uint64_t seed)
    : state_(std::make_unique<State>()) {
  State& h = *state_;
  h.scheduler = scheduler;
  h.history = history;
  h.rng = SplitMix64(seed);
  FillHostTable(&h, &h.abi);
}

SchedulerHost::~SchedulerHost() = default;

const ordo_host* SchedulerHost::abi() const { return &state_->abi; }

Result<std::unique_ptr<HostedEngine>> HostedEngine::Open(
    std::shared_ptr<EngineLibrary> library, const std::string& dir, const std::string& config,
    sched::Scheduler* scheduler, engine::HistorySink* history, uint64_t seed) {
  std::unique_ptr<HostedEngine> e(new HostedEngine);
  e->library_ = std::move(library);
  e->host_ = std::make_unique<SchedulerHost>(scheduler, history, seed);
  const ordo_host& a = *e->host_->abi();
  ordo_failure* f = Fresh();
  int rc = e->library_->ops().open(&a, dir.c_str(), config.c_str(), &e->engine_, f);
  if (rc != ORDO_OK) {
    Printable(f->message, sizeof f->message);
    return Status::InvalidArgument(fmt::format("{}: engine {} could not open {}: {}",
                                               e->library_->path(), e->library_->name(), dir,
                                               f->message));
  }
  e->closed_ = false;
  return e;
}

HostedEngine::~HostedEngine() {
  if (!closed_) (void)Close();
}

const ordo_failure& HostedEngine::failure() const { return t_failure; }

Status HostedEngine::Outcome(int rc, const char* what) {
  ordo_failure& f = t_failure;
  Printable(f.file, sizeof f.file);
  Printable(f.message, sizeof f.message);
  if (rc == ORDO_OK) return Status::Ok();
  std::string message = f.message[0] ? f.message : "(no message)";
  if (rc == ORDO_FAILED) {
    if (f.kind == ORDO_FAILURE_VERIFY) return Status::VerifyFailed(message);
    return Status::VerifyFailed(
        fmt::format("engine detected corruption ({}, kind {}): {}", what, f.kind, message));
  }
  if (rc != ORDO_ERROR) {
    return Status::IoError(
        fmt::format("engine {}: {} returned {}, not one of ORDO_OK, "
                    "ORDO_FAILED, ORDO_ERROR: {}",
                    library_->name(), what, rc, message));
  }
  return Status::IoError(fmt::format("engine {}: {} failed: {}", library_->name(), what, message));
}

Status HostedEngine::Apply(const ordo_request& request) {
  return Outcome(library_->ops().apply(engine_, &request, Fresh()), "apply");
}

Status HostedEngine::Check() { return Outcome(library_->ops().check(engine_, Fresh()), "check"); }

Status HostedEngine::Close() {
  if (closed_) return Status::Ok();
  closed_ = true;
  return Outcome(library_->ops().close(engine_, Fresh()), "close");
}

}  // namespace ordo::plugin
