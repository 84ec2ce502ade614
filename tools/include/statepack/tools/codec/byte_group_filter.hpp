// SPDX-License-Identifier: Apache-2.0
// The byte-grouping filter applied before zstd (schemas/FORMAT.md, "zstd codec"): the bytes of
// like significance of every element side by side, so each stream has one kind of statistics.
#pragma once

#include <cstddef>
#include <cstdint>

namespace statepack {

/// Byte k of each of `count` elements of `width` bytes into stream k (out[k * count + i]),
/// each element first rotated left by one bit when `rotate`. `out` must not overlap `in`.
void byte_group(const uint8_t *in, size_t count, uint32_t width, bool rotate, uint8_t *out);

}  // namespace statepack
