// SPDX-License-Identifier: Apache-2.0
// Lossless grids: float tensors whose values are exactly (n - z) * scale for small integers n,
// per tensor or per slice of axis 0 -- what quantization-aware training and
// torch.fake_quantize_per_tensor_affine / fake_quantize_per_channel_affine export. Such a
// tensor is stored as its integers plus f32 scales (and zero points) under an existing int8
// scheme, so the runtime decodes it with the code it already has, and every value comes back
// bit for bit. FORMAT.md, "Lossless grids".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "statepack/tools/quant/quantize.hpp"

namespace statepack {

/// Finds a grid that reproduces every one of `values` (C order, `shape`) bit for bit through
/// reconstruct() (= spk_dequantize): one f32 scale for the tensor if one fits, else one per
/// slice of axis 0 (rank >= 2); integers stored as I8, with I8 zero points when a slice's
/// integers span more than -128..127 (at most 256 levels, as quint8/qint8 give). Returns the
/// quantized tensor (spec Int8Tensor, Int8Channel or Int8Asym; `lossless` set, SQNR +inf, max
/// error 0), or nullopt when any value is off the grid, NaN or infinite. A tensor that is not a
/// grid is almost always rejected from a sample of 64 values of its first nonzero slice, so
/// ordinary weights cost next to nothing.
std::optional<QuantizedTensor> find_lossless_grid(const float *values,
                                                  const std::vector<uint64_t> &shape);

/// find_lossless_grid's cheap first test alone, on values read through `value(i)` (element i in
/// C order): false when the tensor cannot be a grid (a sample of at most 64 values of its first
/// slice with a nonzero sample is off every grid, or holds NaN/inf), so a caller can skip
/// converting it at all. True does not promise a grid.
bool may_be_lossless_grid(const std::vector<uint64_t> &shape,
                          const std::function<float(uint64_t)> &value);

/// The largest |n - z| a grid may use: 255 (a 256-level grid with its zero point at one end).
inline constexpr int32_t kMaxGridLevel = 255;

/// How the report names a grid: "int8 per channel", "int8 per tensor", "int8 asym per channel".
const char *grid_description(const QuantizedTensor &q);

}  // namespace statepack
