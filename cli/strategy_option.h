// --explore: the exploration strategies a subcommand offers, each spelled as
// sched::StrategyName spells it (the one mapping of strategies to names).
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "ordo/sched/scheduler.h"

namespace ordo::cli {

// `first` (choices that are not a strategy, such as "auto"), then the names
// of `strategies`, in order: the set for CLI::IsMember.
inline std::vector<std::string> StrategyChoices(std::vector<std::string> first,
                                                std::initializer_list<sched::Strategy> strategies) {
  for (sched::Strategy s : strategies) first.emplace_back(sched::StrategyName(s));
  return first;
}

}  // namespace ordo::cli
