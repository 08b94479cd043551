// Reports a team can act on: a self-contained HTML page (inline SVG timeline,
// no network) or a Markdown summary for a ticket, from one or more engine
// histories (for example the legacy run that failed and a fixed run).
#pragma once

#include <string>
#include <vector>

#include "ordo/status.h"

namespace ordo::analyze {

// Writes `out` (.html or .md, by its extension) about `histories`.
Status WriteReport(const std::vector<std::string>& histories, const std::string& out);

}  // namespace ordo::analyze
