// SPDX-License-Identifier: Apache-2.0
// SHA-256 and SHA-512 of the signed-blob add-on: NIST's example vectors (FIPS 180-4 examples,
// FIPS 180-2 appendix C: "abc", the 448- and 896-bit messages, the empty string, a million 'a'),
// then every length 0..300 split at every update boundary against libsodium.
#include <sodium.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sign_crypto/hex.hpp"
#include "spk_crypto.hpp"

namespace crypto = statepack::crypto;
using statepack::test::to_hex;

namespace {

const uint8_t *bytes(const std::string &s) {
  return reinterpret_cast<const uint8_t *>(s.data());
}

std::string sha256_hex(const std::string &message) {
  uint8_t digest[32];
  crypto::sha256(bytes(message), message.size(), digest);
  return to_hex(digest, sizeof digest);
}

std::string sha512_hex(const std::string &message) {
  uint8_t digest[64];
  crypto::sha512(bytes(message), message.size(), digest);
  return to_hex(digest, sizeof digest);
}

const std::string kMsg448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const std::string kMsg896 =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopq"
    "rsmnopqrstnopqrstu";

// Deterministic filler bytes for the split sweeps.
std::vector<uint8_t> pattern(size_t size) {
  std::vector<uint8_t> data(size);
  uint32_t x = 0x12345678;
  for (auto &b : data) {
    x = x * 1103515245U + 12345U;
    b = static_cast<uint8_t>(x >> 24);
  }
  return data;
}

}  // namespace

TEST_CASE("sha256 gives NIST's example digests") {
  CHECK(kMsg448.size() == 56);
  CHECK(kMsg896.size() == 112);
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex(kMsg448) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(kMsg896) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha512 gives NIST's example digests") {
  CHECK(
      sha512_hex("abc") ==
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fe"
      "ebbd454d4423643ce80e2a9ac94fa54ca49f");
  CHECK(
      sha512_hex("") ==
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877e"
      "ec2f63b931bd47417a81a538327af927da3e");
  CHECK(sha512_hex(kMsg448) ==
        "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57"
        "789"
        "ca031ad85c7a71dd70354ec631238ca3445");
  CHECK(sha512_hex(kMsg896) ==
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4"
        "b54"
        "33ac7d329eeb6dd26545e96e55b874be909");
  CHECK(sha512_hex(std::string(1000000, 'a')) ==
        "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce5"
        "77c"
        "31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

TEST_CASE("sha256 agrees with libsodium for every length 0..300 and every split") {
  REQUIRE(sodium_init() >= 0);
  const std::vector<uint8_t> data = pattern(300);
  for (size_t size = 0; size <= data.size(); ++size) {
    uint8_t expected[32];
    crypto_hash_sha256(expected, data.data(), size);
    for (size_t split = 0; split <= size; ++split) {
      crypto::Sha256 ctx;
      crypto::sha256_init(&ctx);
      crypto::sha256_update(&ctx, data.data(), split);
      crypto::sha256_update(&ctx, data.data() + split, size - split);
      uint8_t digest[32];
      crypto::sha256_final(&ctx, digest);
      if (to_hex(digest, 32) != to_hex(expected, 32)) {
        FAIL("size " << size << " split at " << split << ": " << to_hex(digest, 32));
      }
    }
    // One byte per update as well.
    crypto::Sha256 ctx;
    crypto::sha256_init(&ctx);
    for (size_t i = 0; i < size; ++i) crypto::sha256_update(&ctx, data.data() + i, 1);
    uint8_t digest[32];
    crypto::sha256_final(&ctx, digest);
    CHECK(to_hex(digest, 32) == to_hex(expected, 32));
  }
}

TEST_CASE("sha512 agrees with libsodium for every length 0..300 and every split") {
  REQUIRE(sodium_init() >= 0);
  const std::vector<uint8_t> data = pattern(300);
  for (size_t size = 0; size <= data.size(); ++size) {
    uint8_t expected[64];
    crypto_hash_sha512(expected, data.data(), size);
    for (size_t split = 0; split <= size; ++split) {
      crypto::Sha512 ctx;
      crypto::sha512_init(&ctx);
      crypto::sha512_update(&ctx, data.data(), split);
      crypto::sha512_update(&ctx, data.data() + split, size - split);
      uint8_t digest[64];
      crypto::sha512_final(&ctx, digest);
      if (to_hex(digest, 64) != to_hex(expected, 64)) {
        FAIL("size " << size << " split at " << split << ": " << to_hex(digest, 64));
      }
    }
    crypto::Sha512 ctx;
    crypto::sha512_init(&ctx);
    for (size_t i = 0; i < size; ++i) crypto::sha512_update(&ctx, data.data() + i, 1);
    uint8_t digest[64];
    crypto::sha512_final(&ctx, digest);
    CHECK(to_hex(digest, 64) == to_hex(expected, 64));
  }
}

TEST_CASE("sha2 updates of zero bytes change nothing, with or without a pointer") {
  crypto::Sha256 a;
  crypto::sha256_init(&a);
  crypto::sha256_update(&a, nullptr, 0);
  crypto::sha256_update(&a, bytes("abc"), 3);
  crypto::sha256_update(&a, bytes("x"), 0);
  uint8_t d256[32];
  crypto::sha256_final(&a, d256);
  CHECK(to_hex(d256, 32) == sha256_hex("abc"));
  crypto::Sha512 b;
  crypto::sha512_init(&b);
  crypto::sha512_update(&b, nullptr, 0);
  crypto::sha512_update(&b, bytes("abc"), 3);
  uint8_t d512[64];
  crypto::sha512_final(&b, d512);
  CHECK(to_hex(d512, 64) == sha512_hex("abc"));
}
