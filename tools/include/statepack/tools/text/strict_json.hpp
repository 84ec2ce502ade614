// SPDX-License-Identifier: Apache-2.0
// Strict JSON for untrusted headers (safetensors, index files): nlohmann::json's parser plus the
// checks it leaves out, so two readers of the same bytes cannot disagree about what they mean.
//
// This header only forward-declares nlohmann::json (<nlohmann/json_fwd.hpp>); code that looks
// into the returned value includes <nlohmann/json.hpp> itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace statepack {

/// Nesting allowed by default: far beyond any real header, far below a stack or memory problem.
inline constexpr size_t kJsonMaxDepth = 64;

/// Parses `text` as exactly one JSON value (RFC 8259), refusing what nlohmann accepts by default
/// or what a different reader might read differently:
///   - text that is not valid UTF-8 anywhere (overlong forms, surrogates, > U+10FFFF),
///   - a byte-order mark, or a raw NUL byte anywhere (nlohmann would stop reading there),
///   - a key that appears twice in one object,
///   - objects and arrays nested deeper than `max_depth`,
///   - anything but whitespace after the value; comments.
/// Integers that fit int64/uint64 stay integers (non-negative ones are unsigned); larger ones
/// become floats, so callers wanting an integer must check the type.
///
/// Throws an input Error "<file>: invalid <what>: <problem> at byte <n>", where n is the
/// problem's offset in `text` plus `base_offset` (the text's place in its file, so the number
/// points into the file a user can open).
nlohmann::json parse_strict_json(std::string_view text, const std::string &file,
                                 const std::string &what = "JSON", uint64_t base_offset = 0,
                                 size_t max_depth = kJsonMaxDepth);

}  // namespace statepack
