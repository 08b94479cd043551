#include "shard_spec.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace ordo::cli {

namespace {

constexpr const char* kAutoHelp =
    "--shard auto needs SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT "
    "(inside a Slurm job array: sbatch --array=1-N) or JOB_COMPLETION_INDEX and ORDO_SHARD_COUNT "
    "(a Kubernetes Indexed Job with ORDO_SHARD_COUNT set to its completions)";

// A whole non-negative decimal number that fits an int, or nothing.
std::optional<int> ParseCount(const char* s) {
  if (!s || !*s) return std::nullopt;
  for (const char* p = s; *p; ++p) {
    if (*p < '0' || *p > '9') return std::nullopt;
  }
  errno = 0;
  long v = std::strtol(s, nullptr, 10);
  if (errno != 0 || v > 100000000) return std::nullopt;
  return static_cast<int>(v);
}

// The value of variable `name` as a number, or an error naming it.
Result<int> Var(const GetEnv& getenv, const char* name, std::optional<int> fallback = {}) {
  const char* s = getenv(name);
  if (!s) {
    if (fallback) return *fallback;
    return Status::InvalidArgument(fmt::format("{} is not set: {}", name, kAutoHelp));
  }
  auto v = ParseCount(s);
  if (!v) {
    return Status::InvalidArgument(
        fmt::format("{}='{}' is not a whole number: {}", name, s, kAutoHelp));
  }
  return *v;
}

Result<ShardSpec> FromSlurm(const GetEnv& getenv) {
  auto id = Var(getenv, "SLURM_ARRAY_TASK_ID");
  if (!id.ok()) return id.status();
  auto min = Var(getenv, "SLURM_ARRAY_TASK_MIN");
  if (!min.ok()) return min.status();
  auto count = Var(getenv, "SLURM_ARRAY_TASK_COUNT");
  if (!count.ok()) return count.status();
  auto step = Var(getenv, "SLURM_ARRAY_TASK_STEP", 1);
  if (!step.ok()) return step.status();
  const int s = *step < 1 ? 1 : *step;
  // In 64 bits: each value is at most 1e8, their products are not.
  const int64_t last = *min + int64_t{*count - 1} * s;
  auto max = Var(getenv, "SLURM_ARRAY_TASK_MAX", last <= 100000000 ? static_cast<int>(last) : -1);
  if (!max.ok()) return max.status();
  const bool range = *count >= 1 && *id >= *min && (*id - *min) % s == 0 &&
                     (*id - *min) / s < *count && *max == last;
  if (!range) {
    return Status::InvalidArgument(fmt::format(
        "--shard auto: the Slurm array is not a range of {} tasks (SLURM_ARRAY_TASK_ID={} MIN={} "
        "MAX={} STEP={} COUNT={}); submit it as --array=A-B or --array=A-B:S, or give --shard K/N",
        *count, *id, *min, *max, *step, *count));
  }
  return ShardSpec{(*id - *min) / s, *count};
}

Result<ShardSpec> FromKubernetes(const GetEnv& getenv) {
  auto index = Var(getenv, "JOB_COMPLETION_INDEX");
  if (!index.ok()) return index.status();
  auto count = Var(getenv, "ORDO_SHARD_COUNT");
  if (!count.ok()) return count.status();
  if (*count < 1 || *index >= *count) {
    return Status::InvalidArgument(
        fmt::format("--shard auto: JOB_COMPLETION_INDEX={} is not below ORDO_SHARD_COUNT={}; set "
                    "ORDO_SHARD_COUNT to the Job's spec.completions",
                    *index, *count));
  }
  return ShardSpec{*index, *count};
}

}  // namespace

Result<ShardSpec> ParseShard(const std::string& spec, const GetEnv& getenv) {
  if (spec == "auto") {
    if (getenv("SLURM_ARRAY_TASK_ID")) return FromSlurm(getenv);
    if (getenv("JOB_COMPLETION_INDEX")) return FromKubernetes(getenv);
    return Status::InvalidArgument(std::string(kAutoHelp) + ", and none of them is set");
  }
  int k = 0, n = 0;
  char tail = 0;
  if (std::sscanf(spec.c_str(), "%d/%d%c", &k, &n, &tail) != 2 || n < 1 || k < 1 || k > n) {
    return Status::InvalidArgument(
        "--shard must be K/N with 1 <= K <= N (e.g. 3/16) or auto, not '" + spec + "'");
  }
  return ShardSpec{k - 1, n};
}

}  // namespace ordo::cli
