// SPDX-License-Identifier: Apache-2.0
// UTF-8 as RFC 3629 defines it: the one decoder behind every check of names, keys and JSON text
// and behind the terminal's display of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace statepack {

/// Length (1-4) of the valid UTF-8 sequence that starts at text[at], storing its code point in
/// `*code_point`; 0 when the bytes there are not one (a stray continuation byte, a truncated
/// sequence, an overlong form, a surrogate or a value past U+10FFFF). `at` < text.size().
size_t utf8_sequence(std::string_view text, size_t at, uint32_t *code_point);

/// Offset of the first byte of `text` that is not part of a valid UTF-8 sequence; nullopt if all
/// of it is valid.
std::optional<size_t> find_invalid_utf8(std::string_view text);

}  // namespace statepack
