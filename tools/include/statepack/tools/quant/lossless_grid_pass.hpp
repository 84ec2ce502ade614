// SPDX-License-Identifier: Apache-2.0
// The lossless-grid pass of `pack`: every floating tensor (F32, F16, BF16) that no --quant or
// --rule touched and whose values lie exactly on an integer grid is stored as integers plus
// scales (lossless_grid.hpp), when that is smaller; explicit schemes and rules win.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/quant/quant_rules.hpp"

namespace statepack {

/// One tensor the pass stored as a grid.
struct GridReportRow {
  std::string name;
  std::string description;  ///< grid_description(): "int8 per channel"
  DType source_dtype = DType::kUnknown;
  uint64_t scales = 0;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;  ///< integers + scales + zero points
};

/// Finds and applies lossless grids in place, in name order. Skips tensors already quantized,
/// tensors any of `plan`'s rules matches (a `keep` rule keeps a tensor as it is), and tensors
/// for which integers + parameters would not be smaller. A tensor that is no grid costs a
/// sample of 64 values (may_be_lossless_grid) before it would be converted.
std::vector<GridReportRow> apply_lossless_grids(Checkpoint &checkpoint, const QuantPlan &plan);

/// The pass's report: one line per tensor and a total ("lossless grids: 2 tensors, ...");
/// empty when no tensor was a grid.
std::string format_grid_report(const std::vector<GridReportRow> &rows);

}  // namespace statepack
