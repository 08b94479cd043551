#include "common.h"

#include <fmt/core.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>

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
