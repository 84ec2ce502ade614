// SPDX-License-Identifier: Apache-2.0
// Quantization schemes on the host: turning float tensors into the stored integer (or
// narrower float) data plus parameters, choosing scales that minimise squared error, and
// measuring the result. The encodings are specified in schemas/FORMAT.md ("Quantization");
// the runtime's spk_dequantize reproduces `reconstruct` bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "statepack/tools/core/dtype.hpp"
#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/quant/quant_schemes.hpp"

namespace statepack {

/// The result of quantizing one tensor: stored data, parameters and measured quality.
struct QuantizedTensor {
  SchemeSpec spec;
  int32_t axis = -1;                         ///< -1 per tensor; 0 per channel; rank-1 for groups
  DType dtype = DType::kUnknown;             ///< stored element type (I8, U8, I4, U4, F16, BF16)
  std::vector<uint8_t> data;                 ///< packed as FORMAT.md says
  DType scale_dtype = DType::kUnknown;       ///< F32 or F16; kUnknown for casts
  std::vector<uint8_t> scales;               ///< little-endian
  DType zero_point_dtype = DType::kUnknown;  ///< I8 or U8 for asymmetric schemes
  std::vector<uint8_t> zero_points;
  double sqnr_db = 0;            ///< 10 log10(sum x^2 / sum (x - x')^2); +inf when exact
  double max_abs_error = 0;      ///< max |x - x'|
  uint64_t overflow_count = 0;   ///< casts: finite values that became infinite; ints: clipped
  double signal_energy = 0;      ///< sum x^2 over finite x, behind sqnr_db
  double noise_energy = 0;       ///< sum (x - x')^2 over finite x, behind sqnr_db
  uint64_t slice_count = 0;      ///< slices sharing a scale (integer schemes; 0 for casts)
  uint64_t underflow_count = 0;  ///< slices with nonzero values whose stored scale is 0
  bool lossless = false;         ///< a lossless grid: reconstruct() equals the source bit for bit
};

/// Called now and then during quantize() with the elements done so far and in total.
using QuantProgress = std::function<void(uint64_t done, uint64_t total)>;

/// Quantizes `values` (C order, `shape`) with `spec`. Deterministic. Throws an input Error
/// (naming `name`) for NaN or infinite values in an integer scheme, or for scales that do not
/// fit the scheme's scale type. `progress` (if set) hears of the integer schemes' scale search,
/// which is what takes time on a large tensor. The search runs on up to `threads` threads
/// (0 = every core); the result is the same for any count.
QuantizedTensor quantize(const std::string &name, const float *values,
                         const std::vector<uint64_t> &shape, const SchemeSpec &spec,
                         const QuantProgress &progress = {}, unsigned threads = 1);

/// The values the stored data stands for: exactly what the runtime's spk_dequantize returns.
std::vector<float> reconstruct(const QuantizedTensor &q, const std::vector<uint64_t> &shape);

/// reconstruct() of a tensor that apply_quant_plan quantized: its parameters from `quant`, its
/// levels from the tensor's own bytes (where the pass left them, outside `quant->data`).
std::vector<float> reconstruct(const Tensor &tensor);

}  // namespace statepack
