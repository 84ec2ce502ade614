// SPDX-License-Identifier: Apache-2.0
// Display width follows the spirit of wcwidth() for the ranges tensor names actually use; a
// full Unicode table would be the only way to be exact and is not worth its size here.
#include "statepack/tools/text/text_cell.hpp"

#include <cstdint>
#include <cstdio>

#include "statepack/tools/text/utf8.hpp"

namespace statepack {
namespace {

bool is_control(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp < 0xA0);
}

size_t columns(uint32_t cp) {
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) || cp == 0xFE0F) {
    return 0;  // combining diacritics, zero-width spaces and joiners, emoji presentation
  }
  const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                    (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                    (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
                    (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD);
  return wide ? 2 : 1;
}

}  // namespace

std::string printable_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t length = utf8_sequence(text, i, &cp);
    if (length == 0 || is_control(cp)) {
      // One byte at a time: a C1 control is two bytes in UTF-8, and both are shown.
      for (size_t k = 0; k < (length == 0 ? 1 : length); ++k) {
        char escape[5];
        std::snprintf(escape, sizeof(escape), "\\x%02X", static_cast<uint8_t>(text[i + k]));
        out += escape;
      }
      i += length == 0 ? 1 : length;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

size_t display_width(std::string_view printable) {
  size_t width = 0;
  for (size_t i = 0; i < printable.size();) {
    uint32_t cp = 0;
    const size_t length = utf8_sequence(printable, i, &cp);
    width += length == 0 ? 1 : columns(cp);
    i += length == 0 ? 1 : length;
  }
  return width;
}

std::string text_cell(std::string_view text, size_t width) {
  std::string cell = printable_text(text);
  size_t used = display_width(cell);
  if (used > width && width >= 3) {
    // Keep whole characters while they and the "..." fit.
    std::string cut;
    size_t cut_width = 0;
    for (size_t i = 0; i < cell.size();) {
      uint32_t cp = 0;
      size_t length = utf8_sequence(cell, i, &cp);
      const size_t w = length == 0 ? 1 : columns(cp);
      if (length == 0) length = 1;
      if (cut_width + w > width - 3) break;
      cut.append(cell, i, length);
      cut_width += w;
      i += length;
    }
    cell = cut + "...";
    used = cut_width + 3;
  }
  if (used < width) cell.append(width - used, ' ');
  return cell;
}

std::string human_bytes(double bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char text[32];
  std::snprintf(text, sizeof(text), u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return text;
}

}  // namespace statepack
