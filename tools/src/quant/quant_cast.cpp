// SPDX-License-Identifier: Apache-2.0
// The cast schemes: f16 and bf16 (round to nearest even; NaN and infinities carried through,
// finite values beyond the range become infinities and are counted), and "keep", which stores
// the f32 values unchanged.
#include <cmath>
#include <cstring>

#include "quant_internal.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack::quant {
namespace {

float bf16_to_f32(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

}  // namespace

QuantizedTensor quantize_cast(const float *values, uint64_t count, const SchemeSpec &spec) {
  QuantizedTensor out;
  out.spec = SchemeSpec{spec.scheme, 0};
  if (spec.scheme == QuantScheme::kNone) {
    out.dtype = DType::kF32;
    out.data.reserve(count * 4);
    for (uint64_t i = 0; i < count; ++i) append_f32(out.data, values[i]);
    return out;
  }
  const bool half = spec.scheme == QuantScheme::kF16Cast;
  out.dtype = half ? DType::kF16 : DType::kBF16;
  out.data.resize(count * 2);
  for (uint64_t i = 0; i < count; ++i) {
    const uint16_t bits = half ? f32_to_f16(values[i]) : f32_to_bf16(values[i]);
    out.data[2 * i] = static_cast<uint8_t>(bits);
    out.data[2 * i + 1] = static_cast<uint8_t>(bits >> 8);
    // The exponent field all ones with a zero mantissa is infinity in both formats.
    const bool infinite = (bits & 0x7FFFu) == (half ? 0x7C00u : 0x7F80u);
    if (infinite && std::isfinite(values[i])) ++out.overflow_count;
  }
  return out;
}

std::vector<float> reconstruct_cast(const QuantizedTensor &q, uint64_t count) {
  const DType expected = q.spec.scheme == QuantScheme::kNone      ? DType::kF32
                         : q.spec.scheme == QuantScheme::kF16Cast ? DType::kF16
                                                                  : DType::kBF16;
  const uint64_t width = expected == DType::kF32 ? 4 : 2;
  if (q.dtype != expected || q.data.size() != count * width || !q.scales.empty() ||
      !q.zero_points.empty()) {
    fail_inconsistent(q, "data does not hold one " + std::string(dtype_name(expected)) +
                             " per element, with no parameters");
  }
  std::vector<float> out(count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t *p = q.data.data() + width * i;
    if (width == 4) {
      out[i] = load_f32(p);
    } else {
      const auto bits = static_cast<uint16_t>(p[0] | (p[1] << 8));
      out[i] = expected == DType::kF16 ? f16_to_f32(bits) : bf16_to_f32(bits);
    }
  }
  return out;
}

}  // namespace statepack::quant
