// `--explore auto`, the default exploration: predict, then confirm.
//
// A run under partial order sampling (POS) streams its engine history
// through the analyzer in-process. Every FPRE004 signature it predicts but
// did not see manifest gets targeted runs: the same seed, with scheduler holds
// that force the predicted ordering on the block where its two racing steps
// came closest (then the next closest, up to a budget). A failing run confirms
// the signature that manifested in it. When nothing is predicted (the fixed
// engine), auto is plain POS run after run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ordo/analyze/rules.h"
#include "ordo/replay/replayer.h"
#include "ordo/replay/report.h"
#include "ordo/status.h"

namespace ordo::lab {

struct AutoOptions {
  // Targeted runs tried per predicted rule before it is left "predicted, not
  // confirmed", and the closest predicted occurrences each forces at once.
  int targeted_runs_per_rule = 2;
  size_t foci_per_run = 3;
  // End the campaign once every predicted signature is confirmed or its
  // targeted runs are spent (and at least one POS run was made). False: make
  // every run of ReplayOptions::runs.
  bool stop_when_settled = true;
  // The rules whose predictions ConfirmPredictions tries (`ordo analyze
  // --rules`); every rule by default.
  analyze::RuleSet rules = analyze::RuleSet::All();
};

// What became of each predicted signature, and its targeted runs: part of
// the replay's report (ordo/replay/report.h).
using replay::SignatureStatus;
using replay::TargetedRun;

struct AutoSummary {
  replay::ReplaySummary replay;
  std::vector<SignatureStatus> signatures;  // in order of first prediction
};

// Replays `trace_path` with auto exploration. `options.strategy`, `focus`,
// `next_run` and `observe` are ignored (auto sets them). Sharded, each shard
// makes the POS runs of its own seeds and confirms its own predictions, so
// shards together cover the seeds of one campaign but not its exact runs.
Result<AutoSummary> ReplayAuto(const std::string& trace_path, const replay::ReplayOptions& options,
                               const AutoOptions& auto_options = {});

// `ordo replay`: auto exploration (ReplayAuto) when `auto_options` are given
// and the backend is the engine; otherwise replay::Replay with the options'
// strategy, and no signatures.
Result<AutoSummary> Explore(const std::string& trace_path, const replay::ReplayOptions& options,
                            const std::optional<AutoOptions>& auto_options);

// `ordo analyze HISTORY --confirm TRACE`: tries each rule predicted in the
// replay history `history_path` of `trace_path` with targeted runs on its
// closest occurrences, from the seed of the run that recorded the history (as
// its header says). A rule that manifests in one of them is confirmed, with the
// command that repeats that run; the others stay "predicted".
Result<AutoSummary> ConfirmPredictions(const std::string& history_path,
                                       const std::string& trace_path,
                                       const replay::ReplayOptions& options,
                                       const AutoOptions& auto_options = {});

}  // namespace ordo::lab
