// The engine's own host when it runs outside ordo: pthreads, std::mutex and
// the monotonic clock; points fire the USDT probes ordo:site and ordo:point.
#include <time.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include "host.h"
#include "ordo/host_table.h"
#include "ordo/trace/record.h"
#include "ordo/util/clock.h"
#include "ordo/util/usdt.h"

namespace ordo::engine {

namespace {

struct FreeMutex {
  std::mutex mu;
  std::condition_variable cv;
};

FreeMutex* Of(ordo_mutex* m) { return reinterpret_cast<FreeMutex*>(m); }

}  // namespace

struct FreeHost::State {
  ordo_host abi{};
  std::mutex mu;  // threads, sites
  std::vector<std::thread> threads;
  std::vector<std::pair<std::string, uint32_t>> sites;  // id - 1 -> name, access
  std::atomic<uint64_t> rng{0};

  static State* Self(void* ctx) { return static_cast<State*>(ctx); }

  static int Spawn(void* ctx, const char*, void (*fn)(void*), void* arg) {
    State* s = Self(ctx);
    std::lock_guard<std::mutex> lock(s->mu);
    s->threads.emplace_back([fn, arg] { fn(arg); });
    return static_cast<int>(s->threads.size() - 1);
  }
  static void Join(void* ctx, int handle) {
    State* s = Self(ctx);
    std::thread t;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      if (handle < 0 || static_cast<size_t>(handle) >= s->threads.size()) return;
      t = std::move(s->threads[handle]);
    }
    if (t.joinable()) t.join();
  }
  static ordo_mutex* MutexNew(void*) { return reinterpret_cast<ordo_mutex*>(new FreeMutex); }
  static void MutexFree(void*, ordo_mutex* m) { delete Of(m); }
  static void Lock(void*, ordo_mutex* m) { Of(m)->mu.lock(); }
  static void Unlock(void*, ordo_mutex* m) { Of(m)->mu.unlock(); }
  static int TryLock(void*, ordo_mutex* m) { return Of(m)->mu.try_lock() ? 1 : 0; }
  static void Wait(void*, ordo_mutex* m, int (*ready)(void*), void* arg) {
    std::unique_lock<std::mutex> lock(Of(m)->mu, std::adopt_lock);
    Of(m)->cv.wait(lock, [ready, arg] { return ready(arg) != 0; });
    lock.release();  // still held: the caller unlocks
  }
  static void Notify(void*, ordo_mutex* m) { Of(m)->cv.notify_all(); }
  static uint64_t Random(void* ctx) {
    return SplitMix64(Self(ctx)->rng.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed));
  }
  static uint64_t NowNs(void*) { return util::MonotonicNs(); }
  static uint32_t Site(void* ctx, const char* name, uint32_t access) {
    State* s = Self(ctx);
    std::lock_guard<std::mutex> lock(s->mu);
    if (access > ORDO_ACCESS_FILL_CLEAN || s->sites.size() >= 0x7fff) return 0;
    s->sites.emplace_back(name ? name : "", access);
    unsigned id = static_cast<unsigned>(s->sites.size());
    if (ordo_site_semaphore) {
      const char* n = s->sites.back().first.c_str();
      STAP_PROBE3(ordo, site, id, access, n);
    }
    return id;
  }
  static void Point(void*, uint32_t site, uint64_t object, uint64_t arg) {
    if (__builtin_expect(ordo_point_semaphore != 0, 0)) {
      unsigned kind = trace::kSiteEventBase + site;
      STAP_PROBE3(ordo, point, kind, object, arg);
    }
  }
  // Free-running, a point is only observed anyway.
  static void Observe(void* ctx, uint32_t site, uint64_t object, uint64_t arg) {
    Point(ctx, site, object, arg);
  }
};

FreeHost::FreeHost() : state_(std::make_unique<State>()) {
  FillHostTable(state_.get(), &state_->abi);
}

FreeHost::~FreeHost() {
  for (auto& t : state_->threads) {
    if (t.joinable()) t.join();
  }
}

const ordo_host* FreeHost::abi() const { return &state_->abi; }

}  // namespace ordo::engine
