// SPDX-License-Identifier: Apache-2.0
// Quoting text for error messages: names and keys come from files that may be hostile, and a
// message must never carry their control characters or broken UTF-8 to the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace statepack {

/// `text` in double quotes for an error message: `"` and `\` escaped, control characters as
/// \uXXXX, bytes of invalid UTF-8 as \xNN, cut after `max_bytes` input bytes with "...". Safe to
/// print whatever a hostile file put in a name.
std::string quote_for_message(std::string_view text, size_t max_bytes = 200);

}  // namespace statepack
