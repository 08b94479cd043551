// --engine: the built-in engine's orderings, or an engine of the user's own
// loaded through the engine ABI.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "ordo/plugin/plugin.h"

namespace ordo::cli {

inline CLI::Validator EngineOption() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (v == "legacy" || v == "fixed" || plugin::IsEngineSpec(v)) return "";
        return "--engine must be legacy, fixed or PATH.so[:key=value,...], not " + v;
      },
      "legacy|fixed|PATH.so[:CONFIG]");
}

}  // namespace ordo::cli
