// `ordo report FILE... -o OUT.html|OUT.md`: a report a team can act on.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "common.h"
#include "ordo/analyze/report.h"

namespace ordo::cli {

void setup_report(CLI::App& app, int* exit_code) {
  struct Options {
    std::vector<std::string> files;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("report", "Write an HTML or Markdown report from engine histories and replay results");
  cmd->add_option("FILE", o->files, "histories (.ordo: e.g. the failing legacy run and a fixed run) and `replay --json` results (.json: shards are merged)")->required();
  cmd->add_option("-o,--output", o->out, "OUT.html or OUT.md")->required();
  cmd->callback([o, exit_code] {
    Status s = analyze::WriteReport(o->files, o->out);
    *exit_code = s.ok() ? kExitOk : Fail(s);
    if (s.ok()) fmt::print(stderr, "wrote {}\n", o->out);
  });
}

}  // namespace ordo::cli
