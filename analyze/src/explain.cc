// Findings as people read them: rule, where, which steps, and why.
#include "analysis.h"
#include "ordo/engine/block_key.h"

namespace ordo::analyze {

std::string Analyzer::Impl::Where(uint64_t block) const {
  return fmt::format("block {} of file {} (offset {})", engine::BlockIndex(block),
                     engine::BlockFile(block),
                     uint64_t{engine::BlockIndex(block)} * options.block_size);
}

Finding Analyzer::Impl::Explain(const Instance& in) const {
  Finding f;
  f.block = in.block;
  f.file = engine::BlockFile(in.block);
  f.offset = uint64_t{engine::BlockIndex(in.block)} * options.block_size;
  f.manifested = in.manifested;
  f.count = in.count;
  f.span = Span(in);
  f.threads = {tids[in.first], tids[in.second]};
  if (in.rule == 0) {
    f.rule = "FPRE004-A";
    f.events = {in.e[0]};
    if (!in.demand) f.events.push_back(in.e[1]);  // a read miss fills and marks in one step
    f.events.push_back(in.e[2]);
    if (in.closed) f.events.push_back(in.e[3]);
    const std::string wrote = fmt::format("T{} acquired {} at #{} and wrote it", tids[in.first],
                                          Where(in.block), in.e[0]);
    const std::string when =
        in.observed ? fmt::format("while T{} held it", tids[in.first])
        : in.e[2] < in.e[0]
            ? fmt::format("before T{}'s acquire but not ordered before it", tids[in.first])
        : in.closed ? fmt::format("after T{}'s release at #{} but not ordered after it",
                                  tids[in.first], in.e[3])
                    : fmt::format("not ordered with T{}'s release", tids[in.first]);
    if (in.demand) {
      f.signature = "FPRE004-A:acquire|write|fill_clean|publish(0)";
      f.explanation = fmt::format(
          "{}; T{} missed the cache and cached the object's old data at #{} (fill_clean), {}; "
          "the write's publish replaced only a buffer cached when it took the lock (publish "
          "arg 0), so the old bytes stay cached under the new checksum: FPRE004-A (by a read "
          "miss)",
          wrote, tids[in.second], in.e[2], when);
    } else {
      f.signature = "FPRE004-A:acquire|write|fill|mark_clean|release";
      f.explanation = fmt::format(
          "{}; T{} filled a buffer from it at #{} and marked the buffer clean at #{}, {}; no "
          "release/acquire of the object (nor a request of the fill) orders the fill and the "
          "mark with the write, so the buffer can hold the data from before the write under the "
          "checksum from after it: FPRE004-A",
          wrote, tids[in.second], in.e[1], in.e[2], when);
    }
  } else {
    f.rule = "FPRE004-B";
    f.signature = "FPRE004-B:acquire|flag_set..flag_set|release><flag_read>flag_read";
    f.events = {in.e[0], in.e[1], in.e[2]};
    if (in.e[3] != in.e[0]) f.events.push_back(in.e[3]);
    f.explanation = fmt::format(
        "T{} updated the flags of {} under its lock from #{}{}; T{} read the object's flags at "
        "#{} and again at #{} in one check, without re-reading its first flag last (no "
        "sequence-lock validation); nothing orders the check with the update, so it can combine "
        "a flag from before the update with one from after it, a state that never existed: "
        "FPRE004-B",
        tids[in.first], Where(in.block), in.e[0],
        in.e[3] != in.e[0] ? fmt::format(" to #{}", in.e[3]) : std::string(), tids[in.second],
        in.e[1], in.e[2]);
  }
  std::sort(f.events.begin(), f.events.end());
  return f;
}

}  // namespace ordo::analyze
