// Findings as `ordo analyze --json` prints them.
#include <nlohmann/json.hpp>

#include "ordo/engine/block_key.h"
#include "ordo/util/json_text.h"
#include "render_parts.h"

namespace ordo::analyze {

nlohmann::ordered_json JsonRenderer::Value(const Finding& f) const {
  return {{"rule", f.rule},
          {"block", engine::BlockIndex(f.block)},
          {"file", f.file},
          {"offset", f.offset},
          {"threads", f.threads},
          {"events", f.events},
          {"manifested", f.manifested},
          {"count", f.count},
          {"signature", f.signature},
          {"explanation", f.explanation}};
}

nlohmann::ordered_json JsonRenderer::Value(const std::vector<Finding>& findings) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& f : findings) list.push_back(Value(f));
  return list;
}

std::string JsonRenderer::Render(const Finding& f) const { return util::JsonText(Value(f), 2); }

std::string JsonRenderer::RenderList(const std::vector<Finding>& findings) const {
  return util::JsonText(Value(findings), 2);
}

}  // namespace ordo::analyze
