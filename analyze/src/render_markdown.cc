// Findings as a Markdown report (a ticket's summary) holds them.
#include <fmt/core.h>

#include "render_parts.h"

namespace ordo::analyze {

MarkdownRenderer::MarkdownRenderer(RenderContext context) : context_(std::move(context)) {}

std::string MarkdownRenderer::Render(const Finding& f) const {
  std::string out = fmt::format("- **{}** on {}, {}{}: {}\n", f.rule, render::Where(f),
                                f.manifested ? "**confirmed** (manifested in this run)"
                                             : "predicted (not confirmed in this run)",
                                render::SeenTimes(f), render::NameThreads(context_, f.explanation));
  out += fmt::format("  - threads {}; events {}\n", render::ThreadList(context_, f),
                     render::EventList(f));
  if (f.manifested && !context_.reproduce.empty())
    out += fmt::format("  - confirmed: `{}`\n", context_.reproduce);
  return out;
}

std::string MarkdownRenderer::RenderList(const std::vector<Finding>& findings) const {
  if (findings.empty()) return "No ordering found.\n";
  std::string out;
  for (const auto& f : findings) out += Render(f);
  return out;
}

}  // namespace ordo::analyze
