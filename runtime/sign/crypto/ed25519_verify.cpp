// SPDX-License-Identifier: Apache-2.0
// Ed25519 signature verification (RFC 8032 5.1.7) with the policy stated in spk_crypto.hpp and
// docs/ed25519-policy.md: cofactorless, canonical S, canonical and decodable A, no small-order A
// or R; the same decisions as libsodium 1.0.18.
#include <cstring>

#include "edwards25519.hpp"
#include "scalar25519.hpp"
#include "spk_crypto.hpp"

namespace statepack {
namespace crypto {
namespace {

// k = SHA-512(R || A || M) mod L. Its own function so that the hash context's frame is gone
// before the point arithmetic's frames are stacked.
__attribute__((noinline)) void challenge(uint8_t k[32], const uint8_t r[32],
                                         const uint8_t public_key[32], const uint8_t *message,
                                         size_t message_size) {
  Sha512 hash;
  sha512_init(&hash);
  sha512_update(&hash, r, 32);
  sha512_update(&hash, public_key, 32);
  sha512_update(&hash, message, message_size);
  uint8_t digest[64];
  sha512_final(&hash, digest);
  scalar_reduce_512(k, digest);
}

}  // namespace

bool ed25519_verify(const uint8_t signature[64], const uint8_t *message, size_t message_size,
                    const uint8_t public_key[32]) {
  const uint8_t *r = signature;
  const uint8_t *s = signature + 32;
  if (!scalar_is_canonical(s)) return false;
  if (ed_encodes_small_order(r) || ed_encodes_small_order(public_key)) return false;
  EdPoint a;
  if (!ed_decode(&a, public_key)) return false;  // also refuses a non-canonical A
  uint8_t k[32];
  challenge(k, r, public_key, message, message_size);
  // R' = [S]B - [k]A must encode to the R of the signature.
  ed_negate(&a);
  EdPoint expected;
  ed_double_scalar_mul_base(&expected, s, k, &a);
  uint8_t encoded[32];
  ed_encode(encoded, &expected);
  return std::memcmp(encoded, r, 32) == 0;
}

}  // namespace crypto
}  // namespace statepack
