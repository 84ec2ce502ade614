// SPDX-License-Identifier: Apache-2.0
// Text for the tables and lines the CLI prints. Tensor names in the columns of `inspect`'s
// tables: Names come from the file being inspected:
// they may hold any UTF-8 (one character, several bytes, one or two columns), bytes that are
// not UTF-8, or control characters that would move the cursor or recolour the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace statepack {

/// `text` made safe to print: control characters (C0, DEL, C1) and bytes that are not valid
/// UTF-8 become \xNN escapes; every other character is kept as it is.
std::string printable_text(std::string_view text);

/// Terminal columns that printable text takes: 2 for East Asian wide and fullwidth characters
/// and emoji, 0 for combining marks, 1 for anything else.
size_t display_width(std::string_view printable);

/// Printable `text` padded with spaces to exactly `width` columns, or cut at a character
/// boundary and ended with "..." when it is wider (width >= 3).
std::string text_cell(std::string_view text, size_t width);

/// A byte count for people: "512 B", "1.5 KiB", "3.2 GiB" (binary units, one decimal).
std::string human_bytes(double bytes);

}  // namespace statepack
