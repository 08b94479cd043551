#include "ordo/replay/run_spec.h"

#include <fmt/core.h>

#include <cctype>
#include <charconv>
#include <cstring>

#include "ordo/engine/engine.h"
#include "ordo/plugin/plugin.h"
#include "ordo/replay/replayer.h"

namespace ordo::replay {

std::string_view BackendName(Backend backend) {
  return backend == Backend::kFile ? "file" : "engine";
}

bool ParseBackend(std::string_view name, Backend* backend) {
  for (Backend b : {Backend::kEngine, Backend::kFile}) {
    if (BackendName(b) == name) {
      *backend = b;
      return true;
    }
  }
  return false;
}

Status ParseTiming(std::string_view text, Timing* timing, double* speed) {
  if (text == "fast" || text == "original") {
    *timing = text == "fast" ? Timing::kFast : Timing::kOriginal;
    return Status::Ok();
  }
  if (text.substr(0, 6) != "scale:") {
    return Status::InvalidArgument(
        fmt::format("'{}' is not a timing: fast, original or scale:X", text));
  }
  double x = 0;
  try {
    x = std::stod(std::string(text.substr(6)));
  } catch (...) {
    x = 0;
  }
  if (!(x > 0)) {
    return Status::InvalidArgument(
        fmt::format("'{}' is not a timing: scale:X needs a number X > 0 (e.g. scale:2)", text));
  }
  *timing = Timing::kScaled;
  *speed = x;
  return Status::Ok();
}

RunSpec RunSpec::OneRun(sched::Strategy run_strategy, uint64_t run_seed,
                        std::vector<engine::Focus> run_focus) const {
  RunSpec spec = *this;
  spec.strategy = run_strategy;
  spec.seed = run_seed;
  spec.focus = std::move(run_focus);
  spec.runs = 1;
  return spec;
}

std::vector<std::string> RunSpec::ToArgs() const {
  // A relative trace path that starts with '-' would read as an option:
  // "./" names the same file ("-" alone is standard input).
  const std::string file = trace.size() > 1 && trace[0] == '-' ? "./" + trace : trace;
  std::vector<std::string> args = {file, "--target", target, "--backend",
                                   std::string(BackendName(backend))};
  if (backend == Backend::kEngine) {
    args.insert(args.end(),
                {"--engine", engine, "--explore", std::string(sched::StrategyName(strategy)),
                 "--seed", std::to_string(seed)});
    if (strategy == sched::Strategy::kPct)
      args.insert(args.end(), {"--depth", std::to_string(depth)});
    if (strategy == sched::Strategy::kTargeted) {
      for (const engine::Focus& f : focus)
        args.insert(args.end(), {"--focus", engine::FocusString(f)});
    }
  }
  args.insert(args.end(), {"--runs", std::to_string(runs)});
  return args;
}

std::string RunSpec::ToCommand() const {
  std::string cmd = "ordo replay";
  for (const std::string& word : ToArgs()) cmd += " " + ShellWord(word);
  return cmd;
}

namespace {

// A decimal integer within [lo, hi], the whole of `text`.
template <typename T>
bool ParseNumber(std::string_view text, T lo, T hi, T* out) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// Sets the field `flag` names from `value`.
Status SetField(RunSpec* s, std::string_view flag, const std::string& value) {
  auto bad = [&](const char* want) {
    return Status::InvalidArgument(fmt::format("{} needs {}, not '{}'", flag, want, value));
  };
  engine::EngineMode mode;
  if (flag == "--target") {
    s->target = value;
  } else if (flag == "--backend") {
    if (!ParseBackend(value, &s->backend)) return bad("engine or file");
  } else if (flag == "--engine") {
    if (!engine::ParseEngineMode(value, &mode) && !plugin::IsEngineSpec(value))
      return bad("legacy, fixed or PATH.so[:CONFIG]");
    s->engine = value;
  } else if (flag == "--explore") {
    if (!sched::ParseStrategy(value, &s->strategy)) return bad("an exploration strategy");
  } else if (flag == "--seed") {
    if (!ParseNumber<uint64_t>(value, 0, UINT64_MAX, &s->seed)) return bad("an unsigned integer");
  } else if (flag == "--depth") {
    if (!ParseNumber(value, 1, 100, &s->depth)) return bad("a depth from 1 to 100");
  } else if (flag == "--runs") {
    if (!ParseNumber(value, 1, 100000000, &s->runs)) return bad("a count from 1 to 100000000");
  } else if (flag == "--focus") {
    engine::Focus f;
    if (!engine::ParseFocus(value, &f)) return bad("RULE:FILE:BLOCK:THREAD");
    s->focus.push_back(f);
  } else {
    return Status::InvalidArgument(fmt::format("'{}' is not an option of one replay run", flag));
  }
  return Status::Ok();
}

}  // namespace

Result<RunSpec> RunSpec::Parse(const std::vector<std::string>& args) {
  RunSpec s;
  bool has_trace = false, has_target = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word.size() < 2 || word.compare(0, 2, "--") != 0) {
      if (has_trace)
        return Status::InvalidArgument(
            fmt::format("a second trace '{}' (one run, one trace)", word));
      s.trace = word;
      has_trace = true;
      continue;
    }
    std::string flag = word, value;
    if (size_t eq = word.find('='); eq != std::string::npos) {
      flag = word.substr(0, eq);
      value = word.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Status::InvalidArgument(fmt::format("{} needs a value", word));
    }
    ORDO_RETURN_IF_ERROR(SetField(&s, flag, value));
    has_target |= flag == "--target";
  }
  if (!has_trace) return Status::InvalidArgument("no trace to replay");
  if (!has_target) return Status::InvalidArgument("no --target directory");
  return s;
}

