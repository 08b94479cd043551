// The engine's view of its host (ordo/engine_abi.h): threads, mutexes with
// predicate waits, and ordering points. Under ordo the host is the replay's
// scheduler; on its own (loadgen, tests, production) the engine makes a
// free-running host of pthreads (FreeHost).
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "ordo/engine_abi.h"

namespace ordo::engine {

// A free-running host: std::thread, std::mutex, the monotonic clock. Its
// points record nothing; they fire the USDT probes ordo:site and ordo:point,
// so that `ordo capture --usdt` records the engine's orderings.
class FreeHost {
 public:
  FreeHost();
  ~FreeHost();
  const ordo_host* abi() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A host mutex (not recursive) and the waits on it.
class HostMutex {
 public:
  explicit HostMutex(const ordo_host* host) : host_(host), m_(host->mutex_new(host->ctx)) {}
  ~HostMutex() { host_->mutex_free(host_->ctx, m_); }
  HostMutex(const HostMutex&) = delete;
  HostMutex& operator=(const HostMutex&) = delete;

  void lock() { host_->mutex_lock(host_->ctx, m_); }
  void unlock() { host_->mutex_unlock(host_->ctx, m_); }
  bool try_lock() { return host_->mutex_trylock(host_->ctx, m_) != 0; }
  // With the mutex held: waits until ready() (which only reads state).
  template <typename F>
  void Wait(F&& ready) {
    host_->wait(host_->ctx, m_, &Ready<std::remove_reference_t<F>>, &ready);
  }
  // Wakes the waiters to re-evaluate their predicates.
  void NotifyAll() { host_->notify(host_->ctx, m_); }

 private:
  template <typename F>
  static int Ready(void* f) {
    return (*static_cast<F*>(f))() ? 1 : 0;
  }
  const ordo_host* host_;
  ordo_mutex* m_;
};

}  // namespace ordo::engine
