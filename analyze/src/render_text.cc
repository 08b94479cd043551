// Findings as `ordo analyze` prints them.
#include <fmt/core.h>
#include <fmt/format.h>

#include "render_parts.h"

namespace ordo::analyze {

TextRenderer::TextRenderer(RenderContext context, std::string indent)
    : context_(std::move(context)), indent_(std::move(indent)) {}

std::string TextRenderer::Render(const Finding& f) const {
  // Threads by tid, as recorded, unless the context names them.
  const std::string threads = context_.thread_names.empty()
                                  ? fmt::format("{}", fmt::join(f.threads, ", "))
                                  : render::ThreadList(context_, f);
  return fmt::format(
      "{0}{1} on {2}, threads {3}, events {4}: {5}{6}\n{0}  {7}\n", indent_, f.rule,
      render::Where(f), threads, render::EventList(f),
      f.manifested ? "MANIFESTED (read-verify failed)" : "predicted (did not fail in this run)",
      render::SeenTimes(f), render::NameThreads(context_, f.explanation));
}

std::string TextRenderer::RenderList(const std::vector<Finding>& findings) const {
  if (findings.empty()) return indent_ + "no ordering found\n";
  std::string out;
  for (const auto& f : findings) out += "\n" + Render(f);
  return out;
}

}  // namespace ordo::analyze
