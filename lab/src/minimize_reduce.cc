// Minimization (minimizer.h): the candidates — the trace cut to the failure,
// the operations near its block, and delta debugging (ddmin) over units.
#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "minimizer.h"

namespace ordo::lab {

Result<std::vector<std::vector<size_t>>> Minimizer::Ddmin(std::vector<std::vector<size_t>> units,
                                                          const char* what) {
  size_t n = 2;
  while (units.size() >= 2 && !OutOfBudget()) {
    size_t chunk = (units.size() + n - 1) / n;
    bool reduced = false;
    for (size_t start = 0; start < units.size() && !OutOfBudget(); start += chunk) {
      std::vector<std::vector<size_t>> rest;
      for (size_t i = 0; i < units.size(); ++i) {
        if (i < start || i >= start + chunk) rest.push_back(units[i]);
      }
      auto fails = Fails(Flatten(rest), o_.seed, o_.runs_per_test, o_.depth, nullptr);
      if (!fails.ok()) return fails.status();
      if (fails.value()) {
        units = std::move(rest);
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
        Progress(fmt::format("{}: {} left ({} replay runs so far)", what, units.size(), runs_));
        break;
      }
    }
    if (!reduced) {
      if (n >= units.size()) break;
      n = std::min(units.size(), n * 2);
    }
  }
  return units;
}

std::vector<size_t> Minimizer::LastBefore(const std::vector<size_t>& ops,
                                          const std::vector<uint64_t>& done,
                                          uint64_t window) const {
  std::map<uint64_t, size_t> thread;
  std::vector<uint64_t> seen;
  std::vector<size_t> keep;
  for (size_t i : ops) {
    auto [it, fresh] = thread.emplace(ThreadKey(l_.ops[i]), thread.size());
    if (fresh) seen.push_back(0);
    uint64_t k = seen[it->second]++;
    uint64_t end = it->second < done.size() ? done[it->second] : 0;
    if (k < end && k + window >= end) keep.push_back(i);
  }
  return keep;
}

Result<std::vector<size_t>> Minimizer::CutToFailure(const std::vector<size_t>& ops,
                                                    const replay::RunOutcome& failing) {
  uint64_t longest = 0;
  for (uint64_t n : failing.thread_ops) longest = std::max(longest, n);
  for (uint64_t window = 8;; window *= 2) {
    std::vector<size_t> keep = LastBefore(ops, failing.thread_ops, window);
    if (keep.size() >= ops.size() || OutOfBudget()) break;
    auto fails = Fails(keep, o_.seed, o_.runs_per_test, o_.depth, nullptr);
    if (!fails.ok()) return fails.status();
    Progress(
        fmt::format("cut to the failure: last {} operations per thread, {} in all: {} ({} replay "
                    "runs so far)",
                    window, keep.size(), fails.value() ? "reproduces" : "does not", runs_));
    if (fails.value()) return keep;
    if (window >= longest) break;
  }
  return ops;
}

Result<std::vector<size_t>> Minimizer::NearTheBlock(const std::vector<size_t>& ops,
                                                    const std::vector<size_t>& all,
                                                    const replay::RunOutcome& failing) {
  size_t file_index = 0;
  if (!FailingFile(failing, all, &file_index)) return ops;
  const std::vector<uint32_t> files = FilesOf(all);  // replay file index -> trace file id
  // Windows in pages of the traced I/O (not the engine's blocks, whose size
  // replay does not know), around the failing offset.
  constexpr uint64_t kPage = 4096;
  const uint64_t block = failing.failure_offset / kPage;
  if (block > (UINT64_MAX / kPage) - 128) return ops;  // an offset no trace reaches
  for (uint64_t radius : {4, 16, 64}) {
    uint64_t lo = (block > radius ? block - radius : 0) * kPage, hi = (block + radius + 1) * kPage;
    std::vector<size_t> keep;
    for (size_t i : ops) {
      const auto& io = l_.ops[i].io;
      if (io.file == files[file_index] && io.length > 0 && io.offset < hi &&
          io.offset + io.length > lo) {
        keep.push_back(i);
      }
    }
    if (keep.size() >= ops.size() || OutOfBudget()) break;
    auto fails = Fails(keep, o_.seed, o_.runs_per_test, o_.depth, nullptr);
    if (!fails.ok()) return fails.status();
    Progress(
        fmt::format("near offset {} of f{}: +-{} pages, {} operations: {} ({} replay runs so far)",
                    failing.failure_offset, file_index, radius, keep.size(),
                    fails.value() ? "reproduces" : "does not", runs_));
    if (fails.value()) return keep;
  }
  return ops;
}

}  // namespace ordo::lab
