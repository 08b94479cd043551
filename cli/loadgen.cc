// `ordo loadgen --target DIR [--engine legacy|fixed|PATH.so[:CONFIG]] [--duration 10s] [--seed N]`:
// a production-like process: the cache engine serving burst misaligned reads
// across block boundaries, targeted reads of a hot file, writes and fsyncs,
// with background compaction, from several threads. The "production host" of
// the demo, and a workload to point `ordo capture --usdt` at.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "common.h"
#include "engine_option.h"
#include "ordo/engine/engine.h"
#include "ordo/plugin/plugin.h"
#include "ordo/replay/target_claim.h"
#include "ordo/units.h"

namespace ordo::cli {

namespace {

struct LoadgenOptions {
  std::string target, engine = "legacy", duration = "10s";
  uint64_t seed = 1;
  int readers = 2;
  double rate = 0;  // API requests per second across all threads; 0: as fast as it can
  bool force = false;
};

// What loadgen lays out (an 8 MiB data file and a 256 KiB hot file), with
// room for compaction's relocations and the journal: checked before writing.
constexpr uint64_t kLoadgenBlocks = 2048, kLoadgenHotBlocks = 64, kBlockSize = 4096;
constexpr uint64_t kLoadgenBytes = 4 * (kLoadgenBlocks + kLoadgenHotBlocks) * kBlockSize;

// Paces one thread at `per_s` requests per second by absolute deadlines (no
// drift); free-running when per_s is 0.
class Pacer {
 public:
  explicit Pacer(double per_s)
      : period_(per_s > 0 ? std::chrono::nanoseconds(static_cast<int64_t>(1e9 / per_s))
                          : std::chrono::nanoseconds(0)),
        next_(std::chrono::steady_clock::now()) {}
  void Wait() {
    if (period_.count() == 0) return;
    next_ += period_;
    std::this_thread::sleep_until(next_);
  }

 private:
  std::chrono::nanoseconds period_;
  std::chrono::steady_clock::time_point next_;
};

// What loadgen drives: the built-in engine on its own free-running host
// (compaction also on a 5 ms timer, as in production), or an engine of the
// user's own through the engine ABI, its host an uncontrolled scheduler (its
// points fire the USDT probes ordo:site and ordo:point in ordo's binary).
class LoadTarget {
 public:
  static Result<std::unique_ptr<LoadTarget>> Open(const LoadgenOptions& c) {
    std::unique_ptr<LoadTarget> t(new LoadTarget);
    if (plugin::IsEngineSpec(c.engine)) {
      plugin::EngineSpec spec = plugin::ParseEngineSpec(c.engine);
      ORDO_RETURN_IF_ERROR(plugin::EngineLibrary::Probe(spec.path));
      auto lib = plugin::EngineLibrary::Load(spec.path);
      if (!lib.ok()) return lib.status();
      // The engine's own directory, without the target's claim files.
      const std::string dir = c.target + "/engine";
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) return Status::IoError(dir + ": " + ec.message());
      auto e = plugin::HostedEngine::Open(std::move(lib).value(), dir, spec.config,
                                          &t->free_running_, nullptr, c.seed);
      if (!e.ok()) return e.status();
      t->hosted_ = std::move(e).value();
      return t;
    }
    engine::EngineOptions o;
    engine::ParseEngineMode(c.engine, &o.mode);
    o.cache_blocks = 512;
    o.segment_blocks = 64;
    o.compaction_interval_ms = 5;
    auto e = engine::Engine::Open(c.target, o);
    if (!e.ok()) return e.status();
    t->builtin_ = std::move(e).value();
    return t;
  }
  Status Read(const char* file, uint64_t offset, uint64_t length, std::string* out) {
    if (builtin_) return builtin_->Read(file, offset, length, out);
    out->assign(length, '\0');  // the ABI hands the engine a zeroed buffer
    ordo_request r = Request(ORDO_OP_READ, file, offset, length);
    r.out = out->data();
    return hosted_->Apply(r);
  }
  Status Write(const char* file, uint64_t offset, std::string_view data) {
    if (builtin_) return builtin_->Write(file, offset, data);
    ordo_request r = Request(ORDO_OP_WRITE, file, offset, data.size());
    r.data = data.data();
    return hosted_->Apply(r);
  }
  Status Fsync(const char* file) {
    if (builtin_) return builtin_->Fsync(file);
    return hosted_->Apply(Request(ORDO_OP_FSYNC, file, 0, 0));
  }
  // What the built-in engine did in the background ("" for other engines).
  std::string Background() const {
    if (!builtin_) return "";
    engine::EngineStats st = builtin_->stats();
    return fmt::format(", {} prefetched, {} blocks relocated", st.prefetch_filled,
                       st.blocks_relocated);
  }
  Status Close() { return builtin_ ? builtin_->Close() : hosted_->Close(); }
  // Whether `s`, just returned on this thread, is a read-verify failure
  // (FPRE004) rather than other corruption the engine reported.
  bool IsReadVerifyFailure(const Status& s) const {
    if (s.code() != StatusCode::kVerifyFailed) return false;
    return builtin_ || hosted_->failure().kind == ORDO_FAILURE_VERIFY;
  }

