// SPDX-License-Identifier: Apache-2.0
// Byte ungrouping, one loop per element width so the compiler keeps the element in a register.
// The portable loop assembles elements byte by byte, so the result is the same on big-endian
// hosts. On x86-64, 2- and 4-byte elements take an SSE2 path (x86 is little-endian): byte
// interleaves rebuild 16 elements per step, which roughly doubles decode speed for F32/BF16.
#include "byte_ungroup.hpp"

#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace statepack {
namespace zstd_addon {
namespace {

template <uint32_t W, bool Rotate>
void ungroup_scalar(const uint8_t *streams, size_t first, size_t count, uint8_t *out) {
  using U =
      typename std::conditional<W == 2, uint16_t,
                                typename std::conditional<W == 4, uint32_t, uint64_t>::type>::type;
  const uint8_t *stream[W];
  for (uint32_t k = 0; k < W; ++k) stream[k] = streams + k * count;
  for (size_t i = first; i < count; ++i) {
    U x = 0;
    for (uint32_t k = 0; k < W; ++k)
      x = static_cast<U>(x | static_cast<U>(stream[k][i]) << (8 * k));
    if (Rotate) x = static_cast<U>((x >> 1) | static_cast<U>(x << (8 * W - 1)));
    for (uint32_t k = 0; k < W; ++k) out[i * W + k] = static_cast<uint8_t>(x >> (8 * k));
  }
}

#if defined(__SSE2__)
__m128i load16(const uint8_t *p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
}

void store16(uint8_t *p, __m128i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i *>(p), v);
}

__m128i rotate_right32(__m128i v) {
  return _mm_or_si128(_mm_srli_epi32(v, 1), _mm_slli_epi32(v, 31));
}

// Ungroups the first count - count % 16 elements; returns how many it did.
template <bool Rotate>
size_t ungroup4_sse2(const uint8_t *streams, size_t count, uint8_t *out) {
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m128i s0 = load16(streams + i), s1 = load16(streams + count + i);
    const __m128i s2 = load16(streams + 2 * count + i), s3 = load16(streams + 3 * count + i);
    const __m128i b01[2] = {_mm_unpacklo_epi8(s0, s1), _mm_unpackhi_epi8(s0, s1)};
    const __m128i b23[2] = {_mm_unpacklo_epi8(s2, s3), _mm_unpackhi_epi8(s2, s3)};
    for (int h = 0; h < 2; ++h) {
      __m128i lo = _mm_unpacklo_epi16(b01[h], b23[h]), hi = _mm_unpackhi_epi16(b01[h], b23[h]);
      if (Rotate) {
        lo = rotate_right32(lo);
        hi = rotate_right32(hi);
      }
      store16(out + 4 * i + 32 * h, lo);
      store16(out + 4 * i + 32 * h + 16, hi);
    }
  }
  return i;
}

template <bool Rotate>
size_t ungroup2_sse2(const uint8_t *streams, size_t count, uint8_t *out) {
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m128i s0 = load16(streams + i), s1 = load16(streams + count + i);
    __m128i lo = _mm_unpacklo_epi8(s0, s1), hi = _mm_unpackhi_epi8(s0, s1);
    if (Rotate) {
      lo = _mm_or_si128(_mm_srli_epi16(lo, 1), _mm_slli_epi16(lo, 15));
      hi = _mm_or_si128(_mm_srli_epi16(hi, 1), _mm_slli_epi16(hi, 15));
    }
    store16(out + 2 * i, lo);
    store16(out + 2 * i + 16, hi);
  }
  return i;
}
#endif

template <uint32_t W, bool Rotate>
void ungroup(const uint8_t *streams, size_t count, uint8_t *out) {
  size_t done = 0;
#if defined(__SSE2__)
  if (W == 4) done = ungroup4_sse2<Rotate>(streams, count, out);
  if (W == 2) done = ungroup2_sse2<Rotate>(streams, count, out);
#endif
  ungroup_scalar<W, Rotate>(streams, done, count, out);
}

}  // namespace

bool byte_ungroup(const uint8_t *streams, size_t count, uint32_t width, bool rotate, uint8_t *out) {
  switch (width) {
    case 2:
      rotate ? ungroup<2, true>(streams, count, out) : ungroup<2, false>(streams, count, out);
      return true;
    case 4:
      rotate ? ungroup<4, true>(streams, count, out) : ungroup<4, false>(streams, count, out);
      return true;
    case 8:
      rotate ? ungroup<8, true>(streams, count, out) : ungroup<8, false>(streams, count, out);
      return true;
    default:
      return false;
  }
}

}  // namespace zstd_addon
}  // namespace statepack
