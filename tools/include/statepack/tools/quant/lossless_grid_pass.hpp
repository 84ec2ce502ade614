// SPDX-License-Identifier: Apache-2.0
// The lossless-grid pass of `pack`: every floating tensor (F32, F16, BF16) that no --quant or
// --rule touched and whose values lie exactly on an integer grid is stored as integers plus
// scales (lossless_grid.hpp), when that is smaller; one with at most 256 distinct values is
// stored as a palette plus indices (palette.hpp) when that codes smaller than the grid or the
// tensor as it is. Explicit schemes and rules win.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/quant/quant_rules.hpp"

namespace statepack {

/// One tensor the pass stored as a grid.
struct GridReportRow {
  std::string name;
  std::string description;  ///< grid_description(): "int8 per channel"; "palette"
  DType source_dtype = DType::kUnknown;
  DType stored_dtype = DType::kUnknown;  ///< I8 (grids), U8 or U4 (palettes)
  uint64_t scales = 0;                   ///< scales, or a palette's values
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;  ///< integers + scales + zero points
};

/// The bytes `size` bytes of `dtype` elements at `data` take in the blob (its codec's output, or
/// `size` when blobs are stored raw); the pass weighs a palette against the alternatives by it.
using CodedSize = std::function<uint64_t(const uint8_t *data, uint64_t size, DType dtype)>;

/// Finds and applies lossless grids and palettes in place, in name order. Skips tensors already
/// quantized, tensors any of `plan`'s rules matches (a `keep` rule keeps a tensor as it is), and
/// tensors for which integers + parameters would not be smaller. A tensor with a palette
/// (find_palette) takes it when `coded_size` of its indices plus its values is below that of
/// the grid's integers plus scales, or else of the tensor's own bytes, both measured on the
/// same elements from the tensor's middle (at most kPaletteSampleElements) and scaled to the
/// whole; without `coded_size`, on raw sizes. A tensor that is neither costs a sample of 64
/// values (may_be_lossless_grid) and a scan that stops at its 257th distinct value.
std::vector<GridReportRow> apply_lossless_grids(Checkpoint &checkpoint, const QuantPlan &plan,
                                                const CodedSize &coded_size = {});

/// The most elements apply_lossless_grids codes to weigh a palette (256 KiB of F32: the
/// screening codec takes about 1 s a MiB on structured floats).
inline constexpr uint64_t kPaletteSampleElements = uint64_t{1} << 16;

/// The pass's report: one line per tensor and a total ("lossless grids: 2 tensors, ...");
/// empty when no tensor was a grid.
std::string format_grid_report(const std::vector<GridReportRow> &rows);

}  // namespace statepack
