// SPDX-License-Identifier: Apache-2.0
// The group of Ed25519: the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 over GF(2^255 - 19)
// (RFC 8032 5.1), in extended coordinates (X : Y : Z : T) with x = X/Z, y = Y/Z, x y = T/Z
// (Hisil, Wong, Carter, Dawson 2008). Variable time: only public values pass through here.
#pragma once

#include <cstdint>

#include "field25519.hpp"

namespace statepack {
namespace crypto {

struct EdPoint {
  Fe x, y, z, t;
};

/// Decodes a point (RFC 8032 5.1.3): false if y is not canonical (y >= p), if no x exists for
/// y, or if x = 0 with the sign bit set.
bool ed_decode(EdPoint *out, const uint8_t in[32]);
/// The 32-byte encoding of p: y canonical, the sign of x in bit 255.
void ed_encode(uint8_t out[32], const EdPoint *p);
/// -p.
void ed_negate(EdPoint *p);
/// [a]B + [b]P, B the base point of RFC 8032, a and b 256-bit little-endian scalars.
void ed_double_scalar_mul_base(EdPoint *out, const uint8_t a[32], const uint8_t b[32],
                               const EdPoint *p);
/// True if the 255 low bits of `in` are the y coordinate of a point of order 1, 2, 4 or 8
/// (0, 1, p - 1 and the two y of the points of order 8) or a non-canonical form of one
/// (p, p + 1): the encodings libsodium 1.0.18 refuses as small-order, sign bit ignored.
bool ed_encodes_small_order(const uint8_t in[32]);
/// True if the 255 low bits of `in` are below p.
bool ed_y_is_canonical(const uint8_t in[32]);

}  // namespace crypto
}  // namespace statepack
