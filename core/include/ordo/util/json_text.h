// JSON text of a document for people and tools. A path on Linux is any bytes,
// not always UTF-8: such bytes are written as U+FFFD instead of failing the
// whole document (and losing the result it carries).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ordo::util {

// `indent` as nlohmann::json::dump: -1 for one line, 2 for two spaces a level.
// Any nlohmann document type (an ordered_json keeps its key order).
template <class Json>
std::string JsonText(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace ordo::util
