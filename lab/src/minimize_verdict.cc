// Minimization (minimizer.h): whether a candidate still fails — bounded
// replays of it, the kind of failure they show, and targeted confirmation on
// the failing block.
#include <stdlib.h>

#include <algorithm>

#include "minimizer.h"

namespace ordo::lab {

bool Minimizer::OutOfBudget() const {
  return runs_ >= o_.max_runs ||
         std::chrono::duration<double>(MinimizeClock::now() - start_).count() >= o_.max_seconds;
}

Result<bool> Minimizer::Fails(const std::vector<size_t>& keep, uint64_t seed, int runs, int depth,
                              replay::RunOutcome* failing) {
  if (keep.empty()) return false;
  auto candidate = Candidate(keep);
  replay::ReplayOptions ro = Options(depth);
  if (focus_) {
    ro.strategy = sched::Strategy::kTargeted;
    ro.focus = {FocusFor(keep)};
    auto t = Try(*candidate, ro, seed, o_.targeted_runs, failing);
    if (!t.ok() || t.value() || o_.pos_runs <= 0) return t;
    ro.strategy = sched::Strategy::kPos;
    ro.focus.clear();
    return Try(*candidate, ro, seed, o_.pos_runs, failing);
  }
  ro.strategy = strategy_;
  return Try(*candidate, ro, seed, runs, failing);
}

Result<bool> Minimizer::FailsUnder(const std::vector<size_t>& keep, sched::Strategy strategy,
                                   uint64_t seed, int runs, int depth,
                                   replay::RunOutcome* failing) {
  replay::ReplayOptions ro = Options(depth);
  ro.strategy = strategy;
  if (strategy == sched::Strategy::kTargeted) ro.focus = {FocusFor(keep)};
  return Try(*Candidate(keep), ro, seed, runs, failing);
}

replay::ReplayOptions Minimizer::Options(int depth) const {
  replay::ReplayOptions ro;
  ro.target = work_ + "/target";
  ro.engine_mode = o_.mode;
  ro.engine_path = o_.engine_path;
  ro.engine_config = o_.engine_config;
  ro.depth = depth;
  ro.until_fail = true;
  return ro;
}

Result<bool> Minimizer::Try(const replay::TraceSource& candidate, replay::ReplayOptions ro,
                            uint64_t seed, int runs, replay::RunOutcome* failing) {
  for (uint64_t end = seed + static_cast<uint64_t>(runs); seed < end;) {
    ro.seed = seed;
    ro.runs = static_cast<int>(end - seed);
    auto r = replay::Replay(candidate, ro);
    if (!r.ok()) return r.status();
    runs_ += static_cast<uint64_t>(r->runs);
    if (!r->first_failure) return false;
    std::string kind = FailureKind(*r->first_failure);
    if (kind_.empty()) kind_ = kind;
    if (kind == kind_) {
      if (failing) *failing = *r->first_failure;
      return true;
    }
    seed = r->first_failure->seed + 1;  // another kind of failure: go on
  }
  return false;
}

bool Minimizer::SetFocus(const replay::RunOutcome& failing, const std::vector<size_t>& all) {
  size_t file_index = 0;
  if (!FailingFile(failing, all, &file_index)) return false;
  std::vector<uint32_t> files = FilesOf(all);
  const uint32_t file_id = engine::BlockFile(failing.failure_object);
  if (file_id < file_index) return false;
  offsets_ = {static_cast<uint32_t>(file_id - file_index)};
  engine::Focus f;
  f.rule = FailureKind(failing) == "FPRE004-B" ? engine::Fpre004Rule::kVerifyOrder
                                               : engine::Fpre004Rule::kStaleClean;
  f.block = engine::BlockIndex(failing.failure_object);
  f.thread = -1;  // thread indices shift as threads are removed
  focus_ = f;
  focus_file_ = files[file_index];
  return true;
}

bool Minimizer::FailingFile(const replay::RunOutcome& failing, const std::vector<size_t>& all,
                            size_t* index) const {
  if (failing.failure_kind != ORDO_FAILURE_VERIFY || failing.failure_file.size() < 2 ||
      failing.failure_file[0] != 'f') {
    return false;
  }
  char* end = nullptr;
  *index = std::strtoul(failing.failure_file.c_str() + 1, &end, 10);
  return *end == 0 && *index < FilesOf(all).size();
}

engine::Focus Minimizer::FocusFor(const std::vector<size_t>& keep) const {
  engine::Focus f = *focus_;
  std::vector<uint32_t> files = FilesOf(keep);
  size_t idx = std::find(files.begin(), files.end(), focus_file_) - files.begin();
  f.block = engine::BlockKey(static_cast<uint32_t>(idx) + file_id_offset_, focus_->block);
  return f;
}

std::string Minimizer::FailureKind(const replay::RunOutcome& r) {
  if (r.crashed) return "crash";
  if (r.failure_kind != ORDO_FAILURE_VERIFY) return "corruption";
  return r.fail_arg == sched::kFailFlags ? "FPRE004-B" : "FPRE004-A";
}

}  // namespace ordo::lab
