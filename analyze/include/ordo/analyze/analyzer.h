// Happens-before analysis of an engine history and the FPRE004 rules.
//
// Events stream through once. Each thread carries a vector clock; ordering
// edges are program order, a block lock's release to its next acquisition,
// and a prefetch's issue to its fill. Rules (rules.h; the options select
// which run) look for pairs of steps that no edge orders, so they flag an ordering even in a run
// that passed (predictive), and say whether it manifested as a read-verify failure. Memory grows
// with the live state (threads, blocks), not the history.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ordo/analyze/rules.h"
#include "ordo/status.h"
#include "ordo/trace/header.h"
#include "ordo/trace/record.h"

namespace ordo::analyze {

struct Finding {
  // "FPRE004-A", "FPRE004-B", "RACE" (RuleName), or kUnrecognised: a verify
  // failure no rule explains, with its causal slice (always manifested).
  std::string rule;
  std::string signature;  // rule + the code points involved (for deduplication)
  uint64_t block = 0;     // block key: (file id << 32) | block index
  uint32_t file = 0;
  uint64_t offset = 0;            // byte offset of the block in its file
  std::vector<uint32_t> threads;  // as recorded (tids)
  std::vector<uint64_t> events;   // history indices of the smallest window showing it
  bool manifested = false;        // a read-verify failure on this block followed
  std::string explanation;        // step by step, with event indices
  uint64_t count = 1;             // occurrences with this signature
  // History distance between the first steps of the two threads (the lock and
  // the fill for A, "pending" set and "ready" read for B): small means the
  // race came close, and a targeted run can most likely force it.
  uint64_t span = 0;
  // The engine's sites of the steps in order: RACE, its two steps (the one
  // taken first, then the other); kUnrecognised, the failing step's.
  std::vector<uint32_t> sites;
};

struct AnalyzerOptions {
  uint32_t block_size = 4096;
  // The rules run (ParseRules reads a list of ids); an empty set makes the
  // analysis fail with InvalidArgument.
  RuleSet rules = RuleSet::All();
  // Keep one example per signature (counts kept); false keeps every finding.
  bool deduplicate = true;
  // Also keep, per signature, up to this many occurrences on distinct blocks
  // whose racing steps were closest in the history (see Candidates).
  size_t candidates_per_signature = 0;
  // Limits, so that memory is bounded by these and not by what a history
  // declares (a vector clock per thread and two per block, each with an entry
  // per thread, grow as threads x blocks). A history with more distinct
  // threads, or whose analysis state (block states, vector clocks) would
  // exceed max_memory_bytes, stops the analysis with LimitExceeded naming
  // the limit: no partial result.
  uint32_t max_threads = 4096;
  uint64_t max_memory_bytes = uint64_t{1} << 30;
};

struct AnalyzeResult;

class Analyzer {
 public:
  explicit Analyzer(const AnalyzerOptions& options = {});
  ~Analyzer();
  // Feeds the next engine event of the history (index = position among
  // engine events, 0-based).
  void Add(const trace::EngineRecord& event);
  // Feeds a site table entry: the events after it at that site are judged
  // by its access kind (in history order: an entry never changes how earlier
  // events were judged). Events of a site with no entry are judged as no
  // access and counted (unknown_site_events).
  void AddSite(const trace::SiteRecord& site);
  // Findings so far, in order of first occurrence.
  std::vector<Finding> Findings() const;
  // The closest occurrences of each signature, closest first: where the two
  // racing steps came nearest each other, so a targeted run that holds the
  // first until the second arrives is most likely to force the ordering.
  std::vector<Finding> Candidates() const;
  uint64_t events() const;
  uint64_t unknown_site_events() const;
  // Ok; the limit (AnalyzerOptions) the history exceeded; or InvalidArgument
  // when no rule is selected. Once failed, Add ignores further events.
  const Status& status() const;
  // Bytes of analysis state held now (what max_memory_bytes bounds).
  uint64_t memory_bytes() const;

 private:
  // AnalyzeTrace's streaming hint that an event on `block` comes soon: brings
  // the block's hash slot (state = false) or its state (true) into the cache.
  // Changes no result.
  friend Result<AnalyzeResult> AnalyzeTrace(const std::string& path,
                                            const AnalyzerOptions& options);
  void Prefetch(uint64_t block, bool state) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct AnalyzeResult {
  trace::TraceHeader header;  // of the trace analyzed
  std::vector<Finding> findings;
  std::vector<Finding> candidates;  // Analyzer::Candidates(), when asked for
  uint64_t events = 0;              // engine events analyzed
  uint64_t records = 0;             // all records read
  // Events of sites the trace has no site table entry for (a capture that
  // attached after the engine registered its sites): judged as no access.
  uint64_t unknown_site_events = 0;
  double seconds = 0;
  // False when the trace holds no engine events (a syscall-only capture): no
  // ordering can be judged, so "no finding" means nothing.
  bool has_engine_history() const { return events > 0; }
};

// The verdict on a trace with no engine events, as every renderer says it.
inline constexpr const char* kNoEngineHistory = "no engine history";

// Streams the engine events of a trace (a replay history or a capture with
// USDT events) through an Analyzer.
Result<AnalyzeResult> AnalyzeTrace(const std::string& path, const AnalyzerOptions& options = {});

}  // namespace ordo::analyze
