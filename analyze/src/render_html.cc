// Findings as an HTML report holds them.
#include <fmt/core.h>

#include "render_parts.h"

namespace ordo::analyze {

HtmlRenderer::HtmlRenderer(RenderContext context) : context_(std::move(context)) {}

std::string HtmlRenderer::Render(const Finding& f) const {
  // Manifested in the history's run: confirmed, with the run to repeat.
  const std::string status =
      f.manifested
          ? "<span class=\"status fail\">confirmed</span> (manifested in this run; repeat it "
            "alone: <code class=\"reproduce\">" +
                HtmlEscape(context_.reproduce.empty() ? "-" : context_.reproduce) + "</code>)"
          : "<span class=\"status\">predicted (not confirmed in this run)</span>";
  return fmt::format(
      "<li class=\"finding\"><b>{}</b> on {} — {}{}<br>{}<br><small>threads {}; events "
      "{}</small></li>\n",
      HtmlEscape(f.rule), render::Where(f), status, render::SeenTimes(f),
      HtmlEscape(render::NameThreads(context_, f.explanation)),
      HtmlEscape(render::ThreadList(context_, f)), render::EventList(f));
}

std::string HtmlRenderer::RenderList(const std::vector<Finding>& findings) const {
  if (findings.empty()) return "<p class=\"pass\">No ordering found.</p>\n";
  std::string out = "<ol class=\"findings\">\n";
  for (const auto& f : findings) out += Render(f);
  return out + "</ol>\n";
}

}  // namespace ordo::analyze
