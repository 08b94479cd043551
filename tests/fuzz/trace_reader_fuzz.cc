// libFuzzer target: any byte string given to the trace reader must end in
// records or a clean error, never a crash, hang or unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ordo/file_io.h"
#include "ordo/trace/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto reader = ordo::trace::TraceReader::Open(
      ordo::MemorySource(std::string(reinterpret_cast<const char*>(data), size), "fuzz"));
  if (!reader.ok()) return 0;
  ordo::trace::Record record;
  while ((*reader)->Next(&record)) {
  }
  (void)(*reader)->ReadFooterSummary();
  return 0;
}
