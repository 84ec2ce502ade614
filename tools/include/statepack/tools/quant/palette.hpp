// SPDX-License-Identifier: Apache-2.0
// Small palettes: float tensors with at most 256 distinct values that lie on no grid -- weights
// clustered by k-means (Deep Compression, torch.ao's weight clustering: 16 or 256 centroids),
// lookup tables, sparse tensors of a few values. Such a tensor is stored as its distinct values
// (F32, sorted, in the scale segment) and one index per element (U4 for up to 16 values, else
// U8) under QuantScheme Palette, and every value comes back bit for bit. FORMAT.md, "Palette".
#pragma once

#include <cstdint>
#include <optional>

#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack {

/// The most distinct values a palette holds (8-bit indices).
inline constexpr uint32_t kMaxPaletteSize = 256;

/// Whether `t` (F32, F16 or BF16 data at t.data) has at most kMaxPaletteSize distinct values
/// and no NaN, read in place; stops at the 257th distinct value or the first NaN, so a tensor of
/// ordinary weights costs a few hundred elements. -0.0 and +0.0 are distinct values.
bool may_be_palette(const Tensor &t);

/// The palette form of `t` (F32, F16 or BF16): spec Palette with group_size = the number of
/// distinct values, `scales` those values as F32 (an F16/BF16 value widened exactly) in
/// ascending order with -0.0 before +0.0, data U4 (at most 16 values; two a byte, low nibble
/// first) or U8 indices into them, axis -1, `lossless` set, SQNR +inf. Checked after building:
/// reconstruct() reproduces every value bit for bit. nullopt when the tensor has more than
/// kMaxPaletteSize distinct values, holds a NaN (a decoder may quiet a NaN it passes through a
/// float register, so payloads could not be promised), is empty or is not F32/F16/BF16.
std::optional<QuantizedTensor> find_palette(const Tensor &t);

}  // namespace statepack
