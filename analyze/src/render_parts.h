// The pieces every finding renderer says alike (render.h). Internal to
// analyze/.
#pragma once

#include <cstdint>
#include <string>

#include "ordo/analyze/render.h"

namespace ordo::analyze::render {

// "block 3 of file 1 (offset 12288)".
std::string Where(const Finding& f);
// ", seen 4 times" when the signature occurred more than once, else "".
std::string SeenTimes(const Finding& f);
// "#5, #9, #12".
std::string EventList(const Finding& f);
// The finding's threads, each as ThreadName() says it, comma-separated.
std::string ThreadList(const RenderContext& context, const Finding& f);
// `text` with each "T<n>" of a thread the context names replaced by ThreadName().
std::string NameThreads(const RenderContext& context, const std::string& text);

}  // namespace ordo::analyze::render
