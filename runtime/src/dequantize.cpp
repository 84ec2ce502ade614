// SPDX-License-Identifier: Apache-2.0
// Decoding stored elements to f32 in the caller's buffer. Small floats are decoded from their
// bit fields (no <cmath>, no FPU format assumptions beyond IEEE-754 binary32 for the output).
#include <cstring>

#include "blob_internal.hpp"
#include "statepack/minifloat.h"

namespace statepack {
namespace rt {
namespace {

float from_bits(uint32_t bits) {
  return spk_f32_from_bits(bits);
}

float pow2(int k) {
  return spk_pow2(k);
}

float decode_minifloat(uint32_t bits, int exponent_bits, int mantissa_bits,
                       spk_minifloat_specials specials) {
  return spk_minifloat_to_f32(bits, exponent_bits, mantissa_bits, specials);
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

// An integer parameter (zero point) of any integer dtype.
bool load_integer(spk_dtype dtype, const uint8_t *p, uint64_t i, int32_t *out) {
  switch (dtype) {
    case SPK_DTYPE_I8:
      *out = load<int8_t>(p + i);
      return true;
    case SPK_DTYPE_U8:
      *out = p[i];
      return true;
    case SPK_DTYPE_I16:
      *out = load<int16_t>(p + 2 * i);
      return true;
    case SPK_DTYPE_U16:
      *out = load<uint16_t>(p + 2 * i);
      return true;
    case SPK_DTYPE_I32:
      *out = load<int32_t>(p + 4 * i);
      return true;
    default:
      return false;
  }
}

float element(spk_dtype dtype, const uint8_t *d, uint64_t i) {
  switch (dtype) {
    case SPK_DTYPE_F32:
      return load<float>(d + 4 * i);
    case SPK_DTYPE_F64:
      return static_cast<float>(load<double>(d + 8 * i));
    case SPK_DTYPE_F16:
      return decode_minifloat(load<uint16_t>(d + 2 * i), 5, 10, SPK_MINIFLOAT_IEEE);
    case SPK_DTYPE_BF16:
      return from_bits(static_cast<uint32_t>(load<uint16_t>(d + 2 * i)) << 16);
    case SPK_DTYPE_F8_E4M3:
      return decode_minifloat(d[i], 4, 3, SPK_MINIFLOAT_ALL_ONES_NAN);
    case SPK_DTYPE_F8_E5M2:
      return decode_minifloat(d[i], 5, 2, SPK_MINIFLOAT_IEEE);
    case SPK_DTYPE_F8_E8M0:
      // Exponent only: 2^(e - 127); 0xFF is NaN.
      return d[i] == 0xFF ? from_bits(0x7FC00000u) : pow2(static_cast<int>(d[i]) - 127);
    case SPK_DTYPE_F6_E2M3:
      return decode_minifloat(packed_field(d, i, 6), 2, 3, SPK_MINIFLOAT_FINITE);
    case SPK_DTYPE_F6_E3M2:
      return decode_minifloat(packed_field(d, i, 6), 3, 2, SPK_MINIFLOAT_FINITE);
    case SPK_DTYPE_F4_E2M1:
      return decode_minifloat(packed_field(d, i, 4), 2, 1, SPK_MINIFLOAT_FINITE);
    case SPK_DTYPE_I64:
      return static_cast<float>(load<int64_t>(d + 8 * i));
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
    default:
      break;
  }
  // I8, U8, I16, U16 and I32 share the zero points' reader (less code on the device); C64
  // and unknown types never reach here (spk_dequantize refuses them) and read as 0.
  int32_t value = 0;
  return load_integer(dtype, d, i, &value) ? static_cast<float>(value) : 0.0f;
}

// Sets of schemes as bit masks: a shift and a test instead of a compare per scheme.
constexpr uint32_t scheme_bit(spk_quant_scheme s) {
  return 1u << s;
}
// (A caller-built view may hold any scheme byte: only the low 5 bits pick the bit, so the shift
// is defined; an unknown scheme that aliases a group-wise one is decoded as one, every index
// still bounds-checked.)
bool in_set(uint32_t scheme, uint32_t set) {
  return ((set >> (scheme & 31u)) & 1u) != 0;
}

bool plain_values(const spk_tensor *t) {
  return t->quant.scheme == SPK_QUANT_NONE || t->quant.scheme == SPK_QUANT_F16_CAST ||
         t->quant.scheme == SPK_QUANT_BF16_CAST;
}

bool is_group_scheme(spk_quant_scheme s) {
  return in_set(s, scheme_bit(SPK_QUANT_INT8_GROUP) | scheme_bit(SPK_QUANT_INT4_GROUP) |
                       scheme_bit(SPK_QUANT_INT4_GROUP_ASYM) | scheme_bit(SPK_QUANT_INT4_K));
}

// Int4K's grid (FORMAT.md): the value of each 4-bit index, in units of the element's scale.
constexpr int8_t kInt4KGrid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                   1,    13,   25,  38,  53,  69,  89,  113};

// Which parameter element i uses, and the first index past the run that shares it. Every
// layout is rows cut into groups: group-wise schemes along rows, per channel one group a row
// (axis 0), per tensor one group. One path for all three is the smallest code.
uint64_t param_index(const spk_tensor *t, uint64_t i, uint64_t *run_end) {
  const spk_quant &q = t->quant;
  uint64_t rows = 1, group = 0;
  if (is_group_scheme(static_cast<spk_quant_scheme>(q.scheme))) {
    if (t->rank >= 2) rows = t->shape[0];
    group = q.group_size;
  } else if (q.axis == 0 && t->rank > 0 && t->shape[0] != 0) {
    rows = t->shape[0];
  }
  const uint64_t last = t->element_count / rows;  // row length; callers ensured nonzero
  if (group == 0) group = last;
  const uint64_t row = i / last, column = i - row * last, g = column / group;
  const uint64_t group_end = (g + 1) * group;
  *run_end = row * last + (group_end < last ? group_end : last);
  return row * ((last - 1) / group + 1) + g;
}

// Checks what a caller-built view could get wrong, so decoding never reads outside it.
spk_status check_quant_view(const spk_tensor *t) {
  const spk_quant &q = t->quant;
  // An empty tensor decodes to nothing, whatever parameters it has (a shape like [0, 3] has
  // no rows and so no scales).
  if (t->element_count == 0) return SPK_OK;
  if (q.scales == nullptr || q.scale_count == 0) return SPK_ERR_INVALID_ARGUMENT;
  if (q.scale_dtype != SPK_DTYPE_F32 && q.scale_dtype != SPK_DTYPE_F16) return SPK_ERR_UNSUPPORTED;
  // A group-wise view with group size 0 or rank 0 needs no check: param_index reads them as one
  // group a row and one row, and every index it gives is checked against the counts.
  // Int4K counts its sub-block scales as one 14-byte record per F16 scale (zero-point segment),
  // so scale and zero-point counts are equal here too.
  const bool asymmetric =
      in_set(q.scheme, scheme_bit(SPK_QUANT_INT8_ASYM) | scheme_bit(SPK_QUANT_INT4_GROUP_ASYM) |
                           scheme_bit(SPK_QUANT_INT4_K));
  if (asymmetric && (q.zero_points == nullptr || q.zero_point_count != q.scale_count)) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  switch (t->dtype) {
    case SPK_DTYPE_I8:
    case SPK_DTYPE_U8:
    case SPK_DTYPE_I4:
    case SPK_DTYPE_U4:
      return SPK_OK;
    default:
      return SPK_ERR_INVALID_ARGUMENT;
  }
}

float scale_at(const spk_quant &q, uint64_t index) {
  const auto *p = static_cast<const uint8_t *>(q.scales);
  return q.scale_dtype == SPK_DTYPE_F32
             ? load<float>(p + 4 * index)
             : decode_minifloat(load<uint16_t>(p + 2 * index), 5, 10, SPK_MINIFLOAT_IEEE);
}

// Decodes elements [begin, end) of a quantized tensor: one scale (and zero point) per run.
// `data` holds the stored elements from element `base` on (t->data with base 0, or a decoded
// chunk handed in by a codec add-on through spk_dequantize_from).
spk_status decode_quantized(const spk_tensor *t, const uint8_t *data, uint64_t base, uint64_t begin,
                            uint64_t end, float *out) {
  const spk_status status = check_quant_view(t);
  if (status != SPK_OK || begin == end) return status;
  const spk_quant &q = t->quant;
  const auto *zero_points = static_cast<const uint8_t *>(q.zero_points);
  const bool grid = q.scheme == SPK_QUANT_INT4_K;
  const bool palette = q.scheme == SPK_QUANT_PALETTE;
  uint64_t i = begin;
  while (i < end) {
    uint64_t run_end = 0;
    const uint64_t p = param_index(t, i, &run_end);
    // Int4K: sub-block p's scale is F16 scale p / 16 times 7-bit scale p, an exact product.
    // Scale p / 16 exists, so does its 14-byte record of 16 fields (check_quant_view).
    const uint64_t s = grid ? p / 16 : p;
    if (s >= q.scale_count) return SPK_ERR_INVALID_ARGUMENT;
    float scale = scale_at(q, s);
    int32_t zero = 0;
    if (grid) {
      scale *= static_cast<float>(static_cast<int32_t>(packed_field(zero_points, p, 7) ^ 64u) - 64);
    } else if (zero_points != nullptr &&
               !load_integer(static_cast<spk_dtype>(q.zero_point_dtype), zero_points, p, &zero)) {
      return SPK_ERR_UNSUPPORTED;
    }
    if (run_end > end) run_end = end;
    // Exactly FORMAT.md's formula, one rounded multiply: the stored integer (check_quant_view
    // allows I8, U8, I4 and U4) and the zero point (I8 or U8 from the packer) are exact in
    // f32, and so is their difference. element() reads the stored integers as the plain
    // dtypes do, so there is one reader of them.
    const float z = static_cast<float>(zero);
    for (; i < run_end; ++i) {
      float level = element(static_cast<spk_dtype>(t->dtype), data, i - base);
      if (grid) level = kInt4KGrid[static_cast<int32_t>(level) & 15];
      if (palette) {
        // The value is the palette entry itself (no arithmetic: -0.0 and infinities as stored).
        // A palette's dtype is U8 or U4 at open; a caller-built view may be I8: negative
        // levels wrap past any count, so the one check covers both.
        const auto k = static_cast<uint32_t>(static_cast<int32_t>(level));
        if (k >= q.scale_count) return SPK_ERR_INVALID_ARGUMENT;
        *out++ = scale_at(q, k);
        continue;
      }
      *out++ = (level - z) * scale;
    }
  }
  return SPK_OK;
}

// Decodes elements [begin, end) into out, whatever the scheme.
spk_status decode_elements(const spk_tensor *t, uint64_t begin, uint64_t end, float *out) {
  if (t->codec != SPK_CODEC_RAW) return SPK_ERR_UNSUPPORTED;
  // A caller-built spk_tensor must not make us read past its own stored bytes (an unknown
  // dtype has no byte size: invalid too).
  uint64_t needed = 0;
  if (!dtype_byte_size(static_cast<spk_dtype>(t->dtype), t->element_count, &needed) ||
      needed > t->stored_size || (t->data == nullptr && needed != 0)) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  const auto *data = static_cast<const uint8_t *>(t->data);
  if (!plain_values(t)) return decode_quantized(t, data, 0, begin, end, out);
  if (t->dtype == SPK_DTYPE_C64) return SPK_ERR_UNSUPPORTED;
  for (uint64_t i = begin; i < end; ++i)
    *out++ = element(static_cast<spk_dtype>(t->dtype), data, i);
  return SPK_OK;
}

}  // namespace
}  // namespace rt
}  // namespace statepack

