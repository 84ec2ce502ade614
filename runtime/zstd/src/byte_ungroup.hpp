// SPDX-License-Identifier: Apache-2.0
// The inverse of the packer's byte-grouping filter (schemas/FORMAT.md, "zstd codec"): stream k
// (byte k of every element) back into elements, undoing the one-bit rotation when asked.
#pragma once

#include <cstddef>
#include <cstdint>

namespace statepack {
namespace zstd_addon {

/// Writes `count` elements of `width` bytes (2, 4 or 8) to `out` from `width` streams of `count`
/// bytes each at `streams`; with `rotate`, each element is rotated right by one bit. The two
/// buffers must not overlap. Returns false for any other width.
bool byte_ungroup(const uint8_t *streams, size_t count, uint32_t width, bool rotate, uint8_t *out);

}  // namespace zstd_addon
}  // namespace statepack
