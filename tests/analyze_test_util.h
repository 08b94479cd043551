// Hand-built engine histories for the analyzer's tests.
#pragma once

#include <cstdint>
#include <vector>

#include "ordo/analyze/analyzer.h"
#include "ordo/engine/block_key.h"
#include "ordo/trace/record.h"

namespace ordo::analyze::testing {

inline const uint64_t kBlock = engine::BlockKey(1, 7);  // file 1, block 7

// A history of the built-in engine's own kinds (format 1.0, no site table):
// the analyzer reads them as its sites (trace::EngineKindSites()).
struct History {
  std::vector<trace::EngineRecord> events;
  void Add(uint32_t tid, trace::EngineEventKind kind, uint64_t arg = 0, uint64_t block = kBlock) {
    trace::EngineRecord e;
    e.tid = tid;
    e.kind = static_cast<uint16_t>(kind);
    e.block = block;
    e.arg = arg;
    e.seq = events.size();
    events.push_back(e);
  }
  std::vector<Finding> Analyze(const AnalyzerOptions& options = {}) const {
    Analyzer a(options);
    for (const auto& e : events) a.Add(e);
    return a.Findings();
  }
};

}  // namespace ordo::analyze::testing
