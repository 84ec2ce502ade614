// SPDX-License-Identifier: Apache-2.0
// The packer's byte-grouping filter: the exponent bytes of floats end up side by side, where
// an entropy coder can exploit how few exponents a tensor uses. Inverse: runtime/zstd.
//
// Grouping is on the packer's critical path (every compressed byte goes through it), so 2- and
// 4-byte elements take an SSE2 path on x86-64 (16 elements per step: shift out byte k of each
// element, narrow with saturating packs that cannot saturate on values below 256); the scalar
// loop loads each element as one integer and writes through per-stream pointers.
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "statepack/tools/codec/byte_group_filter.hpp"

namespace statepack {
namespace {

template <typename U>
U load_le(const uint8_t *p) {
  U x;
  std::memcpy(&x, p, sizeof x);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  if constexpr (sizeof x == 2) x = __builtin_bswap16(x);
  if constexpr (sizeof x == 4) x = __builtin_bswap32(x);
  if constexpr (sizeof x == 8) x = __builtin_bswap64(x);
#endif
  return x;
}

template <uint32_t W, bool Rotate>
void group_scalar(const uint8_t *in, size_t first, size_t count, uint8_t *out) {
  using U = std::conditional_t<W == 2, uint16_t, std::conditional_t<W == 4, uint32_t, uint64_t>>;
  uint8_t *streams[W];
  for (uint32_t k = 0; k < W; ++k) streams[k] = out + k * count;
  for (size_t i = first; i < count; ++i) {
    U x = load_le<U>(in + i * W);
    if (Rotate) x = static_cast<U>(static_cast<U>(x << 1) | (x >> (8 * W - 1)));
    for (uint32_t k = 0; k < W; ++k) streams[k][i] = static_cast<uint8_t>(x >> (8 * k));
  }
}

#if defined(__SSE2__)
__m128i load16(const uint8_t *p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
}

void store16(uint8_t *p, __m128i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i *>(p), v);
}

// Groups the first count - count % 16 elements; returns how many it did.
template <bool Rotate>
size_t group4_sse2(const uint8_t *in, size_t count, uint8_t *out) {
  const __m128i low_byte = _mm_set1_epi32(0xFF);
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    __m128i v[4];
    for (int j = 0; j < 4; ++j) {
      v[j] = load16(in + 4 * i + 16 * j);
      if (Rotate) v[j] = _mm_or_si128(_mm_slli_epi32(v[j], 1), _mm_srli_epi32(v[j], 31));
    }
    for (int k = 0; k < 4; ++k) {
      const __m128i shift = _mm_cvtsi32_si128(8 * k);
      __m128i b[4];
      for (int j = 0; j < 4; ++j) b[j] = _mm_and_si128(_mm_srl_epi32(v[j], shift), low_byte);
      const __m128i lo = _mm_packs_epi32(b[0], b[1]), hi = _mm_packs_epi32(b[2], b[3]);
      store16(out + k * count + i, _mm_packus_epi16(lo, hi));
    }
  }
  return i;
}

template <bool Rotate>
size_t group2_sse2(const uint8_t *in, size_t count, uint8_t *out) {
  const __m128i low_byte = _mm_set1_epi16(0xFF);
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    __m128i v[2];
    for (int j = 0; j < 2; ++j) {
      v[j] = load16(in + 2 * i + 16 * j);
      if (Rotate) v[j] = _mm_or_si128(_mm_slli_epi16(v[j], 1), _mm_srli_epi16(v[j], 15));
    }
    store16(out + i,
            _mm_packus_epi16(_mm_and_si128(v[0], low_byte), _mm_and_si128(v[1], low_byte)));
    store16(out + count + i, _mm_packus_epi16(_mm_srli_epi16(v[0], 8), _mm_srli_epi16(v[1], 8)));
  }
  return i;
}
#endif

template <uint32_t W, bool Rotate>
void group(const uint8_t *in, size_t count, uint8_t *out) {
  size_t done = 0;
#if defined(__SSE2__)
  if constexpr (W == 4) done = group4_sse2<Rotate>(in, count, out);
  if constexpr (W == 2) done = group2_sse2<Rotate>(in, count, out);
#endif
  group_scalar<W, Rotate>(in, done, count, out);
}

}  // namespace

void byte_group(const uint8_t *in, size_t count, uint32_t width, bool rotate, uint8_t *out) {
  switch (width) {
    case 2:
      rotate ? group<2, true>(in, count, out) : group<2, false>(in, count, out);
      break;
    case 4:
      rotate ? group<4, true>(in, count, out) : group<4, false>(in, count, out);
      break;
    case 8:
      rotate ? group<8, true>(in, count, out) : group<8, false>(in, count, out);
      break;
    default:
      break;
  }
}

}  // namespace statepack
