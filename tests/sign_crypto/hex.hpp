// SPDX-License-Identifier: Apache-2.0
// Hex strings of test vectors to bytes, and back for failure messages.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace statepack::test {

inline std::vector<uint8_t> from_hex(const std::string &hex) {
  auto nibble = [&](char c) -> uint8_t {
    if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<uint8_t>(c - 'A' + 10);
    throw std::invalid_argument("not a hex digit in \"" + hex + "\"");
  };
  if (hex.size() % 2 != 0) throw std::invalid_argument("odd-length hex \"" + hex + "\"");
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

inline std::string to_hex(const uint8_t *data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

}  // namespace statepack::test
