#include "ordo/replay/summary_json.h"

#include <fmt/core.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "ordo/util/json_text.h"

namespace ordo::replay {

namespace {

using Json = nlohmann::ordered_json;

Json Holds(const sched::HoldStats& h) {
  return {{"started", h.started}, {"matched", h.matched}, {"expired", h.expired}};
}

Json Percentiles(const LatencyHistogram& h) {
  return {{"count", h.count()},
          {"p50_us", h.Percentile(0.50) / 1e3},
          {"p99_us", h.Percentile(0.99) / 1e3},
          {"p999_us", h.Percentile(0.999) / 1e3}};
}

Json Findings(const std::vector<SignatureStatus>& signatures) {
  Json out = Json::array();
  for (const auto& sig : signatures) {
    Json attempts = Json::array();
    for (const auto& t : sig.attempts) {
      Json focus = Json::array();
      for (const auto& f : t.focus) focus.push_back(engine::FocusString(f));
      attempts.push_back({{"run", t.run},
                          {"focus", focus},
                          {"outcome", t.failed ? "FPRE004" : "pass"},
                          {"holds", Holds(t.holds)}});
    }
    out.push_back({{"rule", sig.rule},
                   {"signature", sig.signature},
                   {"status", sig.confirmed ? "confirmed" : "predicted"},
                   {"predicted_in_run", sig.predicted_in_run},
                   {"targeted_runs", sig.targeted_runs},
                   {"attempts", attempts},
                   {"confirmed_by_run", sig.confirmed_by_run},
                   {"reproduce", sig.confirmed ? Json(sig.reproduce) : Json(nullptr)}});
  }
  return out;
}

Json FirstFailure(const ReplayReport& report) {
  if (!report.summary.first_failure) return nullptr;
  const RunOutcome& f = *report.summary.first_failure;
  return {{"run", f.run},
          {"seed", f.seed},
          {"strategy", sched::StrategyName(f.strategy)},
          {"thread", f.thread},
          {"op_index", f.op_index},
          {"history_event", f.history_seq},
          {"kind", FailureKind(f)},
          {"message", f.message},
          {"reproduce", ReproduceCommand(report, f)}};
}

Json FailingRuns(const ReplayReport& report) {
  Json failing = Json::array();
  for (const auto& r : report.summary.outcomes) {
    if (!r.failed) continue;
    failing.push_back({{"run", r.run},
                       {"seed", r.seed},
                       {"strategy", sched::StrategyName(r.strategy)},
                       {"holds", Holds(r.holds)},
                       {"kind", FailureKind(r)},
                       {"message", r.message},
                       {"reproduce", ReproduceCommand(report, r)}});
  }
  return failing;
}

std::string ShardString(int index, int count) { return fmt::format("{}/{}", index + 1, count); }

// "K/N" with 1 <= K <= N: the 0-based index and the count.
bool ParseShardString(std::string_view text, int* index, int* count) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  int k = 0, n = 0;
  auto [kend, kec] = std::from_chars(text.data(), text.data() + slash, k);
  auto [nend, nec] = std::from_chars(text.data() + slash + 1, text.data() + text.size(), n);
  if (kec != std::errc() || kend != text.data() + slash || nec != std::errc() ||
      nend != text.data() + text.size() || k < 1 || n < k) {
    return false;
  }
  *index = k - 1;
  *count = n;
  return true;
}

}  // namespace

std::string ToJson(const ReplayReport& report) {
  const ReplayRequest& q = report.request;
  const ReplaySummary& s = report.summary;
  LatencyHistogram all;
  for (const auto& h : s.latency) all.Merge(h);
  Json j = {
      {"trace", q.trace},
      {"backend", q.backend},
      {"engine", q.engine},
      {"runs", s.runs},
      {"runs_planned", q.runs_planned},
      {"interrupted", report.interrupted},
      {"shard", ShardString(q.shard_index, q.shard_count)},
      {"until_fail", q.until_fail},
      {"failures", s.failures},
      {"first_failure", FirstFailure(report)},
      {"failing_runs", FailingRuns(report)},
      {"outcome", OutcomeOf(q, s)},
      {"fpre004_judged", JudgesFpre004(q)},
      {"seed", q.seed},
      {"strategy", q.strategy},
      {"depth", q.depth},
      {"findings", Findings(report.signatures)},
      {"timing", q.timing},
      {"threads", s.threads},
      {"files", s.files},
      {"api_level", s.api_level},
      {"ops", s.ops},
      {"errors", s.errors},
      {"first_error", s.errors ? Json(s.first_error) : Json(nullptr)},
      {"seconds", s.seconds},
      {"ops_per_s", s.seconds > 0 ? static_cast<double>(s.ops) / s.seconds : 0},
      {"p50_us", all.Percentile(0.50) / 1e3},
      {"p99_us", all.Percentile(0.99) / 1e3},
      {"p999_us", all.Percentile(0.999) / 1e3},
      {"per_op",
       {{"read", Percentiles(s.latency[0])},
        {"write", Percentiles(s.latency[1])},
        {"sync", Percentiles(s.latency[2])}}},
      {"trace_duration_ns", s.trace_duration_ns},
      {"issue_error_p99_us", s.issue_error.Percentile(0.99) / 1e3},
      {"history", s.history_written ? Json(q.history) : Json(nullptr)},
      {"exit_code", report.exit_code},
  };
  return util::JsonText(j, 2);
}

