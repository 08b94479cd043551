// Minimization's moving parts (private to lab/), one file each by what it does:
//   minimize_trace.cc    the trace held as a list; subsets of it as traces (held in
//                        memory for replay, the result written);
//   minimize_verdict.cc  whether a candidate still fails: bounded replays, the
//                        failure's kind, targeted confirmation on its block;
//   minimize_reduce.cc   the candidates: cut to the failure, near its block, ddmin;
//   minimize.cc          Minimize(): the order of it all, and the result.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ordo/engine/focus.h"
#include "ordo/lab/minimize.h"
#include "ordo/replay/replayer.h"
#include "ordo/replay/trace_source.h"
#include "ordo/sched/scheduler.h"
#include "ordo/status.h"
#include "ordo/trace/header.h"
#include "ordo/trace/record.h"

namespace ordo::lab {

using MinimizeClock = std::chrono::steady_clock;

// The trace held as a list: minimization needs random subsets of it. Traces
// worth minimizing are failing reproductions, not day-long captures.
struct LoadedTrace {
  trace::TraceHeader header;
  std::vector<trace::Record> tables;  // file and thread records, always kept
  std::vector<trace::Record> ops;     // the operations replay executes
};

// Reads `path` into a list of the operations replay executes (a capture's
// engine API requests, not the syscalls beneath them). InvalidArgument over
// 1 M operations.
Result<LoadedTrace> LoadOperations(const std::string& path);

// The (pid, tid) of an operation, as one key.
uint64_t ThreadKey(const trace::Record& r);

// The ops of `units`, in the trace's order.
std::vector<size_t> Flatten(const std::vector<std::vector<size_t>>& units);

class Minimizer {
 public:
  Minimizer(const LoadedTrace& l, const MinimizeOptions& o, std::string work)
      : l_(l), o_(o), work_(std::move(work)), start_(MinimizeClock::now()) {}

  // --- Candidates as traces (minimize_trace.cc) ---

  // Writes the tables and the ops `keep` (indices into the loaded ops) to
  // `path`, a trace of kind "minimized" whose header says `source`.
  Status Write(const std::vector<size_t>& keep, const std::string& path, const std::string& source);
  // The tables and the ops `keep`, held in memory for replay: candidates are
  // never written to files.
  std::unique_ptr<replay::TraceSource> Candidate(const std::vector<size_t>& keep) const;
  // Trace file ids in order of first appearance (replay's file numbering).
  std::vector<uint32_t> FilesOf(const std::vector<size_t>& ops) const;

  // --- Verdicts (minimize_verdict.cc) ---

  bool OutOfBudget() const;
  // Does this subset reproduce the original failure (the same kind of
  // read-verify failure, see FailureKind)? Under targeted confirmation (see
  // SetFocus): within targeted_runs targeted runs forcing the failure's
  // ordering on its block, then pos_runs POS runs, from `seed`; otherwise
  // within the seeds [seed, seed + runs) of the strategy. The failing run is
  // stored in `failing` when it does. The first call sets the kind.
  Result<bool> Fails(const std::vector<size_t>& keep, uint64_t seed, int runs, int depth,
                     replay::RunOutcome* failing);
  // Only runs of `strategy` from `seed` (one run each, as its reproduce
  // command would make it), for the final choice of seed.
  Result<bool> FailsUnder(const std::vector<size_t>& keep, sched::Strategy strategy, uint64_t seed,
                          int runs, int depth, replay::RunOutcome* failing);

  // The strategy of verdicts without confirmation (and of the search for the
  // original failure): POS when targeted confirmation was asked for.
  void SetStrategy(sched::Strategy s) { strategy_ = s; }
  sched::Strategy strategy() const { return strategy_; }
  void SetKind(engine::Fpre004Rule rule) { kind_ = engine::Fpre004RuleName(rule); }

