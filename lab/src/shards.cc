#include "ordo/lab/shards.h"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

namespace ordo::lab {

namespace {

// An integer field within [lo, hi]; false when absent, not an integer, or out of range.
bool IntField(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) return false;
    *out = static_cast<int64_t>(u);
  } else {
    *out = it->get<int64_t>();
  }
  return *out >= lo && *out <= hi;
}

}  // namespace

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
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  for (const char* k : {"trace", "engine", "strategy", "depth", "seed", "runs", "runs_planned",
                        "shard", "failing_runs"}) {
    if (!j.contains(k)) return bad(std::string("no field \"") + k + "\"");
  }
  ExplorationResult r;
  r.path = path;
  int64_t depth = 0, runs = 0, planned = 0;
  if (!IntField(j, "runs_planned", 1, kMaxRunsPlanned, &planned))
    return bad(fmt::format("\"runs_planned\" is not a count from 1 to {}", kMaxRunsPlanned));
  if (!IntField(j, "depth", 1, 100, &depth)) return bad("\"depth\" is not from 1 to 100");
  if (!j["seed"].is_number_unsigned()) return bad("\"seed\" is not an unsigned integer");
  try {
    r.trace = j["trace"].get<std::string>();
    r.engine = j["engine"].get<std::string>();
    r.strategy = j["strategy"].get<std::string>();
    r.depth = static_cast<int>(depth);
    r.seed = j["seed"].get<uint64_t>();
    r.runs_planned = static_cast<int>(planned);
    r.until_fail = j.value("until_fail", false);
    std::string shard = j["shard"].get<std::string>();
    int64_t k = 0, n = 0;
    char tail = 0;
    if (std::sscanf(shard.c_str(), "%ld/%ld%c", &k, &n, &tail) != 2 || n < 1 || n > kMaxShards ||
        k < 1 || k > n) {
      return bad(fmt::format("shard \"{}\" is not K/N with 1 <= K <= N <= {}", shard, kMaxShards));
    }
    r.shard_index = static_cast<int>(k - 1);
    r.shard_count = static_cast<int>(n);
    // Runs i of 0..planned-1 with i % n == k - 1.
    const int64_t share = planned > k - 1 ? (planned - k) / n + 1 : 0;
    if (!IntField(j, "runs", 0, share, &runs)) {
      return bad(fmt::format("\"runs\" is not a count from 0 to {}, the runs of shard {} of {}",
                             share, shard, planned));
    }
    r.runs = static_cast<int>(runs);
    if (!j["failing_runs"].is_array()) return bad("\"failing_runs\" is not an array");
    if (static_cast<int64_t>(j["failing_runs"].size()) > runs)
      return bad(fmt::format("{} failing runs of {} runs made", j["failing_runs"].size(), runs));
    for (const auto& fr : j["failing_runs"]) {
      int64_t run = 0;
      if (!fr.is_object() || !IntField(fr, "run", 0, planned - 1, &run))
        return bad(fmt::format("a failing run's \"run\" is not from 0 to {}", planned - 1));
      if (!fr.contains("seed") || !fr["seed"].is_number_unsigned())
        return bad("a failing run's \"seed\" is not an unsigned integer");
      r.failing.push_back(FailingRun{static_cast<int>(run), fr["seed"].get<uint64_t>(),
                                     fr.value("message", ""), fr.value("reproduce", "")});
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

}  // namespace ordo::lab
