// Conversions between f32 and the narrow float formats: f16 and bf16 encoding with round to
// nearest even (the cast schemes and every F16 scale go through here), and decoding of the
// floating dtypes a checkpoint may hold into f32 for quantization.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>

#include "statepack/tools/dtype.hpp"
#include "statepack/tools/error.hpp"
#include "statepack/tools/quantize.hpp"

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

// Decodes an OCP 8-bit float: E4M3FN (bias 7, no infinities, S.1111.111 is NaN) or E5M2
// (bias 15, IEEE-style infinities and NaNs). Every value is exact in f32.
float f8_to_f32(uint8_t bits, bool e4m3) {
  const int mantissa_bits = e4m3 ? 3 : 2;
  const int exponent_bits = e4m3 ? 4 : 5;
  const int bias = e4m3 ? 7 : 15;
  const uint32_t exponent_max = (1u << exponent_bits) - 1u;
  const uint32_t mantissa_mask = (1u << mantissa_bits) - 1u;
  const uint32_t sign = static_cast<uint32_t>(bits >> 7) << 31;
  const uint32_t exponent = (bits >> mantissa_bits) & exponent_max;
  const uint32_t mantissa = bits & mantissa_mask;
  if (e4m3 && exponent == exponent_max && mantissa == mantissa_mask) {
    return float_of(sign | 0x7FC00000u);
  }
  if (!e4m3 && exponent == exponent_max) {
    // Infinity, or NaN with its payload kept, as f16_to_f32 and the runtime widen.
    return float_of(sign | 0x7F800000u | (mantissa << (23 - mantissa_bits)));
  }
  if (exponent == 0) {
    // Subnormal: mantissa * 2^(1 - bias - mantissa_bits), exact.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), 1 - bias - mantissa_bits);
    return sign != 0 ? -magnitude : magnitude;
  }
  const uint32_t f32_exponent = exponent + 127u - static_cast<uint32_t>(bias);
  return float_of(sign | (f32_exponent << 23) | (mantissa << (23 - mantissa_bits)));
}

// Little-endian loads, byte by byte, so a big-endian host reads the same values.
uint64_t load_le(const uint8_t *p, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
  return value;
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
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1Fu;
  const uint32_t mantissa = bits & 0x03FFu;
  if (exponent == 0x1Fu) return float_of(sign | 0x7F800000u | (mantissa << 13));
  if (exponent == 0) {
    // Subnormal (or zero): mantissa * 2^-24, exact in f32.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  return float_of(sign | ((exponent + 112u) << 23) | (mantissa << 13));
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
