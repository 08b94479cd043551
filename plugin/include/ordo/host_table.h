// For hosts of the engine ABI written in C++ (ordo's own: the scheduler's
// host in plugin/, the built-in engine's free-running host in engine/): the
// ordo_host table of a host whose services are static members of State
// (Spawn, Join, MutexNew, MutexFree, Lock, Unlock, TryLock, Wait, Notify,
// Random, NowNs, Site, Point, Observe), each taking State* as its ctx.
#pragma once

#include <cstdint>

#include "ordo/engine_abi.h"

namespace ordo {

template <typename State>
void FillHostTable(State* ctx, ordo_host* a) {
  a->size = sizeof(ordo_host);
  a->major = ORDO_ENGINE_ABI_MAJOR;
  a->minor = ORDO_ENGINE_ABI_MINOR;
  a->ctx = ctx;
  a->spawn = &State::Spawn;
  a->join = &State::Join;
  a->mutex_new = &State::MutexNew;
  a->mutex_free = &State::MutexFree;
  a->mutex_lock = &State::Lock;
  a->mutex_unlock = &State::Unlock;
  a->wait = &State::Wait;
  a->notify = &State::Notify;
  a->random = &State::Random;
  a->now_ns = &State::NowNs;
  a->site = &State::Site;
  a->point = &State::Point;
  a->observe = &State::Observe;
  a->mutex_trylock = &State::TryLock;
}

// SplitMix64's output function: the hosts' random() of a counter.
inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace ordo
