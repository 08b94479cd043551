// Claiming a directory ordo writes in (replay --target, loadgen --target,
// demo --workdir): locked for as long as the claim lives, marked as ordo's,
// never reached through a symlink, and checked for space before writing.
#pragma once

#include <cstdint>
#include <string>

#include "ordo/status.h"

namespace ordo::replay {

inline constexpr const char* kTargetMarker = ".ordo-target";
inline constexpr const char* kTargetLock = ".ordo-lock";

// A claimed target: holds its lock until destroyed.
class TargetClaim {
 public:
  TargetClaim() = default;
  TargetClaim(TargetClaim&& other) noexcept : lock_fd_(other.lock_fd_) { other.lock_fd_ = -1; }
  TargetClaim& operator=(TargetClaim&& other) noexcept;
  ~TargetClaim();

 private:
  friend Result<TargetClaim> ClaimTarget(const std::string& dir, bool force);
  int lock_fd_ = -1;
};

// Creates `dir` and any missing parent (as `mkdir -p`; see MakeDirs: no
// component may be a symlink or a file, the existing ones included), locks
// it (a second claim, from any process, is refused naming the holder's pid)
// and marks it as ordo's. Refuses a symlink (with or without a trailing
// slash), a non-empty directory without the marker unless `force`, and, even
// with `force`, one holding entries replay would replace.
Result<TargetClaim> ClaimTarget(const std::string& dir, bool force);

// True when ClaimTarget(dir, false) would refuse `dir` for being a non-empty
// directory ordo did not create (for callers that name their own override).
bool NeedsForce(const std::string& dir);

// Refuses (InvalidArgument) when `bytes` would not fit in the free space of
// the file system holding `dir`, naming both.
Status CheckFreeSpace(const std::string& dir, uint64_t bytes);

}  // namespace ordo::replay
