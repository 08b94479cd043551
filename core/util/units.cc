#include "ordo/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

namespace ordo {

namespace {

// Splits "64M" into 64.0 and "M". Fails on empty, negative or junk numbers.
bool SplitNumber(std::string_view text, double* value, std::string* unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return false;
  std::string num(text.substr(0, i));
  char* end = nullptr;
  *value = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size() || !std::isfinite(*value)) return false;
  unit->clear();
  for (char c : text.substr(i))
    unit->push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return true;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  double v = 0;
  std::string unit;
  if (!SplitNumber(text, &v, &unit)) {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is not a size (try 4096, 64K, 64M, 1G)");
  }
  double mult = 0;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    mult = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    return Status::InvalidArgument("\"" + std::string(text) + "\": unknown size unit \"" + unit +
                                   "\"");
  double bytes = v * mult;
  if (bytes >= 1.8e19) return Status::InvalidArgument("\"" + std::string(text) + "\" is too large");
  return static_cast<uint64_t>(std::llround(bytes));
}

Result<uint64_t> ParseDuration(std::string_view text) {
  double v = 0;
  std::string unit;
  if (!SplitNumber(text, &v, &unit)) {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is not a duration (try 30s, 500ms, 2m)");
  }
  double mult = 0;
  if (unit.empty() || unit == "s")
    mult = 1e9;
  else if (unit == "ms")
    mult = 1e6;
  else if (unit == "us")
    mult = 1e3;
  else if (unit == "ns")
    mult = 1;
  else if (unit == "m" || unit == "min")
    mult = 60e9;
  else if (unit == "h")
    mult = 3600e9;
  else
    return Status::InvalidArgument("\"" + std::string(text) + "\": unknown duration unit \"" +
                                   unit + "\"");
  double ns = v * mult;
  if (ns >= 1.8e19) return Status::InvalidArgument("\"" + std::string(text) + "\" is too long");
  return static_cast<uint64_t>(std::llround(ns));
}

std::string FormatBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string FormatDuration(uint64_t ns) {
  char buf[32];
  if (ns < 1000)
    std::snprintf(buf, sizeof(buf), "%llu ns", static_cast<unsigned long long>(ns));
  else if (ns < 1000000)
    std::snprintf(buf, sizeof(buf), "%.2f us", ns / 1e3);
  else if (ns < 1000000000)
    std::snprintf(buf, sizeof(buf), "%.2f ms", ns / 1e6);
  else
    std::snprintf(buf, sizeof(buf), "%.3f s", ns / 1e9);
  return buf;
}

}  // namespace ordo
