// SPDX-License-Identifier: Apache-2.0
// Arithmetic modulo p = 2^255 - 19, the field of Curve25519/Ed25519, for 32-bit cores: ten signed
// 32-bit limbs of alternately 26 and 25 bits (radix 2^25.5), multiplied into 64-bit sums (one
// SMLAL each on a Cortex-M4). Every operation returns limbs below 2^26 in magnitude, which keeps
// the sums of a product below 2^60; values are reduced to 0 <= v < p only when encoded.
#pragma once

#include <cstdint>

namespace statepack {
namespace crypto {

/// A field element: v[0] + v[1] 2^26 + v[2] 2^51 + ... + v[9] 2^230 (limb i at bit ceil(25.5 i)).
struct Fe {
  int32_t v[10];
};

/// The field element of the 255 low bits of `in` (little-endian; bit 255 is ignored). The value
/// may be p or more: callers that need a canonical input check the bytes first.
void fe_from_bytes(Fe *out, const uint8_t in[32]);
/// The canonical encoding of `f`: 0 <= value < p, little-endian, bit 255 clear.
void fe_to_bytes(uint8_t out[32], const Fe *f);

void fe_add(Fe *out, const Fe *f, const Fe *g);
void fe_sub(Fe *out, const Fe *f, const Fe *g);
void fe_neg(Fe *out, const Fe *f);
void fe_mul(Fe *out, const Fe *f, const Fe *g);
void fe_sq(Fe *out, const Fe *f);
/// f^(p-2) = 1/f (0 for f = 0).
void fe_invert(Fe *out, const Fe *f);
/// f^((p-5)/8), the exponentiation inside a square root (RFC 8032 5.1.3).
void fe_pow_p58(Fe *out, const Fe *f);

/// True if f = 0 (mod p).
bool fe_is_zero(const Fe *f);
/// True if the canonical value of f is odd: the "negative" x whose sign an encoding stores.
bool fe_is_negative(const Fe *f);

}  // namespace crypto
}  // namespace statepack
