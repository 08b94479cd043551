// Reports a team can act on: a self-contained HTML page (inline SVG timeline,
// no network) or a Markdown summary for a ticket, from one or more engine
// histories (for example the legacy run that failed and a fixed run) and from
// the results of an exploration split into shards across machines.
#pragma once

#include <string>
#include <vector>

#include "ordo/status.h"

namespace ordo::lab {

// An exploration merged from shards some of which gave no result.
struct IncompleteExploration {
  // What it lacks, in one sentence: "TRACE (legacy engine, seeds 1..30):
  // incomplete: shards 3, 4 of 4 gave no result, so 14 of the 30 runs were
  // not made; the merged result is not that of the whole seed space".
  std::string what;
  std::vector<int> shards_missing;  // 1-based
  int shard_count = 0;
};

// Writes `out` (.html or .md, by its extension) about `inputs`: engine
// histories (.ordo) and `ordo replay --json` results (.json), the latter
// merged per exploration when they are shards of one (see shards.h).
//
// An exploration some of whose shards gave no result (a failed or lost task)
// is written as incomplete, never as a pass: its line names the missing
// shards, and `incomplete`, when given, receives each such exploration so
// the caller can fail.
Status WriteReport(const std::vector<std::string>& inputs, const std::string& out,
                   std::vector<IncompleteExploration>* incomplete = nullptr);

}  // namespace ordo::lab
