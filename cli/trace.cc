// `ordo trace info|stat|cat|import|export`: look into and convert traces.
#include <CLI/CLI.hpp>

#include "trace_commands.h"

namespace ordo::cli {

void setup_trace(CLI::App& app, int* exit_code) {
  CLI::App* trace = app.add_subcommand("trace", "Inspect and convert .ordo traces");
  trace->require_subcommand(1);
  setup_trace_info(*trace, exit_code);
  setup_trace_stat(*trace, exit_code);
  setup_trace_cat(*trace, exit_code);
  setup_trace_import(*trace, exit_code);
  setup_trace_export(*trace, exit_code);
}

}  // namespace ordo::cli
