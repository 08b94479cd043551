// The shape `ordo trace info|stat|cat` share: open a trace, visit its records
// as they stream by, print what was gathered, and fail on damage.
#pragma once

#include <functional>
#include <string>

#include "ordo/trace/reader.h"
#include "ordo/trace/record.h"

namespace ordo::cli {

// Opens `file` ("-": stdin); when it cannot be opened, prints the error (with
// `json`, also the error document on stdout) and returns its exit code.
// Otherwise hands each record to `visit` until the trace ends, is damaged, or
// `visit` returns false; then calls `render` with the reader (its status()
// says whether the trace was damaged, for the JSON to say so too). Returns
// the exit code of the damage, printed on stderr, or kExitOk.
int ScanTrace(const std::string& file, bool json,
              const std::function<bool(const trace::Record&)>& visit,
              const std::function<void(const trace::TraceReader&)>& render);

}  // namespace ordo::cli
