#include "ordo/analyze/analyzer.h"

#include <memory>

#include "analysis.h"
#include "ordo/trace/record.h"

namespace ordo::analyze {

struct Analyzer::Impl : Analysis {
  using Analysis::Analysis;
};

Analyzer::Analyzer(const AnalyzerOptions& options) : impl_(std::make_unique<Impl>(options)) {}
Analyzer::~Analyzer() = default;
void Analyzer::Add(const trace::EngineRecord& event) { impl_->Add(event); }
void Analyzer::AddSite(const trace::SiteRecord& site) { impl_->AddSite(site); }
void Analyzer::Prefetch(uint64_t block, bool state) const {
  if (!state) {
    impl_->block_index.prefetch(block);
    return;
  }
  auto it = impl_->block_index.find(block);
  if (it == impl_->block_index.end()) return;
  const char* p = reinterpret_cast<const char*>(&impl_->states[it->second]);
  // The first four lines: the clocks and the write slots most events touch
  // (measured: 4 lines beat the whole state, whose prefetches queue up).
  for (size_t off = 0; off < 256; off += 64) __builtin_prefetch(p + off);
}
std::vector<Finding> Analyzer::Findings() const {
  impl_->Finish();  // what a rule holds open at the end counts as ended
  std::vector<Finding> out;
  for (const auto& in : impl_->shown) out.push_back(impl_->Explain(in));
  // Failures no rule explained come last, each with its causal slice; the
  // last one shown counts those beyond the first few.
  for (const auto& u : impl_->unexplained) out.push_back(impl_->Explain(u));
  if (!impl_->unexplained.empty())
    out.back().count += impl_->unexplained_count - impl_->unexplained.size();
  return out;
}
std::vector<Finding> Analyzer::Candidates() const {
  impl_->Finish();
  std::vector<Finding> out;
  for (const auto& list : impl_->closest) {
    for (const auto& in : list) out.push_back(impl_->Explain(in));
  }
  return out;
}
uint64_t Analyzer::events() const { return impl_->events; }
uint64_t Analyzer::unknown_site_events() const { return impl_->unknown_site_events; }
const Status& Analyzer::status() const { return impl_->status; }
uint64_t Analyzer::memory_bytes() const { return impl_->MemoryBytes(); }

}  // namespace ordo::analyze
