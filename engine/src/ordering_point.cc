#include "ordering_point.h"

#include <fmt/core.h>

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

namespace ordo::engine {

Status OrderingPoints::Register(const ordo_host* host) {
  host_ = host;
  for (const trace::SiteRecord& s : trace::EngineKindSites()) {
    uint32_t id = host->site(host->ctx, s.name.c_str(), s.access);
    if (id == 0) {
      return Status::InvalidArgument(fmt::format(
          "engine: the host refused ordering point \"{}\" (access {})", s.name, s.access));
    }
    site_[s.site - 1] = id;
  }
  return Status::Ok();
}

void OrderingPoints::FireRequest(trace::IoOp op, uint32_t file, uint64_t offset, uint64_t length) {
  unsigned o = static_cast<unsigned>(op);
  STAP_PROBE4(ordo, request, o, file, offset, length);
}

}  // namespace ordo::engine
