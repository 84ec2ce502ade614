// SPDX-License-Identifier: Apache-2.0
// One UTF-8 decoder, strict in the way RFC 3629 section 4 is: the shortest form only, no
// surrogates, nothing above U+10FFFF.
#include "statepack/tools/text/utf8.hpp"

namespace statepack {

size_t utf8_sequence(std::string_view text, size_t at, uint32_t *code_point) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[at + k]); };
  const uint8_t lead = byte(0);
  size_t length = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1Fu, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0Fu, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return length;
}

std::optional<size_t> find_invalid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    uint32_t code_point = 0;
    const size_t length = utf8_sequence(text, i, &code_point);
    if (length == 0) return i;
    i += length;
  }
  return std::nullopt;
}

}  // namespace statepack
