// SPDX-License-Identifier: Apache-2.0
// Scalars modulo L (see scalar25519.hpp). Bit-serial reduction: 512 shift-and-subtract steps on
// eight 32-bit words, a few tens of thousands of cycles, small against a point multiplication,
// and a fraction of the code of a Barrett reduction.
#include "scalar25519.hpp"

namespace statepack {
namespace crypto {
namespace {

// L, little-endian, in 32-bit words.
constexpr uint32_t kOrderWords[8] = {0x5cf5d3edU, 0x5812631aU, 0xa2f79cd6U, 0x14def9deU,
                                     0x00000000U, 0x00000000U, 0x00000000U, 0x10000000U};
// L, little-endian bytes.
constexpr uint8_t kOrderBytes[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

}  // namespace

bool scalar_is_canonical(const uint8_t s[32]) {
  for (int i = 31; i >= 0; --i) {
    if (s[i] != kOrderBytes[i]) return s[i] < kOrderBytes[i];
  }
  return false;  // s = L
}

void scalar_reduce_512(uint8_t out[32], const uint8_t in[64]) {
  // r < L before each step, so 2 r + 1 < 2 L < 2^254 fits, and one subtraction restores r < L.
  uint32_t r[8] = {};
  for (int i = 511; i >= 0; --i) {
    uint32_t carry = (in[i >> 3] >> (i & 7)) & 1U;
    for (int w = 0; w < 8; ++w) {
      const uint32_t next = r[w] >> 31;
      r[w] = (r[w] << 1) | carry;
      carry = next;
    }
    uint32_t diff[8];
    uint32_t borrow = 0;
    for (int w = 0; w < 8; ++w) {
      const uint64_t d = uint64_t{r[w]} - kOrderWords[w] - borrow;
      diff[w] = static_cast<uint32_t>(d);
      borrow = static_cast<uint32_t>(d >> 63);
    }
    if (borrow == 0) {
      for (int w = 0; w < 8; ++w) r[w] = diff[w];
    }
  }
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(r[i >> 2] >> (8 * (i & 3)));
}

}  // namespace crypto
}  // namespace statepack
