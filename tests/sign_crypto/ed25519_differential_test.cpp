// SPDX-License-Identifier: Apache-2.0
// ed25519_verify against libsodium 1.0.18's crypto_sign_verify_detached on thousands of
// pseudo-random cases (fixed seed) built like the fuzz target's (ed25519_cases.hpp): the two must
// decide every case alike, so a disagreement shows under plain ctest, without the fuzzer.
#include <sodium.h>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "sign_crypto/ed25519_cases.hpp"
#include "sign_crypto/hex.hpp"
#include "spk_crypto.hpp"

using statepack::crypto::ed25519_verify;
using statepack::test::Ed25519Case;
using statepack::test::to_hex;

namespace {

// SplitMix64: a fixed stream of case bytes, the same on every run and platform.
class Stream {
 public:
  explicit Stream(uint64_t seed) : state_(seed) {}
  std::vector<uint8_t> bytes(size_t n) {
    std::vector<uint8_t> out(n);
    for (auto &b : out) {
      if (left_ == 0) {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        word_ = z ^ (z >> 31);
        left_ = 8;
      }
      b = static_cast<uint8_t>(word_);
      word_ >>= 8;
      --left_;
    }
    return out;
  }

 private:
  uint64_t state_;
  uint64_t word_ = 0;
  int left_ = 0;
};

bool ours(const Ed25519Case &c) {
  return ed25519_verify(c.signature, c.message.data(), c.message.size(), c.public_key);
}

}  // namespace

TEST_CASE("ed25519_verify decides as libsodium on 2000 mutated signatures") {
  REQUIRE(sodium_init() >= 0);
  Stream stream(20261203);
  int accepted = 0;
  int per_mutation[statepack::test::kMutationCount] = {};
  int torsion_accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::vector<uint8_t> input = stream.bytes(400);
    const Ed25519Case c = statepack::test::make_ed25519_case(input.data(), input.size());
    const bool expected = statepack::test::libsodium_accepts(c);
    if (ours(c) != expected) {
      FAIL("case " << i << " (mutation " << c.mutation << "): libsodium " << expected << ", ours "
                   << !expected << "\n  key " << to_hex(c.public_key, 32) << "\n  sig "
                   << to_hex(c.signature, 64) << "\n  msg "
                   << to_hex(c.message.data(), c.message.size()));
    }
    accepted += expected ? 1 : 0;
    ++per_mutation[c.mutation];
    if (expected && c.mutation == statepack::test::kTorsionKey) ++torsion_accepted;
  }
  // The stream must reach both answers and every mutation, or the comparison proves little.
  CHECK(accepted > 130);
  CHECK(accepted < 1800);
  for (int m = 0; m < statepack::test::kMutationCount; ++m) CHECK(per_mutation[m] > 80);
  // Keys with a torsion part verify cofactorless when k T = 0 (k a multiple of T's order).
  CHECK(torsion_accepted > 0);
}

TEST_CASE("ed25519 refuses every small-order key and R, canonical or not") {
  REQUIRE(sodium_init() >= 0);
  // The table's points really have small order: doubling three times reaches the identity.
  const uint8_t identity[32] = {1};
  for (unsigned index : {0U, 1U, 2U, 4U, 5U, 6U, 7U, 8U}) {
    uint8_t point[32];
    statepack::test::small_order_encoding(index, point);
    for (int i = 0; i < 3; ++i) REQUIRE(crypto_core_ed25519_add(point, point, point) == 0);
    CHECK(to_hex(point, 32) == to_hex(identity, 32));
  }
  // With a real signature otherwise: only the point decides.
  uint8_t key[32], secret[64], signature[64];
  const uint8_t message[3] = {'a', 'b', 'c'};
  crypto_sign_keypair(key, secret);
  crypto_sign_detached(signature, nullptr, message, 3, secret);
  REQUIRE(ed25519_verify(signature, message, 3, key));
  for (unsigned index = 0; index < statepack::test::kSmallOrderEncodings; ++index) {
    CAPTURE(index);
    uint8_t small[32];
    statepack::test::small_order_encoding(index, small);
    CHECK_FALSE(ed25519_verify(signature, message, 3, small));
    uint8_t changed[64];
    std::memcpy(changed, signature, 64);
    std::memcpy(changed, small, 32);
    CHECK_FALSE(ed25519_verify(changed, message, 3, key));
  }
}

TEST_CASE(
    "ed25519 with the identity as key and R and S = 0 is refused (it holds for every message)") {
  // [0]B = R + [k]A with R = A = identity: true for any k, hence the small-order rule.
  uint8_t signature[64] = {1};
  const uint8_t key[32] = {1};
  const uint8_t message[1] = {0x3f};
  CHECK_FALSE(ed25519_verify(signature, message, 1, key));
}

TEST_CASE("ed25519 refuses signatures that hold only because the key or R has small order") {
  REQUIRE(sodium_init() >= 0);
  const uint8_t identity[32] = {1};
  const uint8_t message[5] = {'h', 'e', 'l', 'l', 'o'};
  uint8_t scalar[32] = {}, wide[64] = {7, 7, 7};
  crypto_core_ed25519_scalar_reduce(scalar, wide);
  uint8_t base[32];
  REQUIRE(crypto_scalarmult_ed25519_base_noclamp(base, scalar) == 0);
  SUBCASE("A = identity: (rB, r) satisfies [S]B = R + [k]A for every message") {
    uint8_t signature[64];
    std::memcpy(signature, base, 32);
    std::memcpy(signature + 32, scalar, 32);
    CHECK_FALSE(ed25519_verify(signature, message, sizeof message, identity));
    CHECK(crypto_sign_verify_detached(signature, message, sizeof message, identity) != 0);
  }
  SUBCASE("R = identity: (identity, k a) under A = aB satisfies the equation") {
    uint8_t signature[64];
    std::memcpy(signature, identity, 32);
    uint8_t digest[64], k[32];
    crypto_hash_sha512_state hash;
    crypto_hash_sha512_init(&hash);
    crypto_hash_sha512_update(&hash, identity, 32);
    crypto_hash_sha512_update(&hash, base, 32);
    crypto_hash_sha512_update(&hash, message, sizeof message);
    crypto_hash_sha512_final(&hash, digest);
    crypto_core_ed25519_scalar_reduce(k, digest);
    crypto_core_ed25519_scalar_mul(signature + 32, k, scalar);
    CHECK_FALSE(ed25519_verify(signature, message, sizeof message, base));
    CHECK(crypto_sign_verify_detached(signature, message, sizeof message, base) != 0);
  }
}
