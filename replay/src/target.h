// The replay target directory: the only place replay writes. Files get safe
// local names (never a path from the trace), are opened without following
// symlinks, and a non-empty directory ordo did not create is refused.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ordo/status.h"
#include "plan.h"

namespace ordo::replay {

inline constexpr const char* kTargetMarker = ".ordo-target";

// Creates `dir` if needed and claims it (writes the marker). Refuses a
// non-empty directory without the marker unless `force`, and a symlink.
Status ClaimTarget(const std::string& dir, bool force);

// Deterministic initial content: byte at `offset` of file `index`.
void FillContent(uint32_t index, uint64_t offset, char* out, size_t length);
// Deterministic data for a write: what thread `thread`'s op `op` writes.
void FillWriteData(uint32_t thread, uint64_t op, uint64_t offset, char* out, size_t length);

// Creates target/files/<local name> for every planned file at its size with
// its initial content.
Status CreatePlainFiles(const std::string& dir, const std::vector<PlannedFile>& files);

}  // namespace ordo::replay
