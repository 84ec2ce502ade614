// SPDX-License-Identifier: Apache-2.0
// SHA-512 (FIPS 180-4 section 6.4), the hash inside Ed25519 (RFC 8032): k = SHA-512(R || A || M).
// Block by block with a 16-word rolling message schedule (128 bytes of stack instead of 640).
#include <cstring>

#include "big_endian.hpp"
#include "spk_crypto.hpp"

namespace statepack {
namespace crypto {
namespace {

// FIPS 180-4 4.2.3: the first 64 bits of the fractional parts of the cube roots of the first 80
// primes.
constexpr uint64_t kRound[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL};

// FIPS 180-4 5.3.5: the first 64 bits of the fractional parts of the square roots of the first 8
// primes.
constexpr uint64_t kInitial[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

inline uint64_t rotr(uint64_t x, unsigned n) {
  return (x >> n) | (x << (64 - n));
}

void compress(uint64_t state[8], const uint8_t block[128]) {
  uint64_t w[16];
  for (int i = 0; i < 16; ++i) w[i] = load_be64(block + 8 * i);
  uint64_t v[8];
  for (int i = 0; i < 8; ++i) v[i] = state[i];
  for (int t = 0; t < 80; ++t) {
    if (t >= 16) {
      // w[t & 15] still holds W[t-16]; it becomes W[t].
      const uint64_t w15 = w[(t - 15) & 15];
      const uint64_t w2 = w[(t - 2) & 15];
      const uint64_t s0 = rotr(w15, 1) ^ rotr(w15, 8) ^ (w15 >> 7);
      const uint64_t s1 = rotr(w2, 19) ^ rotr(w2, 61) ^ (w2 >> 6);
      w[t & 15] += s0 + w[(t - 7) & 15] + s1;
    }
    const uint64_t a = v[0], b = v[1], c = v[2], e = v[4], f = v[5], g = v[6];
    const uint64_t t1 = v[7] + (rotr(e, 14) ^ rotr(e, 18) ^ rotr(e, 41)) + ((e & f) ^ (~e & g)) +
                        kRound[t] + w[t & 15];
    const uint64_t t2 = (rotr(a, 28) ^ rotr(a, 34) ^ rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
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

void sha512_init(Sha512 *ctx) {
  for (int i = 0; i < 8; ++i) ctx->state[i] = kInitial[i];
  ctx->length = 0;
}

void sha512_update(Sha512 *ctx, const uint8_t *data, size_t size) {
  if (size == 0) return;
  size_t fill = static_cast<size_t>(ctx->length & 127);
  ctx->length += size;
  if (fill != 0) {
    const size_t take = size < 128 - fill ? size : 128 - fill;
    std::memcpy(ctx->block + fill, data, take);
    data += take;
    size -= take;
    if (fill + take < 128) return;
    compress(ctx->state, ctx->block);
  }
  for (; size >= 128; data += 128, size -= 128) compress(ctx->state, data);
  if (size != 0) std::memcpy(ctx->block, data, size);
}

void sha512_final(Sha512 *ctx, uint8_t digest[64]) {
  // Padding (5.1.2): a 1 bit, zeros up to 112 bytes into a block, the length in bits as a
  // 128-bit number.
  size_t fill = static_cast<size_t>(ctx->length & 127);
  ctx->block[fill++] = 0x80;
  if (fill > 112) {
    std::memset(ctx->block + fill, 0, 128 - fill);
    compress(ctx->state, ctx->block);
    fill = 0;
  }
  std::memset(ctx->block + fill, 0, 112 - fill);
  store_be64(ctx->block + 112, ctx->length >> 61);
  store_be64(ctx->block + 120, ctx->length << 3);
  compress(ctx->state, ctx->block);
  for (int i = 0; i < 8; ++i) store_be64(digest + 8 * i, ctx->state[i]);
}

void sha512(const uint8_t *data, size_t size, uint8_t digest[64]) {
  Sha512 ctx;
  sha512_init(&ctx);
  sha512_update(&ctx, data, size);
  sha512_final(&ctx, digest);
}

}  // namespace crypto
}  // namespace statepack
