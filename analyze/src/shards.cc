#include "ordo/analyze/shards.h"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

namespace ordo::analyze {

Result<ExplorationResult> ReadExplorationResult(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IoError(path + ": cannot open");
  std::stringstream text;
  text << f.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(path + ": not an `ordo replay --json` result (" + why + ")");
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  for (const char* k : {"trace", "engine", "strategy", "depth", "seed", "runs", "runs_planned",
                        "shard", "failing_runs"}) {
    if (!j.contains(k)) return bad(std::string("no field \"") + k + "\"");
  }
  ExplorationResult r;
  r.path = path;
  try {
    r.trace = j["trace"].get<std::string>();
    r.engine = j["engine"].get<std::string>();
    r.strategy = j["strategy"].get<std::string>();
    r.depth = j["depth"].get<int>();
    r.seed = j["seed"].get<uint64_t>();
    r.runs = j["runs"].get<int>();
    r.runs_planned = j["runs_planned"].get<int>();
    r.until_fail = j.value("until_fail", false);
    std::string shard = j["shard"].get<std::string>();
    int k = 0, n = 0;
    if (std::sscanf(shard.c_str(), "%d/%d", &k, &n) != 2 || n < 1 || k < 1 || k > n)
      return bad("shard " + shard);
    r.shard_index = k - 1;
    r.shard_count = n;
    for (const auto& f : j["failing_runs"]) {
      r.failing.push_back(FailingRun{f.at("run").get<int>(), f.at("seed").get<uint64_t>(),
                                     f.value("message", ""), f.value("reproduce", "")});
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
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

}  // namespace ordo::analyze