using namespace statepack::rt;

extern "C" spk_status spk_dequantize(const spk_tensor *t, float *out, size_t out_count) {
  if (t == nullptr || (out == nullptr && t->element_count != 0)) return SPK_ERR_INVALID_ARGUMENT;
  if (out_count < t->element_count) {
    // Report "unsupported" before "too small" so a caller learns the real obstacle first.
    if (t->codec != SPK_CODEC_RAW || t->dtype == SPK_DTYPE_C64) return SPK_ERR_UNSUPPORTED;
    return SPK_ERR_BUFFER_TOO_SMALL;
  }
  return decode_elements(t, 0, t->element_count, out);
}

extern "C" spk_status spk_dequantize_rows(const spk_tensor *t, uint64_t first_row,
                                          uint64_t row_count, float *out, size_t out_count) {
  if (t == nullptr || (out == nullptr && row_count != 0)) return SPK_ERR_INVALID_ARGUMENT;
  const uint64_t rows = t->rank == 0 ? 1 : t->shape[0];
  const uint64_t row_size = rows == 0 ? 0 : t->element_count / rows;
  if (first_row > rows || row_count > rows - first_row) return SPK_ERR_OUT_OF_RANGE;
  if (out_count / (row_size == 0 ? 1 : row_size) < row_count) return SPK_ERR_BUFFER_TOO_SMALL;
  return decode_elements(t, first_row * row_size, (first_row + row_count) * row_size, out);
}