namespace {

// Reads fields of a JSON object by type; an error names a field that is
// missing (when required) or of another type.
class Fields {
 public:
  explicit Fields(const nlohmann::json& j) : j_(j) {}

  Status String(const char* key, std::string* out, bool required = true) const {
    auto it = j_.find(key);
    if (it == j_.end()) return required ? Missing(key) : Status::Ok();
    if (!it->is_string()) return Wrong(key, "a string");
    *out = it->get<std::string>();
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) const {
    auto it = j_.find(key);
    if (it == j_.end()) return Status::Ok();
    if (!it->is_boolean()) return Wrong(key, "a boolean");
    *out = it->get<bool>();
    return Status::Ok();
  }
  Status Unsigned(const char* key, uint64_t* out) const {
    auto it = j_.find(key);
    if (it == j_.end()) return Missing(key);
    if (!it->is_number_unsigned()) return Wrong(key, "an unsigned integer");
    *out = it->get<uint64_t>();
    return Status::Ok();
  }
  Status Int(const char* key, int* out) const {
    auto it = j_.find(key);
    if (it == j_.end()) return Missing(key);
    const bool fits =
        it->is_number_unsigned()
            ? it->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int>::max())
            : it->is_number_integer() && it->get<int64_t>() >= std::numeric_limits<int>::min() &&
                  it->get<int64_t>() <= std::numeric_limits<int>::max();
    if (!fits) return Wrong(key, "an integer");
    *out = static_cast<int>(it->get<int64_t>());
    return Status::Ok();
  }

 private:
  static Status Missing(const char* key) {
    return Status::InvalidArgument(fmt::format("no field \"{}\"", key));
  }
  static Status Wrong(const char* key, const char* type) {
    return Status::InvalidArgument(fmt::format("\"{}\" is not {}", key, type));
  }
  const nlohmann::json& j_;
};

Result<FailingRunEntry> ReadFailingRun(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("a failing run is not an object");
  Fields f(j);
  FailingRunEntry e;
  Status s = f.Int("run", &e.run);
  if (s.ok()) s = f.Unsigned("seed", &e.seed);
  if (s.ok()) s = f.String("message", &e.message, /*required=*/false);
  if (s.ok()) s = f.String("reproduce", &e.reproduce, /*required=*/false);
  if (!s.ok()) return s.WithContext("a failing run");
  return e;
}

}  // namespace

Result<ReplayResult> FromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("not a JSON object");
  ReplayResult r;
  ReplayRequest& q = r.request;
  Fields f(j);
  std::string shard;
  for (Status s :
       {f.String("trace", &q.trace), f.String("engine", &q.engine),
        f.String("strategy", &q.strategy), f.Int("depth", &q.depth), f.Unsigned("seed", &q.seed),
        f.Int("runs", &r.runs), f.Int("runs_planned", &q.runs_planned), f.String("shard", &shard),
        f.Bool("until_fail", &q.until_fail), f.String("backend", &q.backend, /*required=*/false),
        f.String("timing", &q.timing, /*required=*/false)}) {
    if (!s.ok()) return s;
  }
  if (!ParseShardString(shard, &q.shard_index, &q.shard_count))
    return Status::InvalidArgument(fmt::format("shard \"{}\" is not K/N with 1 <= K <= N", shard));
  auto history = j.find("history");
  if (history != j.end() && history->is_string()) q.history = history->get<std::string>();
  auto failing = j.find("failing_runs");
  if (failing == j.end()) return Status::InvalidArgument("no field \"failing_runs\"");
  if (!failing->is_array()) return Status::InvalidArgument("\"failing_runs\" is not an array");
  for (const auto& fr : *failing) {
    auto e = ReadFailingRun(fr);
    if (!e.ok()) return e.status();
    r.failing.push_back(std::move(e).value());
  }
  return r;
}

}  // namespace ordo::replay
