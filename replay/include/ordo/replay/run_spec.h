// How replay's choices are spelled on a command line, and the command line
// of one run: `ordo replay TRACE --target DIR --backend engine --engine legacy
// --explore pct --seed 7 --depth 10 --runs 1`. RunSpec is the single place
// that writes such a command (reproduce commands, history headers) and reads
// one back; the names of strategies, engines and foci are those of
// sched::StrategyName, engine::EngineModeName / plugin::EngineSpecString and
// engine::FocusString.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/engine/focus.h"
#include "ordo/sched/scheduler.h"
#include "ordo/status.h"

namespace ordo::replay {

// What a replay drives: the engine (built-in or loaded through the engine
// ABI) or plain files.
enum class Backend { kEngine, kFile };
std::string_view BackendName(Backend backend);  // "engine", "file"
bool ParseBackend(std::string_view name, Backend* backend);

// When replay issues each operation: as fast as it can, at the trace's own
// times, or at the trace's times divided by a speed.
enum class Timing { kFast, kOriginal, kScaled };
// "fast", "original" or "scale:X" (X > 0, X times faster than the trace).
// InvalidArgument naming the text otherwise; `speed` is set for scale:X.
Status ParseTiming(std::string_view text, Timing* timing, double* speed);

// One replay run as a command line states it. Fields a command line leaves
// out read back as their defaults: everything but trace, target and backend
// on the file backend (its runs are not controlled), depth but for PCT, focus
// but for targeted runs.
struct RunSpec {
  std::string trace;                                 // FILE
  std::string target;                                // --target
  Backend backend = Backend::kEngine;                // --backend
  std::string engine = "fixed";                      // --engine: legacy, fixed or PATH.so[:CONFIG]
  sched::Strategy strategy = sched::Strategy::kPct;  // --explore
  uint64_t seed = 1;                                 // --seed
  int depth = 10;                                    // --depth, 1..100
  std::vector<engine::Focus> focus;                  // --focus, one per race forced
  int runs = 1;                                      // --runs

  // This spec for one run alone (--runs 1) of `strategy` from `seed`,
  // forcing `focus`.
  RunSpec OneRun(sched::Strategy strategy, uint64_t seed, std::vector<engine::Focus> focus) const;

  // The words after "ordo replay", in a fixed order; Parse(ToArgs()) gives
  // this spec back (up to the fields the command leaves out, see above).
  std::vector<std::string> ToArgs() const;
  // "ordo replay " and ToArgs(), each word quoted as a shell needs (ShellWord).
  std::string ToCommand() const;

  // Reads the words after "ordo replay" (also "--flag=value"). InvalidArgument
  // naming the word for an unknown flag, a missing or malformed value, a
  // second FILE, or no FILE or --target.
  static Result<RunSpec> Parse(const std::vector<std::string>& args);
  // Reads a whole command line as ToCommand writes it: split as a shell would
  // (SplitShellWords), then "ordo replay" (any path to ordo), then Parse.
  static Result<RunSpec> ParseCommand(std::string_view command);
};

// A word of a command line as a shell reads it: as it is when it holds only
// characters no shell treats specially, else in single quotes.
std::string ShellWord(const std::string& word);

// The words of a command line as a POSIX shell splits them: whitespace
// separates words; single quotes, double quotes and backslashes quote.
// InvalidArgument for an unterminated quote or a trailing backslash.
Result<std::vector<std::string>> SplitShellWords(std::string_view command);

}  // namespace ordo::replay
