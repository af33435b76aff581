// Reading the benchmarks' JSON (Google Benchmark's --benchmark_out files, what
// bench/python/*.py print) with nlohmann-json: parsing that tolerates the NaN and
// Infinity both write, and fields read with a fallback where they are missing or of
// another type.
#pragma once

#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <utility>

namespace bench {

using Json = nlohmann::json;

// Parses `text`; the bare NaN, -NaN, Infinity and -Infinity values that Google Benchmark
// and Python's json module write (not JSON) are read as null. Throws
// nlohmann::json::parse_error.
inline Json parse_json(const std::string& text) {
  static const std::regex non_finite(R"((:\s*)-?(NaN|Infinity)\b)");
  return Json::parse(std::regex_replace(text, non_finite, "$1null"));
}

// j[key] if it is a number, else `fallback`.
inline double number_or(const Json& j, const std::string& key, double fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// j[key] if it is a string, else `fallback`.
inline std::string string_or(const Json& j, const std::string& key, std::string fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

}  // namespace bench
