// Decoding stored elements to f32 in the caller's buffer. Small floats are decoded from their
// bit fields (no <cmath>, no FPU format assumptions beyond IEEE-754 binary32 for the output).
#include <cstring>

#include "blob_internal.hpp"

namespace statepack {
namespace rt {
namespace {

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// 2^k for k in [-149, 127], exact.
float pow2(int k) {
  if (k >= -126) return from_bits(static_cast<uint32_t>(k + 127) << 23);
  return from_bits(1u << (k + 149));
}

// Decodes a sign/exponent/mantissa minifloat. `ieee_specials`: the all-ones exponent means
// Inf/NaN (f16, E5M2); `nan_all_ones`: only the all-ones pattern is NaN (E4M3FN); otherwise the
// format has no specials (E2M3, E3M2, E2M1).
enum class Specials { kNone, kIeee, kAllOnesNan };

float decode_minifloat(uint32_t bits, int exponent_bits, int mantissa_bits, Specials specials) {
  const int bias = (1 << (exponent_bits - 1)) - 1;
  const uint32_t mantissa_mask = (1u << mantissa_bits) - 1u;
  const uint32_t exponent_max = (1u << exponent_bits) - 1u;
  const uint32_t sign = (bits >> (exponent_bits + mantissa_bits)) & 1u;
  const uint32_t exponent = (bits >> mantissa_bits) & exponent_max;
  const uint32_t mantissa = bits & mantissa_mask;
  const uint32_t sign_bit = sign << 31;
  if (specials == Specials::kIeee && exponent == exponent_max) {
    return from_bits(sign_bit | 0x7F800000u | (mantissa != 0 ? 0x00400000u : 0u));
  }
  if (specials == Specials::kAllOnesNan && exponent == exponent_max && mantissa == mantissa_mask) {
    return from_bits(sign_bit | 0x7FC00000u);
  }
  float magnitude;
  if (exponent == 0) {
    magnitude = static_cast<float>(mantissa) * pow2(1 - bias - mantissa_bits);
  } else {
    const uint32_t f32_exponent = exponent - static_cast<uint32_t>(bias) + 127u;
    magnitude = from_bits((f32_exponent << 23) | (mantissa << (23 - mantissa_bits)));
  }
  return sign != 0 ? -magnitude : magnitude;
}

// Reads the i-th `bits`-wide field of a little-endian bit stream (low bits first).
uint32_t packed_field(const uint8_t *data, uint64_t index, uint32_t bits) {
  const uint64_t first_bit = index * bits;
  uint32_t window = data[first_bit / 8];
  // A 6-bit field can straddle two bytes; the stream's size is whole bytes, checked at open.
  if ((first_bit % 8) + bits > 8) window |= static_cast<uint32_t>(data[first_bit / 8 + 1]) << 8;
  return (window >> (first_bit % 8)) & ((1u << bits) - 1u);
}

template <size_t N>
struct UnsignedOf;
template <>
struct UnsignedOf<1> {
  using type = uint8_t;
};
template <>
struct UnsignedOf<2> {
  using type = uint16_t;
};
template <>
struct UnsignedOf<4> {
  using type = uint32_t;
};
template <>
struct UnsignedOf<8> {
  using type = uint64_t;
};

// Little-endian on the wire; assembled byte by byte so big-endian hosts read the same values.
template <typename T>
T load(const uint8_t *p) {
  using U = typename UnsignedOf<sizeof(T)>::type;
  U bits = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    bits = static_cast<U>(bits | (static_cast<U>(p[i]) << (8 * i)));
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

float element(spk_dtype dtype, const uint8_t *d, uint64_t i) {
  switch (dtype) {
    case SPK_DTYPE_F32:
      return load<float>(d + 4 * i);
    case SPK_DTYPE_F64:
      return static_cast<float>(load<double>(d + 8 * i));
    case SPK_DTYPE_F16:
      return decode_minifloat(load<uint16_t>(d + 2 * i), 5, 10, Specials::kIeee);
    case SPK_DTYPE_BF16:
      return from_bits(static_cast<uint32_t>(load<uint16_t>(d + 2 * i)) << 16);
    case SPK_DTYPE_F8_E4M3:
      return decode_minifloat(d[i], 4, 3, Specials::kAllOnesNan);
    case SPK_DTYPE_F8_E5M2:
      return decode_minifloat(d[i], 5, 2, Specials::kIeee);
    case SPK_DTYPE_F8_E8M0:
      // Exponent only: 2^(e - 127); 0xFF is NaN.
      return d[i] == 0xFF ? from_bits(0x7FC00000u) : pow2(static_cast<int>(d[i]) - 127);
    case SPK_DTYPE_F6_E2M3:
      return decode_minifloat(packed_field(d, i, 6), 2, 3, Specials::kNone);
    case SPK_DTYPE_F6_E3M2:
      return decode_minifloat(packed_field(d, i, 6), 3, 2, Specials::kNone);
    case SPK_DTYPE_F4_E2M1:
      return decode_minifloat(packed_field(d, i, 4), 2, 1, Specials::kNone);
    case SPK_DTYPE_I8:
      return static_cast<float>(load<int8_t>(d + i));
    case SPK_DTYPE_I16:
      return static_cast<float>(load<int16_t>(d + 2 * i));
    case SPK_DTYPE_I32:
      return static_cast<float>(load<int32_t>(d + 4 * i));
    case SPK_DTYPE_I64:
      return static_cast<float>(load<int64_t>(d + 8 * i));
    case SPK_DTYPE_U8:
      return static_cast<float>(d[i]);
    case SPK_DTYPE_U16:
      return static_cast<float>(load<uint16_t>(d + 2 * i));
    case SPK_DTYPE_U32:
      return static_cast<float>(load<uint32_t>(d + 4 * i));
    case SPK_DTYPE_U64:
      return static_cast<float>(load<uint64_t>(d + 8 * i));
    case SPK_DTYPE_BOOL:
      return d[i] != 0 ? 1.0f : 0.0f;
    case SPK_DTYPE_I4: {
      const uint32_t nibble = packed_field(d, i, 4);
      return static_cast<float>(static_cast<int32_t>(nibble ^ 8u) - 8);
    }
    case SPK_DTYPE_U4:
      return static_cast<float>(packed_field(d, i, 4));
    case SPK_DTYPE_C64:
    case SPK_DTYPE_UNKNOWN:
      break;
  }
  return 0.0f;
}

bool decodable_as_plain_values(const spk_tensor *t) {
  if (t->codec != SPK_CODEC_RAW || t->dtype == SPK_DTYPE_C64) return false;
  switch (t->quant.scheme) {
    case SPK_QUANT_NONE:
    case SPK_QUANT_F16_CAST:
    case SPK_QUANT_BF16_CAST:
      return true;
    default:
      return false;
  }
}

}  // namespace
}  // namespace rt
}  // namespace statepack

using namespace statepack::rt;

extern "C" spk_status spk_dequantize(const spk_tensor *t, float *out, size_t out_count) {
  if (t == nullptr || (out == nullptr && t->element_count != 0)) return SPK_ERR_INVALID_ARGUMENT;
  if (spk_dtype_bits(t->dtype) == 0) return SPK_ERR_INVALID_ARGUMENT;
  if (!decodable_as_plain_values(t)) return SPK_ERR_UNSUPPORTED;
  if (out_count < t->element_count) return SPK_ERR_BUFFER_TOO_SMALL;
  // A caller-built spk_tensor must not make us read past its own stored bytes.
  uint64_t needed = 0;
  if (!dtype_byte_size(t->dtype, t->element_count, &needed) || needed > t->stored_size) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  const auto *data = static_cast<const uint8_t *>(t->data);
  for (uint64_t i = 0; i < t->element_count; ++i) out[i] = element(t->dtype, data, i);
  return SPK_OK;
}
