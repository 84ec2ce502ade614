// Strict JSON for untrusted headers (safetensors, index files): nlohmann::json's parser plus the
// checks it leaves out, so two readers of the same bytes cannot disagree about what they mean.
//
// This header only forward-declares nlohmann::json (<nlohmann/json_fwd.hpp>); code that looks
// into the returned value includes <nlohmann/json.hpp> itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
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

/// Offset of the first byte of `text` that is not part of a valid UTF-8 sequence (RFC 3629:
/// no overlong forms, no surrogates, nothing above U+10FFFF); nullopt if all of it is valid.
std::optional<size_t> find_invalid_utf8(std::string_view text);

/// `text` in double quotes for an error message: `"` and `\` escaped, control characters as
/// \uXXXX, bytes of invalid UTF-8 as \xNN, cut after `max_bytes` input bytes with "...". Safe to
/// print whatever a hostile file put in a name.
std::string quote_for_message(std::string_view text, size_t max_bytes = 200);

}  // namespace statepack
