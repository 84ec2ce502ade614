// SPDX-License-Identifier: Apache-2.0
// Scalars of Ed25519: integers modulo the group order L = 2^252 +
// 27742317777372353535851937790883648493.
#pragma once

#include <cstdint>

namespace statepack {
namespace crypto {

/// True if the little-endian 256-bit `s` is below L (RFC 8032 5.1.7: a canonical S).
bool scalar_is_canonical(const uint8_t s[32]);
/// out = the little-endian 512-bit `in` mod L (k = SHA-512(R || A || M) mod L).
void scalar_reduce_512(uint8_t out[32], const uint8_t in[64]);

}  // namespace crypto
}  // namespace statepack
