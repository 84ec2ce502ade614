// SPDX-License-Identifier: Apache-2.0
// Ed25519 verification against RFC 8032 section 7.1 (TEST 1, 2, 3, 1024 and SHA(abc)): each
// signature verifies, and stops verifying when any bit of the message, signature or key
// changes. libsodium re-derives every key and signature from the secret, so a typing error in
// the vectors fails here rather than passing unnoticed.
#include <sodium.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sign_crypto/hex.hpp"
#include "spk_crypto.hpp"

using statepack::crypto::ed25519_verify;
using statepack::test::from_hex;
using statepack::test::to_hex;

namespace {

struct RfcVector {
  const char *name;
  const char *secret;
  const char *public_key;
  const char *message;
  const char *signature;
};

const RfcVector kVectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "4"
     "6bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d"
     "8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "6"
     "594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f7"
     "7"
     "b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b2"
     "0"
     "329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd"
     "1"
     "77e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5"
     "d"
     "1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97"
     "b"
     "928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d"
     "8"
     "ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594"
     "e"
     "1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092c"
     "f"
     "67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc"
     "9"
     "c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c34"
     "1"
     "4a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2"
     "b"
     "1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead"
     "9"
     "4f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58"
     "c"
     "30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6"
     "7"
     "24517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d"
     "7"
     "8ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b5"
     "7"
     "f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc560"
     "0"
     "a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f1"
     "7"
     "c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff35787"
     "6"
     "e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d"
     "4"
     "0fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64d"
     "f"
     "ac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d"
     "9"
     "4b5e8fcd4f681e30a6ac00a9704a188a03"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fee"
     "b"
     "bd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e"
     "0"
     "303dca179c138ac17ad9bef1177331a704"},
};

bool verify(const std::vector<uint8_t> &signature, const std::vector<uint8_t> &message,
            const std::vector<uint8_t> &key) {
  return ed25519_verify(signature.data(), message.data(), message.size(), key.data());
}

// Flips `bit` of `bytes` (a copy).
std::vector<uint8_t> flipped(std::vector<uint8_t> bytes, size_t bit) {
  bytes[bit / 8] ^= static_cast<uint8_t>(1U << (bit % 8));
  return bytes;
}

}  // namespace

TEST_CASE("ed25519 RFC 8032 7.1 vectors are typed as the RFC has them") {
  REQUIRE(sodium_init() >= 0);
  for (const RfcVector &v : kVectors) {
    CAPTURE(v.name);
    const auto seed = from_hex(v.secret);
    const auto message = from_hex(v.message);
    REQUIRE(seed.size() == 32);
    uint8_t key[32], secret[64], signature[64];
    crypto_sign_seed_keypair(key, secret, seed.data());
    CHECK(to_hex(key, 32) == v.public_key);
    crypto_sign_detached(signature, nullptr, message.data(), message.size(), secret);
    CHECK(to_hex(signature, 64) == v.signature);
  }
  CHECK(from_hex(kVectors[3].message).size() == 1023);
}

TEST_CASE("ed25519 RFC 8032 7.1 vectors verify") {
  for (const RfcVector &v : kVectors) {
    CAPTURE(v.name);
    CHECK(verify(from_hex(v.signature), from_hex(v.message), from_hex(v.public_key)));
  }
}

TEST_CASE("ed25519 RFC 8032 TEST 3 refuses every changed bit of signature, key and message") {
  const RfcVector &v = kVectors[2];
  const auto signature = from_hex(v.signature);
  const auto message = from_hex(v.message);
  const auto key = from_hex(v.public_key);
  for (size_t bit = 0; bit < 512; ++bit) {
    if (verify(flipped(signature, bit), message, key)) FAIL("signature bit " << bit << " flipped");
  }
  for (size_t bit = 0; bit < 256; ++bit) {
    if (verify(signature, message, flipped(key, bit))) FAIL("key bit " << bit << " flipped");
  }
  for (size_t bit = 0; bit < 16; ++bit) {
    if (verify(signature, flipped(message, bit), key)) FAIL("message bit " << bit << " flipped");
  }
}

TEST_CASE("ed25519 RFC 8032 vectors refuse changed bits spread over signature, key and message") {
  for (const RfcVector &v : kVectors) {
    CAPTURE(v.name);
    const auto signature = from_hex(v.signature);
    const auto message = from_hex(v.message);
    const auto key = from_hex(v.public_key);
    // 32 bits of each, evenly spread (a stride coprime to 8 reaches every bit position).
    for (size_t i = 0; i < 32; ++i) {
      const size_t sig_bit = (i * 17) % 512;
      const size_t key_bit = (i * 9) % 256;
      if (verify(flipped(signature, sig_bit), message, key)) FAIL("signature bit " << sig_bit);
      if (verify(signature, message, flipped(key, key_bit))) FAIL("key bit " << key_bit);
      if (!message.empty()) {
        const size_t message_bit = (i * (message.size() * 8 / 32 + 1)) % (message.size() * 8);
        if (verify(signature, flipped(message, message_bit), key))
          FAIL("message bit " << message_bit);
      }
    }
    auto longer = message;
    longer.push_back(0);
    CHECK_FALSE(verify(signature, longer, key));
    if (!message.empty()) {
      CHECK_FALSE(verify(signature, std::vector<uint8_t>(message.begin(), message.end() - 1), key));
    }
  }
}

TEST_CASE("ed25519 refuses S + L, the malleable twin of a valid signature") {
  const RfcVector &v = kVectors[1];
  auto signature = from_hex(v.signature);
  // S + L (L = 2^252 + 27742317777372353535851937790883648493) still fits 256 bits.
  const auto order = from_hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  unsigned carry = 0;
  for (size_t i = 0; i < 32; ++i) {
    const unsigned sum = signature[32 + i] + order[i] + carry;
    signature[32 + i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  REQUIRE(carry == 0);
  CHECK_FALSE(verify(signature, from_hex(v.message), from_hex(v.public_key)));
}