 private:
  LoadTarget() : free_running_(sched::SchedulerOptions{}) {}
  static ordo_request Request(ordo_op op, const char* file, uint64_t offset, uint64_t length) {
    ordo_request r{};
    r.size = sizeof(ordo_request);
    r.op = op;
    r.file = file;
    r.offset = offset;
    r.length = length;
    return r;
  }
  sched::Scheduler free_running_;
  std::unique_ptr<engine::Engine> builtin_;
  std::unique_ptr<plugin::HostedEngine> hosted_;
};

int RunLoadgen(const LoadgenOptions& c) {
  auto d = ParseDuration(c.duration);
  if (!d.ok()) return Fail(d.status());
  // The same claim as a replay target: locked while loadgen runs, never a
  // symlink, never a directory ordo did not make (unless --force).
  if (Status s = CheckTargetForce(c.target, c.force); !s.ok()) return Fail(s);
  auto claim = replay::ClaimTarget(c.target, c.force);
  if (!claim.ok()) return Fail(claim.status());
  if (Status s = replay::CheckFreeSpace(c.target, kLoadgenBytes); !s.ok()) return Fail(s);
  auto e = LoadTarget::Open(c);
  if (!e.ok()) return Fail(e.status());
  LoadTarget& eng = **e;
  const uint64_t bs = kBlockSize, blocks = kLoadgenBlocks;
  std::string fill(blocks * bs, 'd');
  for (uint64_t i = 0; i < fill.size(); ++i) fill[i] = static_cast<char>(i * 131 + (i >> 12));
  if (Status s = eng.Write("data", 0, fill); !s.ok()) return Fail(s);
  if (Status s = eng.Write("hot", 0, fill.substr(0, kLoadgenHotBlocks * bs)); !s.ok())
    return Fail(s);
  if (Status s = eng.Fsync("data"); !s.ok()) return Fail(s);

  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0}, writes{0}, failures{0}, errors{0};
  std::string first_failure;
  std::mutex mu;
  auto note = [&](const Status& s) {
    if (eng.IsReadVerifyFailure(s)) {
      if (failures++ == 0) {
        std::lock_guard<std::mutex> lock(mu);
        first_failure = s.message();
      }
    } else if (!s.ok()) {
      ++errors;
    }
  };
  std::vector<std::thread> threads;
  const double per_thread = c.rate / (c.readers + 2);
  for (int r = 0; r < c.readers; ++r) {
    threads.emplace_back([&, r] {  // burst reads: start mid-block, run across blocks
      std::mt19937_64 rng(c.seed * 100 + r);
      std::string out;
      Pacer pace(per_thread);
      while (!done) {
        uint64_t off = (rng() % (blocks - 40)) * bs + 1 + rng() % (bs - 1);
        uint64_t len = 5000 + rng() % 7000;
        for (int i = 0; i < 12 && !done; ++i, off += len) {
          pace.Wait();
          note(eng.Read("data", off, len, &out));
          ++reads;
        }
      }
    });
  }
  threads.emplace_back([&] {  // targeted reads of the hot file
    std::mt19937_64 rng(c.seed * 100 + 50);
    std::string out;
    Pacer pace(per_thread);
    while (!done) {
      pace.Wait();
      note(eng.Read("hot", (rng() % 63) * bs + rng() % bs, 3000, &out));
      ++reads;
      if (per_thread == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  threads.emplace_back([&] {  // writes with an fsync every 32
    std::mt19937_64 rng(c.seed * 100 + 60);
    std::string buf(8192, 'w');
    Pacer pace(per_thread);
    for (uint64_t i = 0; !done; ++i) {
      pace.Wait();
      for (auto& ch : buf) ch = static_cast<char>(rng());
      bool hot = rng() % 8 == 0;
      note(eng.Write(hot ? "hot" : "data", (rng() % (hot ? 62 : blocks - 4)) * bs + rng() % bs,
                     buf));
      ++writes;
      if (i % 32 == 31) note(eng.Fsync("data"));
    }
  });
  std::this_thread::sleep_for(std::chrono::nanoseconds(d.value()));
  done = true;
  for (auto& t : threads) t.join();
  const std::string background = eng.Background();
  Status closed = eng.Close();
  fmt::print("loadgen ({} engine, {}): {} reads, {} writes{}, {} FPRE004, {} other errors\n",
             c.engine, c.duration, reads.load(), writes.load(), background, failures.load(),
             errors.load());
  if (!first_failure.empty()) fmt::print("first: {}\n", first_failure);
  if (!closed.ok()) return Fail(closed);
  return failures > 0 ? kExitFound : kExitOk;
}

}  // namespace

void setup_loadgen(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<LoadgenOptions>();
  CLI::App* cmd =
      app.add_subcommand("loadgen", "Run a production-like workload on the cache engine");
  cmd->add_option("--target", o->target, "engine directory")->required();
  cmd->add_option("--engine", o->engine,
                  "the built-in engine's orderings, or an engine of your own (ordo/engine_abi.h)")
      ->check(EngineOption())
      ->capture_default_str();
  cmd->add_option("--duration", o->duration, "how long")->capture_default_str();
  cmd->add_option("--seed", o->seed, "workload seed")->capture_default_str();
  cmd->add_option("--readers", o->readers, "burst reader threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--rate", o->rate, "API requests per second in all (0: as fast as it can)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--force", o->force, "use a non-empty target ordo did not create");
  cmd->callback([o, exit_code] { *exit_code = RunLoadgen(*o); });
}

}  // namespace ordo::cli
