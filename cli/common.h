// What every ordo subcommand shares: exit codes, turning a Status into a
// message and an exit code, and the trace header fields of this host.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ordo/status.h"
#include "ordo/trace/header.h"

namespace ordo::cli {

// Exit codes, for every subcommand (DESIGN.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFound = 1;        // FPRE004 reproduced or found
inline constexpr int kExitBadInput = 2;     // bad usage or bad input
inline constexpr int kExitEnvironment = 3;  // the environment refused

int ExitCodeFor(const Status& status);
// Prints "ordo: <message>" to stderr and returns the exit code for it.
int Fail(const Status& status);
// The same; with `json` it also prints the error document on stdout (see
// ErrorDocument), so that `--json` prints exactly one JSON document for every
// outcome. Every subcommand with --json fails through this.
int Fail(const Status& status, bool json);

// {"message": ..., "file": ..., "offset": ...}: file and offset are null when
// the status does not carry them.
nlohmann::ordered_json ErrorJson(const Status& status);
// {"error": ErrorJson(status), "exit_code": ExitCodeFor(status)}.
nlohmann::ordered_json ErrorDocument(const Status& status);
// True when argv holds a `--json` flag (before any `--`): for errors found
// before a subcommand runs (CLI11 parse errors), which main reports.
bool WantsJson(int argc, char** argv);

// Refuses (InvalidArgument naming --force) a target that replay::ClaimTarget
// claims only when forced, unless `force` is set: the claim's refusal in the
// words of the command line, checked before the claim.
Status CheckTargetForce(const std::string& target, bool force);

// A header with tool version, host, kernel and start time of this machine.
trace::TraceHeader LocalHeader(const std::string& kind, const std::string& source);

// The command line as one shell-quoted string, for provenance.
std::string QuoteCommand(int argc, char** argv);
std::string QuoteCommand(const std::vector<std::string>& args);

}  // namespace ordo::cli
