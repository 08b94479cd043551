#include "common.h"

#include <fmt/core.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string_view>

#include "ordo/replay/target_claim.h"
#include "ordo/util/json_text.h"

namespace ordo::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kPermissionDenied:
      return kExitEnvironment;
    case StatusCode::kVerifyFailed:
      return kExitFound;
    default:
      return kExitBadInput;
  }
}

int Fail(const Status& status) {
  fmt::print(stderr, "ordo: {}\n", status.message());
  return ExitCodeFor(status);
}

int Fail(const Status& status, bool json) {
  if (json) {
    fmt::print("{}\n", util::JsonText(ErrorDocument(status), 2));
    std::fflush(stdout);
  }
  return Fail(status);
}

nlohmann::ordered_json ErrorJson(const Status& status) {
  using J = nlohmann::ordered_json;
  return {{"message", status.message()},
          {"file", status.file().empty() ? J(nullptr) : J(status.file())},
          {"offset", status.has_offset() ? J(status.offset()) : J(nullptr)}};
}

nlohmann::ordered_json ErrorDocument(const Status& status) {
  return {{"error", ErrorJson(status)}, {"exit_code", ExitCodeFor(status)}};
}

bool WantsJson(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return false;
    if (a == "--json") return true;
  }
  return false;
}

Status CheckTargetForce(const std::string& target, bool force) {
  if (force || !replay::NeedsForce(target)) return Status::Ok();
  return Status::InvalidArgument(target +
                                 ": target is not empty and was not created by ordo; "
                                 "pass --force to use it anyway (replay writes under it)");
}

trace::TraceHeader LocalHeader(const std::string& kind, const std::string& source) {
  trace::TraceHeader h;
  h.tool_version = std::string("ordo ") + ORDO_VERSION;
  struct utsname u;
  if (uname(&u) == 0) {
    h.host = u.nodename;
    h.kernel = std::string(u.sysname) + " " + u.release;
  }
  h.kind = kind;
  h.source = source;
  h.start_realtime_ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  return h;
}

std::string QuoteCommand(int argc, char** argv) {
  return QuoteCommand(std::vector<std::string>(argv, argv + argc));
}

std::string QuoteCommand(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i) out += ' ';
    if (a.find_first_of(" \t'\"$\\") == std::string::npos && !a.empty()) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
  }
  return out;
}

}  // namespace ordo::cli
