#include "ordo/lab/shards.h"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <tuple>

#include "ordo/replay/summary_json.h"

namespace ordo::lab {

Result<ExplorationResult> ReadExplorationResult(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IoError(path + ": cannot open").WithFile(path);
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(path + ": not an `ordo replay --json` result (" + why + ")")
        .WithFile(path);
  };
  std::string text(kMaxResultBytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (static_cast<uint64_t>(f.gcount()) > kMaxResultBytes)
    return bad(fmt::format("larger than {} bytes", kMaxResultBytes));
  text.resize(static_cast<size_t>(f.gcount()));
  auto doc = replay::FromJson(text);
  if (!doc.ok()) return bad(doc.status().message());
  const replay::ReplayRequest& q = doc->request;
  const int64_t planned = q.runs_planned;
  if (planned < 1 || planned > kMaxRunsPlanned)
    return bad(fmt::format("\"runs_planned\" is not a count from 1 to {}", kMaxRunsPlanned));
  if (q.depth < 1 || q.depth > 100) return bad("\"depth\" is not from 1 to 100");
  if (q.shard_count > kMaxShards) {
    return bad(fmt::format("shard \"{}/{}\" is not K/N with 1 <= K <= N <= {}", q.shard_index + 1,
                           q.shard_count, kMaxShards));
  }
  // Runs i of 0..planned-1 with i % n == k - 1.
  const int64_t share =
      planned > q.shard_index ? (planned - q.shard_index - 1) / q.shard_count + 1 : 0;
  if (doc->runs < 0 || doc->runs > share) {
    return bad(fmt::format("\"runs\" is not a count from 0 to {}, the runs of shard {}/{} of {}",
                           share, q.shard_index + 1, q.shard_count, planned));
  }
  if (static_cast<int64_t>(doc->failing.size()) > doc->runs)
    return bad(fmt::format("{} failing runs of {} runs made", doc->failing.size(), doc->runs));
  ExplorationResult r;
  r.path = path;
  r.trace = q.trace;
  r.engine = q.engine;
  r.strategy = q.strategy;
  r.depth = q.depth;
  r.seed = q.seed;
  r.runs_planned = q.runs_planned;
  r.until_fail = q.until_fail;
  r.shard_index = q.shard_index;
  r.shard_count = q.shard_count;
  r.runs = doc->runs;
  for (const auto& fr : doc->failing) {
    if (fr.run < 0 || fr.run > planned - 1)
      return bad(fmt::format("a failing run's \"run\" is not from 0 to {}", planned - 1));
    r.failing.push_back(fr);
  }
  return r;
}

Result<std::vector<MergedExploration>> MergeExplorations(
    const std::vector<ExplorationResult>& results) {
  using Key = std::tuple<std::string, std::string, std::string, int, uint64_t, int, int>;
  std::map<Key, std::vector<const ExplorationResult*>> groups;
  std::vector<Key> order;
  for (const auto& r : results) {
    Key k{r.trace, r.engine, r.strategy, r.depth, r.seed, r.runs_planned, r.shard_count};
    if (!groups.count(k)) order.push_back(k);
    groups[k].push_back(&r);
  }
  std::vector<MergedExploration> out;
  for (const Key& k : order) {
    const auto& rs = groups[k];
    MergedExploration m;
    std::tie(m.trace, m.engine, m.strategy, m.depth, m.seed, m.runs_planned, m.shard_count) = k;
    std::vector<const ExplorationResult*> by_shard(static_cast<size_t>(m.shard_count), nullptr);
    for (const auto* r : rs) {
      auto& slot = by_shard[static_cast<size_t>(r->shard_index)];
      if (slot) {
        return Status::InvalidArgument(
            fmt::format("{} and {} are both shard {}/{} of the same exploration", slot->path,
                        r->path, r->shard_index + 1, r->shard_count));
      }
      slot = r;
      m.runs += r->runs;
      m.failing.insert(m.failing.end(), r->failing.begin(), r->failing.end());
      m.sources.push_back(r->path);
    }
    for (int i = 0; i < m.shard_count; ++i) {
      if (!by_shard[static_cast<size_t>(i)]) m.shards_missing.push_back(i + 1);
    }
    std::sort(m.failing.begin(), m.failing.end(),
              [](const FailingRun& a, const FailingRun& b) { return a.run < b.run; });
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace ordo::lab
