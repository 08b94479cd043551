// The ordo binary: parses the command line and runs one subcommand. Each
// subcommand lives in its own file with a setup_X function.
#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "common.h"
#include "ordo/util/atomic_output.h"
#include "ordo/util/json_text.h"

namespace ordo::cli {
void setup_trace(CLI::App& app, int* exit_code);
void setup_replay(CLI::App& app, int* exit_code);
void setup_analyze(CLI::App& app, int* exit_code);
void setup_report(CLI::App& app, int* exit_code);
void setup_minimize(CLI::App& app, int* exit_code);
void setup_loadgen(CLI::App& app, int* exit_code);
void setup_demo(CLI::App& app, int* exit_code);
void setup_capture(CLI::App& app, int* exit_code, const std::string* source);
}  // namespace ordo::cli

int main(int argc, char** argv) {
  CLI::App app{"ordo: capture, replay and analyze storage traces to reproduce FPRE004", "ordo"};
  app.set_version_flag("--version", std::string("ordo ") + ORDO_VERSION);
  app.require_subcommand(1);
  int exit_code = ordo::cli::kExitOk;
  ordo::InstallTemporaryCleanupOnSignals();
  ordo::cli::setup_trace(app, &exit_code);
  ordo::cli::setup_replay(app, &exit_code);
  ordo::cli::setup_analyze(app, &exit_code);
  ordo::cli::setup_report(app, &exit_code);
  ordo::cli::setup_minimize(app, &exit_code);
  ordo::cli::setup_loadgen(app, &exit_code);
  ordo::cli::setup_demo(app, &exit_code);
  const std::string source = ordo::cli::QuoteCommand(argc, argv);
  ordo::cli::setup_capture(app, &exit_code, &source);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    if (ordo::cli::WantsJson(argc, argv)) {
      fmt::print("{}\n", ordo::util::JsonText(
                             ordo::cli::ErrorDocument(ordo::Status::InvalidArgument(e.what())), 2));
    }
    return ordo::cli::kExitBadInput;
  } catch (const std::exception& e) {
    return ordo::cli::Fail(ordo::Status::InvalidArgument(e.what()),
                           ordo::cli::WantsJson(argc, argv));
  }
  return exit_code;
}
