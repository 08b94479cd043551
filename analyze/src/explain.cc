// Findings as people read them: rule, where, which steps, and why (the
// rule's own part comes from the rule: Rule::Describe).
#include "ordo/engine/block_key.h"
#include "rule.h"

namespace ordo::analyze {

std::string Analysis::Where(uint64_t block) const {
  return fmt::format("block {} of file {} (offset {})", engine::BlockIndex(block),
                     engine::BlockFile(block),
                     uint64_t{engine::BlockIndex(block)} * options.block_size);
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
