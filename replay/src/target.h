// The replay target directory: the only place replay writes. Files get safe
// local names (never a path from the trace); nothing below the target is
// reached through a symlink; the target is locked while a replay uses it; a
// non-empty directory ordo did not create is refused (and with force, ordo
// still never replaces an entry it did not make); declared sizes are checked
// against the free space before anything is laid out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ordo/replay/target_claim.h"
#include "ordo/status.h"
#include "plan.h"

namespace ordo::replay {

// Refuses (InvalidArgument) a plan whose files do not fit: any file above
// `max_file_bytes` (0: half the target's file system), or all of them
// `copies` times over above the free space of the target.
Status CheckTargetSpace(const std::string& dir, const std::vector<PlannedFile>& files,
                        uint64_t copies, uint64_t max_file_bytes);

// Claims the target, checks the space the plan needs and, for the file
// backend, lays out its files. The claim must outlive the replay.
Result<TargetClaim> PrepareTarget(const ReplayOptions& options, const ReplayPlan& plan);

// Opens `rel` (a path relative to `root`) without following a symlink at any
// component and without leaving `root` (openat2 RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS, or O_NOFOLLOW per component where the kernel lacks
// it). Returns the fd, or -1 with errno set (ELOOP for a symlink).
int OpenBeneath(const std::string& root, const std::string& rel, int flags, unsigned mode = 0);

// Deterministic initial content: byte at `offset` of file `index`.
void FillContent(uint32_t index, uint64_t offset, char* out, size_t length);
// Deterministic data for a write: what thread `thread`'s op `op` writes.
void FillWriteData(uint32_t thread, uint64_t op, uint64_t offset, char* out, size_t length);

// Creates target/files/<local name> for every planned file at its size with
// its initial content.
Status CreatePlainFiles(const std::string& dir, const std::vector<PlannedFile>& files);

}  // namespace ordo::replay
