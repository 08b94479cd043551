// `--shard K/N` and `--shard auto`: which part of the seed space this process
// makes. `auto` reads the index and count the cluster scheduler gives each
// task, so job scripts need no arithmetic:
//
//   Slurm job array:        K = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / STEP + 1,
//                           N = SLURM_ARRAY_TASK_COUNT  (STEP = SLURM_ARRAY_TASK_STEP, or 1)
//   Kubernetes Indexed Job: K = JOB_COMPLETION_INDEX + 1,
//                           N = ORDO_SHARD_COUNT  (set it in the manifest to spec.completions:
//                           Kubernetes gives each pod its index but not the count)
//
// Slurm's variables win when both are set. The array must be a range
// (`--array=A-B` or `A-B:S`): a list such as `1,3,7` is refused, because its
// indices do not name the shards 1..N.
#pragma once

#include <functional>
#include <string>

#include "ordo/status.h"

namespace ordo::cli {

struct ShardSpec {
  int index = 0;  // 0-based
  int count = 1;
};

// Looks an environment variable up; nullptr when unset. Tests pass a map.
using GetEnv = std::function<const char*(const char*)>;

// Parses "K/N" (1 <= K <= N) or "auto" (from `getenv`, as above).
// InvalidArgument, naming the variable and its value, when a variable is
// missing, not a number, or inconsistent with the others.
Result<ShardSpec> ParseShard(const std::string& spec, const GetEnv& getenv);

}  // namespace ordo::cli
