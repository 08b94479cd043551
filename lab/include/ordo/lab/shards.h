// Exploration split across machines: each `ordo replay --shard K/N --json`
// writes one result; merged, the N results say what one unsharded replay
// of the same seeds would have said (which runs failed, the first of them,
// how many runs it took).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordo/replay/summary_json.h"
#include "ordo/status.h"

namespace ordo::lab {

// A failing run as a result lists it: run index, seed, message and the
// command that repeats it alone.
using FailingRun = replay::FailingRunEntry;

// One `ordo replay --json` document.
struct ExplorationResult {
  std::string path;  // where it was read from
  std::string trace, engine, strategy;
  int depth = 0;
  uint64_t seed = 0;     // seed of run 0
  int runs_planned = 0;  // --runs: the seed space is seed .. seed + runs_planned - 1
  int shard_index = 0;   // 0-based
  int shard_count = 1;
  int runs = 0;  // runs this shard made
  bool until_fail = false;
  std::vector<FailingRun> failing;
};

// What the shards of one exploration say together.
struct MergedExploration {
  std::string trace, engine, strategy;
  int depth = 0;
  uint64_t seed = 0;
  int runs_planned = 0;
  int shard_count = 1;
  std::vector<int> shards_missing;  // 1-based
  int runs = 0;                     // made by the shards present
  std::vector<FailingRun> failing;  // by run index
  std::vector<std::string> sources;
  // Runs an unsharded replay would have made up to and including the first
  // failure (first failing run index + 1); 0 when nothing failed.
  int runs_to_reproduce() const { return failing.empty() ? 0 : failing.front().run + 1; }
};

// Limits on what a replay --json document may declare. Counts are input, not
// trusted: they size the merge, so a hostile document must not size memory.
inline constexpr int64_t kMaxRunsPlanned = 100000000;  // replay --runs accepts no more
inline constexpr int64_t kMaxShards = 65536;
inline constexpr uint64_t kMaxResultBytes = 64ull << 20;

// Reads a replay --json document; InvalidArgument naming the file if it is
// not one, or if its counts are impossible: runs planned outside
// 1..kMaxRunsPlanned, a shard count outside 1..kMaxShards, runs made that are
// negative or more than the shard's share of the runs planned, failing runs
// outside the runs planned or more of them than runs made, a depth outside
// 1..100, or a document larger than kMaxResultBytes.
Result<ExplorationResult> ReadExplorationResult(const std::string& path);

// Groups results by exploration (trace, engine, strategy, depth, seed, runs,
// shard count) and merges each group. A shard given twice is an error.
Result<std::vector<MergedExploration>> MergeExplorations(
    const std::vector<ExplorationResult>& results);

}  // namespace ordo::lab
