// Findings as people read them: rule, where, which steps, and why (the
// rule's own part comes from the rule: Rule::Describe).
#include "ordo/engine/block_key.h"
#include "ordo/trace/record.h"
#include "rule.h"

namespace ordo::analyze {

std::string Analysis::Where(uint64_t block) const {
  return fmt::format("block {} of file {} (offset {})", engine::BlockIndex(block),
                     engine::BlockFile(block),
                     uint64_t{engine::BlockIndex(block)} * options.block_size);
}

std::string Analysis::SiteName(uint32_t site) const {
  auto it = site_names.find(site);
  if (it != site_names.end()) return it->second;
  if (site >= 0x10000u) {  // a built-in engine kind of an older history
    const auto& sites = trace::EngineKindSites();
    const uint32_t kind = site - 0x10000u;
    if (kind < sites.size()) return sites[kind].name;
  }
  return fmt::format("site {}", site);
}

Finding Analysis::Explain(const Unexplained& u) const {
  Finding f;
  f.rule = kUnrecognised;
  f.block = u.block;
  f.file = engine::BlockFile(u.block);
  f.offset = uint64_t{engine::BlockIndex(u.block)} * options.block_size;
  f.manifested = true;
  f.signature = fmt::format("UNRECOGNISED:{}", SiteName(u.failing.site));
  const uint32_t failing = tids[u.failing.step.thread];
  f.threads = {failing};
  f.events = {u.failing.step.seq};
  f.sites = {u.failing.site};
  auto thread_seen = [&f](uint32_t tid) {
    if (std::find(f.threads.begin(), f.threads.end(), tid) == f.threads.end())
      f.threads.push_back(tid);
  };
  std::string writes;
  for (const AccessAt& w : u.writes) {
    if (w.step.seq > u.failing.step.seq) continue;
    writes += fmt::format("{}T{} {} ({}) at #{}", writes.empty() ? "" : ", ", tids[w.step.thread],
                          SiteName(w.site), sched::AccessName(w.access), w.step.seq);
    f.events.push_back(w.step.seq);
    thread_seen(tids[w.step.thread]);
  }
  std::string pairs;
  for (const Instance& in : u.unordered) {
    pairs += fmt::format("{}T{} {} at #{} / T{} {} at #{}", pairs.empty() ? "" : "; ",
                         tids[in.first], SiteName(in.sites[0]), in.e[0], tids[in.second],
                         SiteName(in.sites[1]), in.e[1]);
    f.events.push_back(in.e[0]);
    f.events.push_back(in.e[1]);
    thread_seen(tids[in.first]);
    thread_seen(tids[in.second]);
  }
  f.explanation = fmt::format(
      "T{} failed verification of {} at #{} ({}, arg {}); the last write-like steps on it "
      "before: {}; {}; no rule recognises this ordering: unrecognised ordering",
      failing, Where(u.block), u.failing.step.seq, SiteName(u.failing.site), u.arg,
      writes.empty() ? "none announced" : writes,
      pairs.empty() ? "no write of it outside its writer's lock went unordered with another "
                      "thread's read of it"
                    : "accesses to it that no happens-before edge orders: " + pairs);
  std::sort(f.events.begin(), f.events.end());
  f.events.erase(std::unique(f.events.begin(), f.events.end()), f.events.end());
  f.count = 1;
  return f;
}

Finding Analysis::Explain(const Instance& in) const {
  Finding f;
  f.block = in.block;
  f.file = engine::BlockFile(in.block);
  f.offset = uint64_t{engine::BlockIndex(in.block)} * options.block_size;
  f.manifested = in.manifested;
  f.count = in.count;
  f.span = Span(in);
  f.threads = {tids[in.first], tids[in.second]};
  rules[static_cast<size_t>(in.rule)]->Describe(in, &f);
  std::sort(f.events.begin(), f.events.end());
  return f;
}

}  // namespace ordo::analyze
