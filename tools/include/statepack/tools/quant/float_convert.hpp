// SPDX-License-Identifier: Apache-2.0
// Conversions between f32 and the narrow float formats: f16 and bf16 encoding with round to
// nearest even (the cast schemes and every F16 scale), and decoding of the floating dtypes a
// checkpoint may hold into f32 for quantization.
#pragma once

#include <cstdint>
#include <vector>

#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// A floating tensor's values as f32 (F32, F64, F16, BF16 and the F8 types).
std::vector<float> to_f32(const Tensor &tensor);

/// IEEE half from float, round to nearest even (NaN stays NaN, overflow gives infinity).
uint16_t f32_to_f16(float value);
/// bfloat16 from float, round to nearest even.
uint16_t f32_to_bf16(float value);
/// Exact widening of a half to float.
float f16_to_f32(uint16_t bits);

}  // namespace statepack
