// SPDX-License-Identifier: Apache-2.0
// Conversions between f32 and the narrow float formats: f16 and bf16 encoding with round to
// nearest even (the cast schemes and every F16 scale go through here), and decoding of the
// floating dtypes a checkpoint may hold into f32 for quantization.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>

#include "statepack/minifloat.h"
#include "statepack/tools/core/dtype.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/quant/float_convert.hpp"

namespace statepack {
namespace {

uint32_t bits_of(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float float_of(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// An OCP 8-bit float, E4M3FN or E5M2, decoded exactly (the runtime's decoder).
float f8_to_f32(uint8_t bits, bool e4m3) {
  return e4m3 ? spk_minifloat_to_f32(bits, 4, 3, SPK_MINIFLOAT_ALL_ONES_NAN)
              : spk_minifloat_to_f32(bits, 5, 2, SPK_MINIFLOAT_IEEE);
}

// double to float, round to nearest even, with magnitudes from FLT_MAX + half an ulp
// (2^128 - 2^103) up becoming infinities. Spelled out because C++ leaves the out-of-range
// conversion undefined.
float narrow_to_f32(double value) {
  const double overflow = std::ldexp(1.0, 128) - std::ldexp(1.0, 103);
  if (value >= overflow) return HUGE_VALF;
  if (value <= -overflow) return -HUGE_VALF;
  if (std::fabs(value) > static_cast<double>(FLT_MAX)) return value > 0 ? FLT_MAX : -FLT_MAX;
  return static_cast<float>(value);  // in range (or NaN): the IEEE conversion
}

}  // namespace

uint16_t f32_to_f16(float value) {
  const uint32_t f = bits_of(value);
  const auto sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  const uint32_t magnitude = f & 0x7FFFFFFFu;
  if (magnitude >= 0x7F800000u) {
    if (magnitude == 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u);
    // NaN: keep the top payload bits and force the quiet bit, so it cannot become infinity.
    return static_cast<uint16_t>(sign | 0x7E00u | ((magnitude >> 13) & 0x03FFu));
  }
  // 65520 = 65504 + half an ulp: ties to even go up, to infinity.
  if (magnitude >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);
  if (magnitude < 0x38800000u) {
    // Below 2^-14: an f16 subnormal, counted in units of 2^-24. Up to 2^-25 (a tie with 0,
    // which is even) everything rounds to zero.
    if (magnitude <= 0x33000000u) return sign;
    const uint32_t exponent = magnitude >> 23;  // 102..112
    const uint32_t mantissa = (magnitude & 0x007FFFFFu) | 0x00800000u;
    const uint32_t shift = 126u - exponent;  // 14..24
    uint32_t units = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (units & 1u) != 0)) ++units;
    // units may reach 0x400, which is exactly the smallest normal's encoding.
    return static_cast<uint16_t>(sign | units);
  }
  // Normal: rebias the exponent (127 -> 15) and drop 13 mantissa bits; a carry out of the
  // mantissa correctly bumps the exponent, and the check above keeps it below infinity.
  uint32_t half_bits = (magnitude - 0x38000000u) >> 13;
  const uint32_t rest = magnitude & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (half_bits & 1u) != 0)) ++half_bits;
  return static_cast<uint16_t>(sign | half_bits);
}

uint16_t f32_to_bf16(float value) {
  const uint32_t f = bits_of(value);
  if ((f & 0x7FFFFFFFu) > 0x7F800000u) {
    // NaN: truncating could clear every payload bit and leave infinity; set the quiet bit.
    return static_cast<uint16_t>((f >> 16) | 0x0040u);
  }
  // Round to nearest even on the 16 dropped bits; a carry into the exponent is correct, and the
  // largest finite values round up to infinity as they should.
  const uint32_t rounding = 0x7FFFu + ((f >> 16) & 1u);
  return static_cast<uint16_t>((f + rounding) >> 16);
}

float f16_to_f32(uint16_t bits) {
  return spk_minifloat_to_f32(bits, 5, 10, SPK_MINIFLOAT_IEEE);
}

std::vector<float> to_f32(const Tensor &tensor) {
  const uint64_t count = tensor.element_count();
  const uint32_t bits = dtype_bits(tensor.dtype);
  if (!is_floating(tensor.dtype)) {
    fail_input("tensor \"" + tensor.name + "\"",
               std::string(dtype_name(tensor.dtype)) +
                   " is not a floating-point type that can be quantized");
  }
  const uint64_t bytes_each = bits / 8;
  if ((count != 0 && tensor.data == nullptr) || tensor.size / bytes_each < count) {
    fail_input("tensor \"" + tensor.name + "\"",
               "holds " + std::to_string(tensor.size) + " bytes, fewer than its shape needs");
  }
  std::vector<float> out(count);
  const uint8_t *p = tensor.data;
  for (uint64_t i = 0; i < count; ++i, p += bytes_each) {
    switch (tensor.dtype) {
      case DType::kF32:
        out[i] = float_of(static_cast<uint32_t>(load_le(p, 4)));
        break;
      case DType::kF64: {
        const uint64_t raw = load_le(p, 8);
        double wide;
        std::memcpy(&wide, &raw, sizeof(wide));
        out[i] = narrow_to_f32(wide);
        break;
      }
      case DType::kF16:
        out[i] = f16_to_f32(static_cast<uint16_t>(load_le(p, 2)));
        break;
      case DType::kBF16:
        out[i] = float_of(static_cast<uint32_t>(load_le(p, 2)) << 16);
        break;
      case DType::kF8_E4M3:
        out[i] = f8_to_f32(*p, true);
        break;
      default:  // F8_E5M2
        out[i] = f8_to_f32(*p, false);
        break;
    }
  }
  return out;
}

}  // namespace statepack
