// SPDX-License-Identifier: Apache-2.0
// SHA-256 (FIPS 180-4 section 6.2) for the signed-blob add-on: the digest a signature binds
// (--checksum sha256). Block by block with a 16-word rolling message schedule, so the stack holds
// one block's words, not the 64 of the full schedule.
#include <cstring>

#include "big_endian.hpp"
#include "spk_crypto.hpp"

namespace statepack {
namespace crypto {
namespace {

// FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64
// primes.
constexpr uint32_t kRound[64] = {
    0x428a2f98U, 0x71374491U, 0xb5c0fbcfU, 0xe9b5dba5U, 0x3956c25bU, 0x59f111f1U, 0x923f82a4U,
    0xab1c5ed5U, 0xd807aa98U, 0x12835b01U, 0x243185beU, 0x550c7dc3U, 0x72be5d74U, 0x80deb1feU,
    0x9bdc06a7U, 0xc19bf174U, 0xe49b69c1U, 0xefbe4786U, 0x0fc19dc6U, 0x240ca1ccU, 0x2de92c6fU,
    0x4a7484aaU, 0x5cb0a9dcU, 0x76f988daU, 0x983e5152U, 0xa831c66dU, 0xb00327c8U, 0xbf597fc7U,
    0xc6e00bf3U, 0xd5a79147U, 0x06ca6351U, 0x14292967U, 0x27b70a85U, 0x2e1b2138U, 0x4d2c6dfcU,
    0x53380d13U, 0x650a7354U, 0x766a0abbU, 0x81c2c92eU, 0x92722c85U, 0xa2bfe8a1U, 0xa81a664bU,
    0xc24b8b70U, 0xc76c51a3U, 0xd192e819U, 0xd6990624U, 0xf40e3585U, 0x106aa070U, 0x19a4c116U,
    0x1e376c08U, 0x2748774cU, 0x34b0bcb5U, 0x391c0cb3U, 0x4ed8aa4aU, 0x5b9cca4fU, 0x682e6ff3U,
    0x748f82eeU, 0x78a5636fU, 0x84c87814U, 0x8cc70208U, 0x90befffaU, 0xa4506cebU, 0xbef9a3f7U,
    0xc67178f2U};

// FIPS 180-4 5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8
// primes.
constexpr uint32_t kInitial[8] = {0x6a09e667U, 0xbb67ae85U, 0x3c6ef372U, 0xa54ff53aU,
                                  0x510e527fU, 0x9b05688cU, 0x1f83d9abU, 0x5be0cd19U};

inline uint32_t rotr(uint32_t x, unsigned n) {
  return (x >> n) | (x << (32 - n));
}

void compress(uint32_t state[8], const uint8_t block[64]) {
  uint32_t w[16];
  for (int i = 0; i < 16; ++i) w[i] = load_be32(block + 4 * i);
  uint32_t v[8];
  for (int i = 0; i < 8; ++i) v[i] = state[i];
  for (int t = 0; t < 64; ++t) {
    if (t >= 16) {
      // w[t & 15] still holds W[t-16]; it becomes W[t].
      const uint32_t w15 = w[(t - 15) & 15];
      const uint32_t w2 = w[(t - 2) & 15];
      const uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
      const uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
      w[t & 15] += s0 + w[(t - 7) & 15] + s1;
    }
    const uint32_t a = v[0], b = v[1], c = v[2], e = v[4], f = v[5], g = v[6];
    const uint32_t t1 = v[7] + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                        kRound[t] + w[t & 15];
    const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    v[7] = g;
    v[6] = f;
    v[5] = e;
    v[4] = v[3] + t1;
    v[3] = c;
    v[2] = b;
    v[1] = a;
    v[0] = t1 + t2;
  }
  for (int i = 0; i < 8; ++i) state[i] += v[i];
}

}  // namespace

void sha256_init(Sha256 *ctx) {
  for (int i = 0; i < 8; ++i) ctx->state[i] = kInitial[i];
  ctx->length = 0;
}

void sha256_update(Sha256 *ctx, const uint8_t *data, size_t size) {
  if (size == 0) return;
  size_t fill = static_cast<size_t>(ctx->length & 63);
  ctx->length += size;
  if (fill != 0) {
    const size_t take = size < 64 - fill ? size : 64 - fill;
    std::memcpy(ctx->block + fill, data, take);
    data += take;
    size -= take;
    if (fill + take < 64) return;
    compress(ctx->state, ctx->block);
  }
  for (; size >= 64; data += 64, size -= 64) compress(ctx->state, data);
  if (size != 0) std::memcpy(ctx->block, data, size);
}

void sha256_final(Sha256 *ctx, uint8_t digest[32]) {
  // Padding (5.1.1): a 1 bit, zeros up to 56 bytes into a block, the length in bits.
  size_t fill = static_cast<size_t>(ctx->length & 63);
  ctx->block[fill++] = 0x80;
  if (fill > 56) {
    std::memset(ctx->block + fill, 0, 64 - fill);
    compress(ctx->state, ctx->block);
    fill = 0;
  }
  std::memset(ctx->block + fill, 0, 56 - fill);
  store_be64(ctx->block + 56, ctx->length << 3);
  compress(ctx->state, ctx->block);
  for (int i = 0; i < 8; ++i) store_be32(digest + 4 * i, ctx->state[i]);
}

void sha256(const uint8_t *data, size_t size, uint8_t digest[32]) {
  Sha256 ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data, size);
  sha256_final(&ctx, digest);
}

}  // namespace crypto
}  // namespace statepack
