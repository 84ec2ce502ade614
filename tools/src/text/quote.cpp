// SPDX-License-Identifier: Apache-2.0
// Quoting for messages: valid UTF-8 is kept so names in any script read as they are.
#include "statepack/tools/text/quote.hpp"

#include <cstdint>
#include <cstdio>

#include "statepack/tools/text/utf8.hpp"

namespace statepack {

std::string quote_for_message(std::string_view text, size_t max_bytes) {
  std::string out = "\"";
  size_t i = 0;
  while (i < text.size()) {
    if (i >= max_bytes) {
      out += "...";
      break;
    }
    const auto byte = static_cast<uint8_t>(text[i]);
    char escaped[8];
    uint32_t code_point = 0;
    if (byte == '"' || byte == '\\') {
      out += '\\';
      out += static_cast<char>(byte);
      ++i;
    } else if (byte < 0x20 || byte == 0x7F) {
      std::snprintf(escaped, sizeof(escaped), "\\u%04X", byte);
      out += escaped;
      ++i;
    } else if (const size_t length = utf8_sequence(text, i, &code_point)) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      std::snprintf(escaped, sizeof(escaped), "\\x%02X", byte);
      out += escaped;
      ++i;
    }
  }
  out += '"';
  return out;
}

}  // namespace statepack
