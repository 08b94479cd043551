// `ordo report FILE... -o OUT.html|OUT.md`: a report a team can act on.
#include "ordo/lab/report.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "common.h"

namespace ordo::cli {

void setup_report(CLI::App& app, int* exit_code) {
  struct Options {
    std::vector<std::string> files;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write an HTML or Markdown report from engine histories and replay results");
  cmd->add_option("FILE", o->files,
                  "histories (.ordo: e.g. the failing legacy run and a fixed run) and `replay "
                  "--json` results (.json: shards are merged)")
      ->required();
  cmd->add_option("-o,--output", o->out, "OUT.html or OUT.md")->required();
  cmd->callback([o, exit_code] {
    std::vector<lab::IncompleteExploration> incomplete;
    Status s = lab::WriteReport(o->files, o->out, &incomplete);
    if (!s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    fmt::print(stderr, "wrote {}\n", o->out);
    // A lost shard must not read as a clean pass to the script that merges:
    // the report is written (what the other shards found is worth reading)
    // and the exit code says the input was incomplete.
    for (const auto& m : incomplete) {
      fmt::print(stderr, "ordo: {} (rerun the missing shard{} with --shard K/{})\n", m.what,
                 m.shards_missing.size() > 1 ? "s" : "", m.shard_count);
    }
    *exit_code = incomplete.empty() ? kExitOk : kExitBadInput;
  });
}

}  // namespace ordo::cli
