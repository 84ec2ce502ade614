// SPDX-License-Identifier: Apache-2.0
// Point decoding and encoding of the Ed25519 verifier (runtime/sign/crypto/edwards25519.hpp):
// RFC 8032 5.1.3's rules, checked against libsodium's point decoder on random encodings, and the
// canonical-y rule that no signature test can reach (a non-canonical A decodes to a point whose
// discrete logarithm nobody knows, so no valid signature under it can be made to test with).
#include <sodium.h>

#include <doctest/doctest.h>

#include <cstring>

#include "edwards25519.hpp"
#include "sign_crypto/ed25519_cases.hpp"
#include "sign_crypto/hex.hpp"

namespace crypto = statepack::crypto;
using statepack::test::to_hex;

TEST_CASE("ed_decode refuses every y >= p, with either sign bit") {
  for (unsigned above = 0; above < 19; ++above) {
    for (unsigned sign : {0x00U, 0x80U}) {
      uint8_t encoding[32];
      std::memset(encoding, 0xff, 31);
      encoding[0] = static_cast<uint8_t>(0xed + above);  // p + above
      encoding[31] = static_cast<uint8_t>(0x7f | sign);
      CAPTURE(to_hex(encoding, 32));
      CHECK_FALSE(crypto::ed_y_is_canonical(encoding));
      crypto::EdPoint point;
      CHECK_FALSE(crypto::ed_decode(&point, encoding));
    }
  }
  uint8_t p_minus_1[32];
  std::memset(p_minus_1, 0xff, 31);
  p_minus_1[0] = 0xec;
  p_minus_1[31] = 0x7f;
  CHECK(crypto::ed_y_is_canonical(p_minus_1));
}

TEST_CASE("ed_decode refuses x = 0 with the sign bit set") {
  uint8_t one[32] = {1};
  one[31] = 0x80;  // the identity, "negative"
  crypto::EdPoint point;
  CHECK_FALSE(crypto::ed_decode(&point, one));
  uint8_t minus_one[32];
  std::memset(minus_one, 0xff, 31);
  minus_one[0] = 0xec;
  minus_one[31] = 0xff;  // (0, -1), "negative"
  CHECK_FALSE(crypto::ed_decode(&point, minus_one));
  minus_one[31] = 0x7f;
  CHECK(crypto::ed_decode(&point, minus_one));
}

TEST_CASE("ed_decode and ed_encode agree with libsodium on random and small-order encodings") {
  REQUIRE(sodium_init() >= 0);
  const uint8_t identity[32] = {1};
  int decoded = 0;
  for (int i = 0; i < 600; ++i) {
    uint8_t encoding[32];
    if (i < 8) {
      static const unsigned points[] = {0, 1, 2, 4, 5, 6, 7, 8};
      statepack::test::small_order_encoding(points[i], encoding);
    } else {
      // Real public keys, then random canonical y (top byte below 0x7f) with either sign bit;
      // deterministic, from libsodium's seeded generator.
      uint8_t seed[randombytes_SEEDBYTES] = {static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8)};
      uint8_t secret[64];
      if (i < 200) {
        crypto_sign_seed_keypair(encoding, secret, seed);
      } else {
        randombytes_buf_deterministic(encoding, sizeof encoding, seed);
        encoding[31] = static_cast<uint8_t>((encoding[31] % 0x7f) | ((i & 1) << 7));
      }
    }
    CAPTURE(to_hex(encoding, 32));
    // libsodium decodes both points of an addition and refuses what is not on the curve.
    uint8_t expected[32];
    const bool sodium_decodes = crypto_core_ed25519_add(expected, encoding, identity) == 0;
    crypto::EdPoint point;
    const bool ours = crypto::ed_decode(&point, encoding);
    CHECK(ours == sodium_decodes);
    if (ours) {
      ++decoded;
      uint8_t encoded[32];
      crypto::ed_encode(encoded, &point);
      CHECK(to_hex(encoded, 32) == to_hex(encoding, 32));
      CHECK(to_hex(encoded, 32) == to_hex(expected, 32));
    }
  }
  CHECK(decoded > 350);  // real keys, small-order points and about half of random y
}
