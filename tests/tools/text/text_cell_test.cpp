// SPDX-License-Identifier: Apache-2.0
// Names in inspect's tables: escaped when they could drive the terminal, measured in columns
// (not bytes), cut at character boundaries.
#include <doctest/doctest.h>

#include <string>

#include "statepack/tools/text/text_cell.hpp"

namespace statepack {
namespace {

TEST_CASE("printable_text escapes controls and bytes that are not UTF-8, keeps the rest") {
  CHECK(printable_text("layer.0.weight") == "layer.0.weight");
  CHECK(printable_text("a\nb") == "a\\x0Ab");
  CHECK(printable_text("\x1b[31mred") == "\\x1B[31mred");
  CHECK(printable_text("del\x7f") == "del\\x7F");
  CHECK(printable_text("c1 \xc2\x9b") == "c1 \\xC2\\x9B");             // U+009B, a CSI
  CHECK(printable_text("bad \xff tail") == "bad \\xFF tail");          // never UTF-8
  CHECK(printable_text("cut \xe6\x97") == "cut \\xE6\\x97");           // truncated sequence
  CHECK(printable_text("over \xc0\xaf") == "over \\xC0\\xAF");         // overlong '/'
  CHECK(printable_text("sur \xed\xa0\x80") == "sur \\xED\\xA0\\x80");  // a surrogate
  CHECK(printable_text("gewicht.\xc3\xa4") == "gewicht.\xc3\xa4");     // ä stays
  CHECK(printable_text("\xe6\x9d\x83\xe9\x87\x8d") == "\xe6\x9d\x83\xe9\x87\x8d");  // 权重
}

TEST_CASE("display_width counts columns: wide CJK and emoji 2, combining marks 0") {
  CHECK(display_width("weight") == 6);
  CHECK(display_width("gewicht.\xc3\xa4") == 9);          // ä: 2 bytes, 1 column
  CHECK(display_width("\xe6\x9d\x83\xe9\x87\x8d") == 4);  // 权重: 6 bytes, 4 columns
  CHECK(display_width("e\xcc\x81") == 1);                 // e + combining acute
  CHECK(display_width("\xf0\x9f\x94\xa5") == 2);          // 🔥
}

TEST_CASE("text_cell pads to the width in columns and cuts at character boundaries") {
  CHECK(text_cell("ab", 5) == "ab   ");
  CHECK(text_cell("\xe6\x9d\x83", 4) == "\xe6\x9d\x83  ");  // 权 is 2 columns
  CHECK(text_cell("abcdefgh", 6) == "abc...");
  // 权重权重 is 8 columns: in 7, two characters and "..." fit exactly; in 6, only one does
  // (2 + 3), and the cell is padded back to 6 columns rather than cutting a character in half.
  CHECK(text_cell("\xe6\x9d\x83\xe9\x87\x8d\xe6\x9d\x83\xe9\x87\x8d", 7) ==
        "\xe6\x9d\x83\xe9\x87\x8d...");
  CHECK(display_width(text_cell("\xe6\x9d\x83\xe9\x87\x8d\xe6\x9d\x83\xe9\x87\x8d", 6)) == 6);
  CHECK(text_cell("a\nb", 8) == "a\\x0Ab  ");
}

}  // namespace
}  // namespace statepack
