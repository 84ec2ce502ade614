// SPDX-License-Identifier: Apache-2.0
// --meta KEY[:TYPE]=VALUE (see meta_argument.hpp).
#include "statepack/tools/text/meta_argument.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "statepack/tools/core/error.hpp"

namespace statepack {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Decimal digits with an optional sign, within int64; `json` also refuses '+' and leading
// zeros, so the text is exactly what to_text() gives back.
std::optional<int64_t> parse_int(const std::string &text, bool json) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || (!json && text[i] == '+'))) ++i;
  if (i == text.size()) return std::nullopt;
  if (json && text[i] == '0' && i + 1 < text.size()) return std::nullopt;
  for (size_t j = i; j < text.size(); ++j) {
    if (!is_digit(text[j])) return std::nullopt;
  }
  errno = 0;
  char *end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || end != text.c_str() + text.size()) return std::nullopt;
  return static_cast<int64_t>(value);
}

// The JSON number grammar with a fraction or an exponent (an integer is parse_int's).
bool is_json_float(const std::string &text) {
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  const size_t int_start = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i == int_start || (text[int_start] == '0' && i - int_start > 1)) return false;
  bool fraction_or_exponent = false;
  if (i < text.size() && text[i] == '.') {
    const size_t start = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == start) return false;
    fraction_or_exponent = true;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    const size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == start) return false;
    fraction_or_exponent = true;
  }
  return i == text.size() && fraction_or_exponent;
}

std::optional<double> parse_float(const std::string &text) {
  if (text.empty()) return std::nullopt;
  char *end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

MetaValue inferred(const std::string &text) {
  if (text == "true") return MetaValue::of_bool(true);
  if (text == "false") return MetaValue::of_bool(false);
  if (const auto i = parse_int(text, true)) return MetaValue::of_int(*i);
  if (is_json_float(text)) {
    const auto f = parse_float(text);
    if (f && std::isfinite(*f)) return MetaValue::of_float(*f);
  }
  return MetaValue::of_string(text);
}

[[noreturn]] void fail_value(const std::string &argument, const std::string &value,
                             const char *what) {
  fail_usage("--meta " + argument + ": \"" + value + "\" is not " + what);
}

}  // namespace

std::pair<std::string, MetaValue> parse_meta_argument(const std::string &argument) {
  const size_t eq = argument.find('=');
  if (eq == std::string::npos || eq == 0) {
    fail_usage(
        "--meta expects KEY=VALUE or KEY:TYPE=VALUE (TYPE str, int, float or bool), got "
        "\"" +
        argument + "\"");
  }
  std::string key = argument.substr(0, eq);
  const std::string value = argument.substr(eq + 1);
  std::string type;
  const size_t colon = key.rfind(':');
  if (colon != std::string::npos) {
    const std::string suffix = key.substr(colon + 1);
    if (suffix == "str" || suffix == "int" || suffix == "float" || suffix == "bool") {
      type = suffix;
      key.resize(colon);
    }
  }
  if (key.empty()) fail_usage("--meta " + argument + ": the key is empty");
  if (type.empty()) return {key, inferred(value)};
  if (type == "str") return {key, MetaValue::of_string(value)};
  if (type == "int") {
    const auto i = parse_int(value, false);
    if (!i) fail_value(argument, value, "an integer (64-bit, decimal)");
    return {key, MetaValue::of_int(*i)};
  }
  if (type == "float") {
    const auto f = parse_float(value);
    if (!f) fail_value(argument, value, "a number");
    return {key, MetaValue::of_float(*f)};
  }
  if (value == "true" || value == "1") return {key, MetaValue::of_bool(true)};
  if (value == "false" || value == "0") return {key, MetaValue::of_bool(false)};
  fail_value(argument, value, "a bool (true, false, 1 or 0)");
}

}  // namespace statepack
