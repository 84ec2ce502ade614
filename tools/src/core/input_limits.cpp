// SPDX-License-Identifier: Apache-2.0
// Configurable input limits: parsing the environment overrides (see input_limits.hpp).
#include "statepack/tools/core/input_limits.hpp"

#include <cstdlib>
#include <string>

#include "statepack/tools/core/error.hpp"

namespace statepack {

uint64_t configured_limit(const char *variable, uint64_t fallback) {
  const char *text = std::getenv(variable);
  if (text == nullptr || *text == '\0') return fallback;
  const std::string value(text);
  uint64_t number = 0;
  size_t i = 0;
  for (; i < value.size() && value[i] >= '0' && value[i] <= '9'; ++i) {
    if (__builtin_mul_overflow(number, 10u, &number) ||
        __builtin_add_overflow(number, static_cast<uint64_t>(value[i] - '0'), &number)) {
      fail_usage(std::string(variable) + "=" + value + " overflows 64 bits");
    }
  }
  const size_t digits = i;
  unsigned shift = 0;
  if (digits > 0 && i + 1 == value.size()) {
    switch (value[i]) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      default:
        break;
    }
    if (shift != 0) ++i;
  }
  if (digits == 0 || i != value.size()) {
    fail_usage(std::string(variable) + "=" + value +
               " is not a number (digits with an optional K, M, G or T suffix)");
  }
  if (shift != 0 && number > (UINT64_MAX >> shift)) {
    fail_usage(std::string(variable) + "=" + value + " overflows 64 bits");
  }
  return number << shift;
}

std::string raise_hint(const char *variable) {
  return std::string(" (set ") + variable + " to raise it)";
}

}  // namespace statepack