extern "C" spk_status spk_dequantize_from(const spk_tensor *t, const void *decoded,
                                          size_t decoded_size, uint64_t first, uint64_t count,
                                          float *out, size_t out_count) {
  if (t == nullptr || (count != 0 && (decoded == nullptr || out == nullptr))) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  const uint32_t bits = spk_dtype_bits(static_cast<spk_dtype>(t->dtype));
  if (bits == 0) return SPK_ERR_INVALID_ARGUMENT;
  if (first > t->element_count || count > t->element_count - first) return SPK_ERR_OUT_OF_RANGE;
  if (out_count < count) return SPK_ERR_BUFFER_TOO_SMALL;
  // Element `first` must start a byte, and `decoded` must hold all `count` elements.
  uint64_t needed = 0;
  if ((first * bits) % 8 != 0 ||
      !dtype_byte_size(static_cast<spk_dtype>(t->dtype), count, &needed) || needed > decoded_size) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  const auto *data = static_cast<const uint8_t *>(decoded);
  if (!plain_values(t)) return decode_quantized(t, data, first, first, first + count, out);
  if (t->dtype == SPK_DTYPE_C64) return SPK_ERR_UNSUPPORTED;
  for (uint64_t i = 0; i < count; ++i) *out++ = element(static_cast<spk_dtype>(t->dtype), data, i);
  return SPK_OK;
}

extern "C" spk_status spk_quant_param(const spk_tensor *t, uint64_t index, float *scale,
                                      int32_t *zero_point) {
  if (t == nullptr || scale == nullptr || zero_point == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  const spk_quant &q = t->quant;
  if (plain_values(t)) return SPK_ERR_INVALID_ARGUMENT;
  if (index >= q.scale_count || q.scales == nullptr) return SPK_ERR_OUT_OF_RANGE;
  if (q.scale_dtype != SPK_DTYPE_F32 && q.scale_dtype != SPK_DTYPE_F16) return SPK_ERR_UNSUPPORTED;
  *scale = scale_at(q, index);
  *zero_point = 0;
  if (q.zero_points != nullptr &&
      !load_integer(static_cast<spk_dtype>(q.zero_point_dtype),
                    static_cast<const uint8_t *>(q.zero_points), index, zero_point)) {
    return SPK_ERR_UNSUPPORTED;
  }
  return SPK_OK;
}
