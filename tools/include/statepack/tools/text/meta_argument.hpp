// SPDX-License-Identifier: Apache-2.0
// `pack --meta KEY=VALUE`: the value keeps the type it is written in, so a number stays a
// number in the blob's typed metadata (FORMAT.md's MetaEntry: string, int, float, bool).
//
//   KEY=VALUE        typed by its text, only when nothing is lost: true/false -> bool;
//                    a JSON integer (no '+', no leading zero) within int64 -> int; a JSON
//                    number with a '.' or an exponent, finite -> float; anything else
//                    (007, 1e999, +3, "", text) -> string.
//   KEY:TYPE=VALUE   TYPE forces it: str (as is), int (decimal, sign and leading zeros
//                    allowed, within int64), float (any strtod text, inf and nan included),
//                    bool (true, false, 1, 0). A VALUE that is not a TYPE is a usage Error.
//
// Only the last ':' before the first '=' can start a TYPE, and only when what follows is one
// of the four names; any other ':' belongs to the key.
#pragma once

#include <string>
#include <utility>

#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// Parses one --meta argument into its key and typed value. Throws a usage Error naming the
/// argument for a missing '=', an empty key or a VALUE its forced TYPE cannot hold.
std::pair<std::string, MetaValue> parse_meta_argument(const std::string &argument);

}  // namespace statepack