  // From the original failure, as the engine reported it: its rule (the
  // verify_fail step's arg tells FPRE004-B's inconsistent flags from
  // FPRE004-A's stale data) and block (the object: file id in the high half,
  // block in the low half) in the request's file "fK" (K numbers the files by
  // first appearance, as replay does). False for other failures.
  bool SetFocus(const replay::RunOutcome& failing, const std::vector<size_t>& all);
  // The replay file index K of a verify failure's file "fK".
  bool FailingFile(const replay::RunOutcome& failing, const std::vector<size_t>& all,
                   size_t* index) const;
  void ClearFocus() { focus_.reset(); }
  // Engine file ids follow replay's file numbering, offset by the ids the
  // engine's store reserves: tried as 1, then 0, on the whole trace.
  void SetFileIdOffset(uint32_t offset) { file_id_offset_ = offset; }
  // The offsets to try: the built-in engine's store reserves id 0 (or not);
  // an engine that reported its failure's object says which it uses.
  const std::vector<uint32_t>& FileIdOffsets() const { return offsets_; }
  bool confirming() const { return focus_.has_value(); }
  // The focus for a candidate: the failing block, its file numbered among the
  // candidate's files.
  engine::Focus FocusFor(const std::vector<size_t>& keep) const;

  // What kind of failure a run had, from the engine's structured report:
  // "FPRE004-A" (data against its checksum), "FPRE004-B" (inconsistent state
  // flags), "corruption" (another the engine detected), "crash".
  static std::string FailureKind(const replay::RunOutcome& r);

  // --- Candidates (minimize_reduce.cc) ---

  // ddmin over `units` (each a set of op indices); returns the kept units.
  Result<std::vector<std::vector<size_t>>> Ddmin(std::vector<std::vector<size_t>> units,
                                                 const char* what);
  // Cuts a long trace down to the failure before ddmin: what no thread had
  // reached when the failing run was decided played no part in it, and the
  // race lives among the last few operations of each thread. Tries windows of
  // 8, 16, 32, ... operations per thread; returns `ops` if none reproduces.
  Result<std::vector<size_t>> CutToFailure(const std::vector<size_t>& ops,
                                           const replay::RunOutcome& failing);
  // Keeps only the operations on the failing block's neighbourhood (the block
  // named in the failure, +-radius blocks of its file: the write, the burst
  // reads and the prefetch around it), radius 4, 16, 64; `ops` if none
  // reproduces or the failure names no block. `all` numbers the files as
  // replay does (by first appearance).
  Result<std::vector<size_t>> NearTheBlock(const std::vector<size_t>& ops,
                                           const std::vector<size_t>& all,
                                           const replay::RunOutcome& failing);

  void Progress(const std::string& s) const {
    if (o_.on_progress) o_.on_progress(s);
  }
  uint64_t runs() const { return runs_; }

 private:
  replay::ReplayOptions Options(int depth) const;
  Result<bool> Try(const replay::TraceSource& candidate, replay::ReplayOptions ro, uint64_t seed,
                   int runs, replay::RunOutcome* failing);
  // Each thread's last `window` operations before the point where a failing
  // run was decided (`done`: operations per replay thread, threads numbered
  // by first appearance as replay numbers them).
  std::vector<size_t> LastBefore(const std::vector<size_t>& ops, const std::vector<uint64_t>& done,
                                 uint64_t window) const;

  const LoadedTrace& l_;
  const MinimizeOptions& o_;
  std::string work_;
  MinimizeClock::time_point start_;
  uint64_t runs_ = 0;
  std::string kind_;  // of the original failure
  sched::Strategy strategy_ = sched::Strategy::kPct;
  std::optional<engine::Focus> focus_;  // block: the index within its file
  uint32_t focus_file_ = 0;             // trace file id of the failing block
  uint32_t file_id_offset_ = 1;
  std::vector<uint32_t> offsets_ = {1, 0};
};

}  // namespace ordo::lab
