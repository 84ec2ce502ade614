// SPDX-License-Identifier: Apache-2.0
// Ed25519 verification cases built from arbitrary bytes, for the differential test against
// libsodium (tests/sign_crypto/ed25519_differential_test.cpp, a fixed pseudo-random stream) and
// its fuzz target (tests/fuzz/ed25519_fuzz.cpp, libFuzzer's input). Every case starts from a real
// key pair and signature (libsodium, from a seed) and applies one mutation: bit flips in R, S, A
// or the message; S + nL; small-order A or R, canonical or not; keys and R with a small-order
// component whose signatures hold for some messages without the cofactor; signatures that hold
// with a small-order A or R, refused by the small-order rules alone; random bytes.
// statepack::crypto::ed25519_verify must decide every case as crypto_sign_verify_detached does.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace statepack::test {

struct Ed25519Case {
  uint8_t public_key[32];
  uint8_t signature[64];
  std::vector<uint8_t> message;
  int mutation;
};

enum Ed25519Mutation {
  kNone,
  kFlipR,
  kFlipS,
  kFlipKey,
  kFlipMessage,
  kSPlusMultipleOfL,
  kSmallOrderKey,
  kSmallOrderR,
  kTorsionKey,  // A = aB + T, T of small order; S = r + k a: valid without the cofactor iff kT = 0
  kTorsionR,    // R = rB + T; S = r + k a
  kSmallOrderBoth,  // A and R of small order, S random
  kRandomKey,
  kRandomAll,            // 96 random bytes as signature and key
  kForgedSmallOrderKey,  // A = T, R = rB, S = r: holds cofactorless iff kT = 0, for any message
  kForgedSmallOrderR,    // A = aB + T, R = -T, S = k a: holds cofactorless iff (k - 1)T = 0
  kMutationCount
};

