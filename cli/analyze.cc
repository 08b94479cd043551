// `ordo analyze FILE [--rules FPRE004] [--json]`: find the orderings behind
// FPRE004 in an engine history (replay --history, or a capture with --usdt).
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common.h"
#include "ordo/analyze/analyzer.h"

namespace ordo::cli {

namespace {

struct AnalyzeCliOptions {
  std::string file;
  std::string rules = "FPRE004";
  bool json = false;
  bool all = false;
};

int RunAnalyze(const AnalyzeCliOptions& c) {
  analyze::AnalyzerOptions o;
  o.deduplicate = !c.all;
  auto res = analyze::AnalyzeTrace(c.file, o);
  if (!res.ok()) return Fail(res.status());
  const auto& r = res.value();
  if (c.json) {
    nlohmann::ordered_json findings = nlohmann::ordered_json::array();
    for (const auto& f : r.findings) {
      findings.push_back({{"rule", f.rule},
                          {"block", f.block & 0xffffffffu},
                          {"file", f.file},
                          {"offset", f.offset},
                          {"threads", f.threads},
                          {"events", f.events},
                          {"manifested", f.manifested},
                          {"count", f.count},
                          {"signature", f.signature},
                          {"explanation", f.explanation}});
    }
    nlohmann::ordered_json j = {{"file", c.file},   {"rules", c.rules}, {"events", r.events},
                                {"seconds", r.seconds}, {"findings", findings}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}: {} engine events analyzed in {:.3f} s\n", c.file, r.events, r.seconds);
    if (r.findings.empty()) fmt::print("no FPRE004 ordering found\n");
    for (const auto& f : r.findings) {
      fmt::print("\n{} on block {} of file {} (offset {}), threads {}, events {}: {}{}\n  {}\n", f.rule,
                 f.block & 0xffffffffu, f.file, f.offset, fmt::format("{}", fmt::join(f.threads, ", ")),
                 fmt::format("#{}", fmt::join(f.events, ", #")),
                 f.manifested ? "MANIFESTED (read-verify failed)" : "predicted (did not fail in this run)",
                 f.count > 1 ? fmt::format(", seen {} times", f.count) : "", f.explanation);
    }
  }
  return r.findings.empty() ? kExitOk : kExitFound;
}

}  // namespace

void setup_analyze(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<AnalyzeCliOptions>();
  CLI::App* cmd = app.add_subcommand("analyze", "Find the orderings behind FPRE004 in an engine history");
  cmd->add_option("FILE", o->file, "history (replay --history) or capture with USDT events")->required();
  cmd->add_option("--rules", o->rules, "rule set")->check(CLI::IsMember({"FPRE004"}))->capture_default_str();
  cmd->add_flag("--json", o->json, "print one JSON document");
  cmd->add_flag("--all", o->all, "every finding, not one per signature");
  cmd->callback([o, exit_code] { *exit_code = RunAnalyze(*o); });
}

}  // namespace ordo::cli
