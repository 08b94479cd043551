// What the finding renderers share: how a finding's place, threads and
// events are said, the tally of a list, and HTML escaping.
#include <fmt/core.h>
#include <fmt/format.h>

#include "ordo/engine/block_key.h"
#include "render_parts.h"

namespace ordo::analyze {

namespace render {

std::string Where(const Finding& f) {
  return fmt::format("block {} of file {} (offset {})", engine::BlockIndex(f.block), f.file,
                     f.offset);
}

std::string SeenTimes(const Finding& f) {
  return f.count > 1 ? fmt::format(", seen {} times", f.count) : "";
}

std::string EventList(const Finding& f) { return fmt::format("#{}", fmt::join(f.events, ", #")); }

std::string ThreadList(const RenderContext& context, const Finding& f) {
  std::string out;
  for (uint32_t t : f.threads) out += (out.empty() ? "" : ", ") + ThreadName(context, t);
  return out;
}

std::string NameThreads(const RenderContext& context, const std::string& text) {
  if (context.thread_names.empty()) return text;
  auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i + 1;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9' && j - i <= 10) ++j;
    if (text[i] == 'T' && j > i + 1 && (i == 0 || !alnum(text[i - 1])) &&
        (j == text.size() || !alnum(text[j]))) {
      const uint64_t tid = std::stoull(text.substr(i + 1, j - i - 1));
      if (tid <= UINT32_MAX && context.thread_names.count(static_cast<uint32_t>(tid))) {
        out += ThreadName(context, static_cast<uint32_t>(tid));
        i = j;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

}  // namespace render

std::string ThreadName(const RenderContext& context, uint32_t tid) {
  auto it = context.thread_names.find(tid);
  return it != context.thread_names.end() ? fmt::format("{} (T{})", it->second, tid)
                                          : fmt::format("T{}", tid);
}

std::string Tally(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings) {
    out += fmt::format("{}{} x{}{}", out.empty() ? "" : ", ", f.rule, f.count,
                       f.manifested ? " (manifested)" : "");
  }
  return out.empty() ? "none" : out;
}

std::string HtmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace ordo::analyze