/// The 255-bit y coordinates (little-endian) whose points have small order, and non-canonical
/// forms of them: 0, 1, p - 1, y8, p - y8, p, p + 1. With either sign bit: 14 encodings.
inline void small_order_encoding(unsigned index, uint8_t out[32]) {
  static const uint8_t order8[2][32] = {
      {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
       0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
       0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
      {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
       0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
       0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}};
  const unsigned y = (index / 2) % 7;
  std::memset(out, 0, 32);
  if (y == 0 || y == 1) {
    out[0] = static_cast<uint8_t>(y);
  } else if (y == 2 || y == 3) {
    std::memcpy(out, order8[y - 2], 32);
  } else {  // p - 1, p, p + 1
    std::memset(out, 0xff, 31);
    out[31] = 0x7f;
    out[0] = static_cast<uint8_t>(0xec + (y - 4));
  }
  if (index & 1) out[31] |= 0x80;
}
constexpr unsigned kSmallOrderEncodings = 14;

/// Reads case parameters from bytes; past the end every byte reads as zero.
class CaseBytes {
 public:
  CaseBytes(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  void fill(uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = u8();
  }

 private:
  const uint8_t *data_;
  size_t size_;
  size_t pos_ = 0;
};

/// A scalar mod L from 32 bytes of input (never zero, so that multiples of B are not the
/// identity, which libsodium's base multiplication refuses).
inline void scalar_from(CaseBytes &in, uint8_t out[32]) {
  uint8_t wide[64] = {};
  in.fill(wide, 32);
  wide[40] = 1;
  crypto_core_ed25519_scalar_reduce(out, wide);
}

/// A signature under A = a B + T, or with R = r B + T, made with the scalar arithmetic of
/// libsodium's core API (the signer is not libsodium's crypto_sign, which cannot do this).
inline bool torsion_signature(CaseBytes &in, Ed25519Case *c, bool torsion_in_key) {
  uint8_t a[32], r[32], torsion[32];
  scalar_from(in, a);
  scalar_from(in, r);
  // A point of order 2, 4 or 8 (the encodings of small_order_encoding that decode).
  static const unsigned points[] = {0, 1, 4, 5, 6, 7, 8};
  small_order_encoding(points[in.u8() % 7], torsion);
  uint8_t key[32], point_r[32];
  if (crypto_scalarmult_ed25519_base_noclamp(key, a) != 0) return false;
  if (crypto_scalarmult_ed25519_base_noclamp(point_r, r) != 0) return false;
  uint8_t *target = torsion_in_key ? key : point_r;
  if (crypto_core_ed25519_add(target, target, torsion) != 0) return false;
  std::memcpy(c->public_key, key, 32);
  std::memcpy(c->signature, point_r, 32);
  uint8_t digest[64];
  crypto_hash_sha512_state hash;
  crypto_hash_sha512_init(&hash);
  crypto_hash_sha512_update(&hash, point_r, 32);
  crypto_hash_sha512_update(&hash, key, 32);
  crypto_hash_sha512_update(&hash, c->message.data(), c->message.size());
  crypto_hash_sha512_final(&hash, digest);
  uint8_t k[32], ka[32];
  crypto_core_ed25519_scalar_reduce(k, digest);
  crypto_core_ed25519_scalar_mul(ka, k, a);
  crypto_core_ed25519_scalar_add(c->signature + 32, r, ka);
  return true;
}

/// Signatures that satisfy the cofactorless equation (for some k) with a small-order key or R:
/// only the small-order rules refuse them. T is one of the 8 points of order 1, 2, 4 or 8.
inline bool small_order_forgery(CaseBytes &in, Ed25519Case *c, bool in_key) {
  static const unsigned points[] = {0, 1, 2, 4, 5, 6, 7, 8};
  uint8_t torsion[32], scalar[32], base[32];
  small_order_encoding(points[in.u8() % 8], torsion);
  scalar_from(in, scalar);
  if (crypto_scalarmult_ed25519_base_noclamp(base, scalar) != 0) return false;
  if (in_key) {
    std::memcpy(c->public_key, torsion, 32);
    std::memcpy(c->signature, base, 32);
    std::memcpy(c->signature + 32, scalar, 32);
    return true;
  }
  uint8_t identity[32] = {1};
  if (crypto_core_ed25519_add(c->public_key, base, torsion) != 0) return false;
  if (crypto_core_ed25519_sub(c->signature, identity, torsion) != 0) return false;
  uint8_t digest[64], k[32];
  crypto_hash_sha512_state hash;
  crypto_hash_sha512_init(&hash);
  crypto_hash_sha512_update(&hash, c->signature, 32);
  crypto_hash_sha512_update(&hash, c->public_key, 32);
  crypto_hash_sha512_update(&hash, c->message.data(), c->message.size());
  crypto_hash_sha512_final(&hash, digest);
  crypto_core_ed25519_scalar_reduce(k, digest);
  crypto_core_ed25519_scalar_mul(c->signature + 32, k, scalar);
  return true;
}

/// Adds n L to the 256-bit little-endian S (n <= 14 keeps it below 2^256 for any S < L).
inline void add_multiple_of_order(uint8_t s[32], unsigned n) {
  static const uint8_t order[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                    0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                    0,    0,    0,    0,    0,    0,    0,    0,
                                    0,    0,    0,    0,    0,    0,    0,    0x10};
  unsigned carry = 0;
  for (int i = 0; i < 32; ++i) {
    const unsigned sum = s[i] + n * order[i] + carry;
    s[i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
}

/// One case from `size` bytes (any bytes make a case).
inline Ed25519Case make_ed25519_case(const uint8_t *data, size_t size) {
  CaseBytes in(data, size);
  Ed25519Case c;
  c.mutation = in.u8() % kMutationCount;
  uint8_t seed[32], secret[64];
  in.fill(seed, 32);
  c.message.resize(in.u8() % 160);
  in.fill(c.message.data(), c.message.size());
  crypto_sign_seed_keypair(c.public_key, secret, seed);
  crypto_sign_detached(c.signature, nullptr, c.message.data(), c.message.size(), secret);
  const unsigned bit = in.u8();
  switch (c.mutation) {
    case kFlipR:
      c.signature[bit / 8 % 32] ^= static_cast<uint8_t>(1U << (bit % 8));
      break;
    case kFlipS:
      c.signature[32 + bit / 8 % 32] ^= static_cast<uint8_t>(1U << (bit % 8));
      break;
    case kFlipKey:
      c.public_key[bit / 8 % 32] ^= static_cast<uint8_t>(1U << (bit % 8));
      break;
    case kFlipMessage:
      if (!c.message.empty()) {
        c.message[bit % c.message.size()] ^= static_cast<uint8_t>(1U << (in.u8() % 8));
      }
      break;
    case kSPlusMultipleOfL:
      add_multiple_of_order(c.signature + 32, 1 + bit % 14);
      break;
    case kSmallOrderKey:
      small_order_encoding(bit % kSmallOrderEncodings, c.public_key);
      break;
    case kSmallOrderR:
      small_order_encoding(bit % kSmallOrderEncodings, c.signature);
      break;
    case kTorsionKey:
    case kTorsionR:
      if (!torsion_signature(in, &c, c.mutation == kTorsionKey)) c.mutation = kNone;
      break;
    case kSmallOrderBoth:
      small_order_encoding(bit % kSmallOrderEncodings, c.public_key);
      small_order_encoding(in.u8() % kSmallOrderEncodings, c.signature);
      in.fill(c.signature + 32, 32);
      c.signature[63] &= 0x0f;  // canonical S, so that only the points decide
      break;
    case kRandomKey:
      in.fill(c.public_key, 32);
      break;
    case kRandomAll:
      in.fill(c.signature, 64);
      in.fill(c.public_key, 32);
      break;
    case kForgedSmallOrderKey:
    case kForgedSmallOrderR:
      if (!small_order_forgery(in, &c, c.mutation == kForgedSmallOrderKey)) c.mutation = kNone;
      break;
    default:
      break;
  }
  return c;
}

/// libsodium's decision on a case.
inline bool libsodium_accepts(const Ed25519Case &c) {
  return crypto_sign_verify_detached(c.signature, c.message.data(), c.message.size(),
                                     c.public_key) == 0;
}

}  // namespace statepack::test
