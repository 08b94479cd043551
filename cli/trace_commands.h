// The `ordo trace` subcommands, one file each.
#pragma once

namespace CLI {
class App;
}

namespace ordo::cli {

void setup_trace_info(CLI::App& trace, int* exit_code);
void setup_trace_stat(CLI::App& trace, int* exit_code);
void setup_trace_cat(CLI::App& trace, int* exit_code);
void setup_trace_import(CLI::App& trace, int* exit_code);
void setup_trace_export(CLI::App& trace, int* exit_code);

}  // namespace ordo::cli
