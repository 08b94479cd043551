#include "trace_scan.h"

#include "common.h"

namespace ordo::cli {

int ScanTrace(const std::string& file, bool json,
              const std::function<bool(const trace::Record&)>& visit,
              const std::function<void(const trace::TraceReader&)>& render) {
  auto reader = trace::TraceReader::Open(file);
  if (!reader.ok()) return Fail(reader.status(), json);
  trace::TraceReader& r = **reader;
  trace::Record rec;
  while (r.Next(&rec) && visit(rec)) {
  }
  render(r);
  if (!r.status().ok()) return Fail(r.status());
  return kExitOk;
}

}  // namespace ordo::cli
