// `ordo analyze FILE [--rules FPRE004|FPRE004-A|FPRE004-B,...] [--json]`: find
// the orderings behind FPRE004 in an engine history (replay --history, or a
// capture with --usdt).
#include <fmt/core.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "common.h"
#include "engine_option.h"
#include "ordo/analyze/analyzer.h"
#include "ordo/analyze/render.h"
#include "ordo/analyze/rules.h"
#include "ordo/lab/explore.h"
#include "ordo/units.h"
#include "ordo/util/json_text.h"

namespace ordo::cli {

namespace {

struct AnalyzeCliOptions {
  std::string file;
  std::string rules = "all";
  bool json = false;
  bool all = false;
  uint32_t max_threads = analyze::AnalyzerOptions{}.max_threads;
  std::string max_memory = "1G";
  std::string confirm;  // the trace the history is a replay of
  std::string target;
  std::string engine;  // empty: the engine the history's run used (its header's command)
};

// The engine confirmation replays: --engine, else the one the history's run
// used (its header's source is that run's command), else the legacy engine
// (a capture's history has no command).
std::string ConfirmEngine(const AnalyzeCliOptions& c, const trace::TraceHeader& header) {
  if (!c.engine.empty()) return c.engine;
  auto spec = replay::RunSpec::ParseCommand(header.source);
  return spec.ok() && spec->backend == replay::Backend::kEngine ? spec->engine : "legacy";
}

// Confirmation of the predicted findings by targeted replays of the trace.
Result<std::vector<lab::SignatureStatus>> Confirm(const AnalyzeCliOptions& c,
                                                  const analyze::RuleSet& rules,
                                                  const trace::TraceHeader& header) {
  if (c.target.empty())
    return Status::InvalidArgument("--confirm needs --target DIR (where the replays may write)");
  replay::ReplayOptions o;
  o.target = c.target;
  const std::string engine = ConfirmEngine(c, header);
  if (plugin::IsEngineSpec(engine)) {
    plugin::EngineSpec spec = plugin::ParseEngineSpec(engine);
    o.engine_path = spec.path;
    o.engine_config = spec.config;
  } else if (!engine::ParseEngineMode(engine, &o.engine_mode)) {
    return Status::InvalidArgument("the history's engine '" + engine +
                                   "' is not one ordo can replay (give --engine)");
  }
  lab::AutoOptions auto_options;
  auto_options.rules = rules;
  auto r = lab::ConfirmPredictions(c.file, c.confirm, o, auto_options);
  if (!r.ok()) return r.status();
  return r->signatures;
}

// What the analysis concluded, as both outputs say it.
struct Verdict {
  bool judged = false;  // the trace has engine events
  Status no_history;    // why it could not be judged (when not)
  const char* text = "";
  int exit_code = kExitOk;
};

Verdict Judge(const AnalyzeCliOptions& c, const analyze::AnalyzeResult& r) {
  Verdict v;
  // No engine events (a syscall-only trace): nothing can be judged, and
  // "nothing found" would be a lie. Exit 2: the input is not what analyze needs.
  v.judged = r.has_engine_history();
  v.no_history =
      Status::InvalidArgument(
          c.file + ": " + analyze::kNoEngineHistory +
          ": the trace holds no engine events, so no ordering can be judged (replay it with "
          "--history, or capture with --usdt)")
          .WithFile(c.file);
  auto any = [&r](auto&& pred) { return std::any_of(r.findings.begin(), r.findings.end(), pred); };
  const bool fpre004 = any([](const analyze::Finding& f) { return f.rule.starts_with("FPRE004"); });
  const bool race = any([](const analyze::Finding& f) { return f.rule == "RACE"; });
  // A failed verify is never called clean: with no rule's ordering behind
  // it, it is an unrecognised ordering (exit 1, its causal slice shown).
  v.text = !v.judged            ? analyze::kNoEngineHistory
           : r.findings.empty() ? "no ordering found"
           : fpre004            ? "FPRE004 ordering found"
           : race               ? "race found"
                                : "unrecognised ordering";
  v.exit_code = !v.judged ? ExitCodeFor(v.no_history) : r.findings.empty() ? kExitOk : kExitFound;
  return v;
}

void PrintJson(const AnalyzeCliOptions& c, const analyze::AnalyzeResult& r, const Verdict& v,
               const std::vector<lab::SignatureStatus>& confirmation) {
  nlohmann::ordered_json j = {{"file", c.file},
                              {"rules", c.rules},
                              {"events", r.events},
                              {"unknown_site_events", r.unknown_site_events},
                              {"seconds", r.seconds},
                              {"verdict", v.text},
                              {"findings", analyze::JsonRenderer().Value(r.findings)},
                              {"exit_code", v.exit_code}};
  if (!v.judged) j["error"] = ErrorJson(v.no_history);
  if (!c.confirm.empty()) {
    nlohmann::ordered_json conf = nlohmann::ordered_json::array();
    for (const auto& sig : confirmation) {
      conf.push_back({{"rule", sig.rule},
                      {"status", sig.confirmed ? "confirmed" : "predicted"},
                      {"targeted_runs", sig.targeted_runs},
                      {"reproduce", sig.confirmed ? nlohmann::ordered_json(sig.reproduce)
                                                  : nlohmann::ordered_json(nullptr)}});
    }
    j["confirmation"] = conf;
  }
  fmt::print("{}\n", util::JsonText(j, 2));
}

void PrintText(const AnalyzeCliOptions& c, const analyze::AnalyzeResult& r, const Verdict& v,
               const std::vector<lab::SignatureStatus>& confirmation) {
  fmt::print("{}: {} engine events analyzed in {:.3f} s\n", c.file, r.events, r.seconds);
  if (v.judged) fmt::print("{}", analyze::TextRenderer().RenderList(r.findings));
  if (!confirmation.empty()) fmt::print("\nconfirmation by targeted replays of {}:\n", c.confirm);
  for (const auto& sig : confirmation) {
    if (sig.confirmed) {
      fmt::print("  {}: confirmed: {}\n", sig.rule, sig.reproduce);
    } else {
      fmt::print("  {}: not confirmed in {} run{}\n", sig.rule, sig.targeted_runs,
                 sig.targeted_runs == 1 ? "" : "s");
    }
  }
}

int RunAnalyze(const AnalyzeCliOptions& given) {
  analyze::AnalyzerOptions o;
  auto rules = analyze::ParseRules(given.rules);
  if (!rules.ok()) return Fail(rules.status().WithContext("--rules"), given.json);
  o.rules = rules.value();
  // The selection as the rules' own ids ("all" for all), whatever the case,
  // blanks or repeats typed.
  AnalyzeCliOptions c = given;
  c.rules = o.rules.ToString();
  o.deduplicate = !c.all;
  o.max_threads = c.max_threads;
  auto mem = ParseSize(c.max_memory);
  if (!mem.ok() || mem.value() == 0)
    return Fail(Status::InvalidArgument("--max-memory must be a size such as 512M or 2G"), c.json);
  o.max_memory_bytes = mem.value();
  auto res = analyze::AnalyzeTrace(c.file, o);
  if (!res.ok()) {
    Status s = res.status();
    if (s.code() == StatusCode::kLimitExceeded) {
      s = Status::LimitExceeded(s.message() + " (raise it with --max-threads or --max-memory)")
              .WithFile(c.file);
    }
    return Fail(s, c.json);
  }
  const auto& r = res.value();
  const Verdict v = Judge(c, r);
  // Events whose site the trace never named could not be judged: say so,
  // so that "nothing found" is not read as "nothing there".
  if (r.unknown_site_events > 0) {
    fmt::print(stderr,
               "ordo: warning: {}: {} engine events are of sites with no site table entry (a "
               "capture attached after the engine registered its sites?): they were judged as no "
               "access\n",
               c.file, r.unknown_site_events);
  }
  std::vector<lab::SignatureStatus> confirmation;
  if (!c.confirm.empty() && v.judged && !r.findings.empty()) {
    auto conf = Confirm(c, o.rules, r.header);
    if (!conf.ok()) return Fail(conf.status(), c.json);
    confirmation = std::move(conf).value();
  }
  if (c.json) {
    PrintJson(c, r, v, confirmation);
  } else {
    PrintText(c, r, v, confirmation);
  }
  if (!v.judged) return Fail(v.no_history);
  return v.exit_code;
}

}  // namespace

void setup_analyze(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<AnalyzeCliOptions>();
  CLI::App* cmd =
      app.add_subcommand("analyze", "Find the orderings behind FPRE004 in an engine history");
  cmd->add_option("FILE", o->file, "history (replay --history) or capture with USDT events")
      ->required();
  cmd->add_option("--rules", o->rules,
                  "rules to run, comma-separated: all, FPRE004 (both FPRE004 rules), FPRE004-A, "
                  "FPRE004-B, RACE (unordered write/read pairs on one object); a verify failure "
                  "no rule explains is reported whatever is selected")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print one JSON document");
  cmd->add_flag("--all", o->all, "every finding, not one per signature");
  cmd->add_option("--max-threads", o->max_threads, "refuse histories with more distinct threads")
      ->capture_default_str();
  cmd->add_option(
         "--max-memory", o->max_memory,
         "refuse histories whose analysis state (vector clocks: threads x blocks) needs more")
      ->capture_default_str();
  cmd->add_option("--confirm", o->confirm,
                  "TRACE the history is a replay of: try each predicted finding with targeted "
                  "runs and say which are confirmed, with the command that repeats the failure");
  cmd->add_option("--target", o->target, "--confirm: directory the replays may write in");
  cmd->add_option("--engine", o->engine,
                  "--confirm: the engine to replay, legacy, fixed or PATH.so[:CONFIG] (default: "
                  "the one the history's run used, as its header says; legacy for a capture)")
      ->check(EngineOption());
  cmd->callback([o, exit_code] { *exit_code = RunAnalyze(*o); });
}

}  // namespace ordo::cli