Result<RunSpec> RunSpec::ParseCommand(std::string_view command) {
  auto words = SplitShellWords(command);
  if (!words.ok()) return words.status();
  const std::vector<std::string>& w = words.value();
  const bool ordo =
      !w.empty() &&
      (w[0] == "ordo" || (w[0].size() > 5 && w[0].compare(w[0].size() - 5, 5, "/ordo") == 0));
  if (!ordo || w.size() < 2 || w[1] != "replay") {
    return Status::InvalidArgument(
        fmt::format("not an `ordo replay` command: {}", std::string(command.substr(0, 80))));
  }
  return Parse(std::vector<std::string>(w.begin() + 2, w.end()));
}

std::string ShellWord(const std::string& w) {
  bool plain = !w.empty();
  for (char c : w) {
    plain &= std::isalnum(static_cast<unsigned char>(c)) ||
             (c != 0 && std::strchr("_./:=,+-@%", c) != nullptr);
  }
  if (plain) return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Result<std::vector<std::string>> SplitShellWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;  // the quote open at text[i], if any
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote == '\'') {
      if (c == '\'')
        quote = 0;
      else
        word += c;
    } else if (quote == '"') {
      // Inside double quotes a backslash quotes only \\, ", $ and `.
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < text.size() && text[i + 1] != 0 &&
                 std::strchr("\\\"$`", text[i + 1]) != nullptr) {
        word += text[++i];
      } else {
        word += c;
      }
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      in_word = true;
      if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '\\') {
        if (++i == text.size()) return Status::InvalidArgument("a command ends in a backslash");
        word += text[i];
      } else {
        word += c;
      }
    }
  }
  if (quote)
    return Status::InvalidArgument(fmt::format("a command has an unterminated {} quote", quote));
  if (in_word) words.push_back(std::move(word));
  return words;
}

RunSpec RunSpecOf(const std::string& trace_path, const ReplayOptions& o) {
  RunSpec spec;
  spec.trace = trace_path;
  spec.target = o.target;
  spec.backend = o.backend;
  spec.engine = o.engine_path.empty() ? std::string(engine::EngineModeName(o.engine_mode))
                                      : plugin::EngineSpecString({o.engine_path, o.engine_config});
  spec.strategy = o.strategy;
  spec.seed = o.seed;
  spec.depth = o.depth;
  spec.focus = o.focus;
  spec.runs = 1;
  return spec;
}

RunSpec RunSpecOf(const std::string& trace_path, const ReplayOptions& o, const RunOutcome& run) {
  return RunSpecOf(trace_path, o).OneRun(run.strategy, run.seed, run.focus);
}

std::string ReproduceCommand(const std::string& trace_path, const ReplayOptions& o,
                             const RunOutcome& run) {
  return RunSpecOf(trace_path, o, run).ToCommand();
}

}  // namespace ordo::replay
