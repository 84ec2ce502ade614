// SPDX-License-Identifier: Apache-2.0
// Arithmetic modulo 2^255 - 19 (see field25519.hpp for the representation and its bounds).
#include "field25519.hpp"

namespace statepack {
namespace crypto {
namespace {

constexpr int kLimbs = 10;

inline unsigned limb_bits(int i) {
  return (i & 1) ? 25U : 26U;
}

inline int64_t limb_mask(int i) {
  return (int64_t{1} << limb_bits(i)) - 1;
}

// One carry pass from limb 0 to limb 9 with floor division (limbs end in [0, 2^bits)); returns
// the carry out of limb 9, worth c * 2^255 = 19 c (mod p). Masking instead of subtracting the
// shifted carry avoids left shifts of negative numbers; >> on a negative int64 is arithmetic
// on every compiler the runtime supports.
int64_t carry_pass(int64_t h[kLimbs]) {
  int64_t carry = 0;
  for (int i = 0; i < kLimbs; i += 2) {  // a 26-bit limb, then a 25-bit one
    h[i] += carry;
    carry = h[i] >> 26;
    h[i] &= (int64_t{1} << 26) - 1;
    h[i + 1] += carry;
    carry = h[i + 1] >> 25;
    h[i + 1] &= (int64_t{1} << 25) - 1;
  }
  return carry;
}

// Sums of up to 2^62 in magnitude back to limbs below 2^26: the carry out of limb 9 wraps
// around times 19, then limb 0's carry goes once more into limb 1.
void reduce(Fe *out, int64_t h[kLimbs]) {
  const int64_t top = carry_pass(h);
  h[0] += 19 * top;
  const int64_t carry = h[0] >> 26;
  h[0] &= limb_mask(0);
  h[1] += carry;
  for (int i = 0; i < kLimbs; ++i) out->v[i] = static_cast<int32_t>(h[i]);
}

// z^(2^250 - 1) into *out and z^11 into *z11: the common stem of both exponentiations
// (p - 2 = 2^255 - 21 and (p - 5)/8 = 2^252 - 3), 250 squarings and 11 multiplications.
void pow_2_250_minus_1(Fe *out, Fe *z11, const Fe *z) {
  Fe t0, t1, t2;
  // sq_n: t^(2^n)
  auto sq_n = [](Fe *t, int n) {
    for (int i = 0; i < n; ++i) fe_sq(t, t);
  };
  fe_sq(&t0, z);  // z^2
  fe_sq(&t1, &t0);
  fe_sq(&t1, &t1);        // z^8
  fe_mul(&t1, &t1, z);    // z^9
  fe_mul(z11, &t0, &t1);  // z^11
  fe_sq(&t0, z11);        // z^22
  fe_mul(&t0, &t0, &t1);  // z^31 = z^(2^5 - 1)
  t1 = t0;
  sq_n(&t1, 5);
  fe_mul(&t0, &t1, &t0);  // z^(2^10 - 1)
  t1 = t0;
  sq_n(&t1, 10);
  fe_mul(&t1, &t1, &t0);  // z^(2^20 - 1)
  t2 = t1;
  sq_n(&t2, 20);
  fe_mul(&t1, &t2, &t1);  // z^(2^40 - 1)
  sq_n(&t1, 10);
  fe_mul(&t0, &t1, &t0);  // z^(2^50 - 1)
  t1 = t0;
  sq_n(&t1, 50);
  fe_mul(&t1, &t1, &t0);  // z^(2^100 - 1)
  t2 = t1;
  sq_n(&t2, 100);
  fe_mul(&t1, &t2, &t1);  // z^(2^200 - 1)
  sq_n(&t1, 50);
  fe_mul(out, &t1, &t0);  // z^(2^250 - 1)
}

}  // namespace

void fe_from_bytes(Fe *out, const uint8_t in[32]) {
  uint64_t acc = 0;
  unsigned bits = 0;
  int next = 0;
  for (int i = 0; i < kLimbs; ++i) {
    while (bits < limb_bits(i)) {
      const uint8_t byte = next == 31 ? static_cast<uint8_t>(in[31] & 0x7f) : in[next];
      acc |= uint64_t{byte} << bits;
      bits += 8;
      ++next;
    }
    out->v[i] = static_cast<int32_t>(acc & static_cast<uint64_t>(limb_mask(i)));
    acc >>= limb_bits(i);
    bits -= limb_bits(i);
  }
}

void fe_to_bytes(uint8_t out[32], const Fe *f) {
  int64_t h[kLimbs];
  for (int i = 0; i < kLimbs; ++i) h[i] = f->v[i];
  // Limbs in [0, 2^bits) and a value in [0, 2^255): each wrap moves the value by a multiple of
  // p towards that range, so this ends (after two or three passes).
  for (int64_t top = carry_pass(h); top != 0; top = carry_pass(h)) h[0] += 19 * top;
  // Values in [p, 2^255) are those for which value + 19 reaches 2^255: then the result is
  // value + 19 - 2^255 = value - p.
  int64_t t[kLimbs];
  for (int i = 0; i < kLimbs; ++i) t[i] = h[i];
  t[0] += 19;
  if (carry_pass(t) != 0) {
    for (int i = 0; i < kLimbs; ++i) h[i] = t[i];
  }
  uint64_t acc = 0;
  unsigned bits = 0;
  int next = 0;
  for (int i = 0; i < kLimbs; ++i) {
    acc |= static_cast<uint64_t>(h[i]) << bits;
    bits += limb_bits(i);
    for (; bits >= 8; bits -= 8, acc >>= 8) out[next++] = static_cast<uint8_t>(acc);
  }
  out[31] = static_cast<uint8_t>(acc);  // the last 7 bits
}

void fe_add(Fe *out, const Fe *f, const Fe *g) {
  int64_t h[kLimbs];
  for (int i = 0; i < kLimbs; ++i) h[i] = int64_t{f->v[i]} + g->v[i];
  reduce(out, h);
}

void fe_sub(Fe *out, const Fe *f, const Fe *g) {
  int64_t h[kLimbs];
  for (int i = 0; i < kLimbs; ++i) h[i] = int64_t{f->v[i]} - g->v[i];
  reduce(out, h);
}

void fe_neg(Fe *out, const Fe *f) {
  int64_t h[kLimbs];
  for (int i = 0; i < kLimbs; ++i) h[i] = -int64_t{f->v[i]};
  reduce(out, h);
}

void fe_mul(Fe *out, const Fe *f, const Fe *g) {
  // Limb i times limb j lands at bit ceil(25.5 i) + ceil(25.5 j): that is limb i + j's bit, plus
  // one when both are odd (times 2), and past 2^255 when i + j >= 10 (2^255 = 19 mod p). So
  // h[k] = sum over i of f[i] g[k - i], with g[k - i] read from wide[k - i + 10], where the low
  // half holds 19 g (the wrapped terms); both i and k - i are odd only for even k and odd i,
  // whose f is doubled in `twice`. No branch in the inner loop.
  int32_t wide[2 * kLimbs];
  int32_t twice[kLimbs];
  for (int j = 0; j < kLimbs; ++j) {
    wide[j] = 19 * g->v[j];
    wide[kLimbs + j] = g->v[j];
    twice[j] = (j & 1) ? 2 * f->v[j] : f->v[j];
  }
  int64_t h[kLimbs];
  for (int k = 0; k < kLimbs; ++k) {
    const int32_t *a = (k & 1) ? f->v : twice;
    const int32_t *b = wide + k + kLimbs;
    int64_t sum = 0;
    // Unrolled even at -Os: ten multiply-accumulates without loop overhead (+100 bytes).
#pragma GCC unroll 10
    for (int i = 0; i < kLimbs; ++i) sum += int64_t{a[i]} * b[-i];
    h[k] = sum;
  }
  reduce(out, h);
}

void fe_sq(Fe *out, const Fe *f) {
  fe_mul(out, f, f);
}

void fe_invert(Fe *out, const Fe *f) {
  Fe stem, z11;
  pow_2_250_minus_1(&stem, &z11, f);
  for (int i = 0; i < 5; ++i) fe_sq(&stem, &stem);
  fe_mul(out, &stem, &z11);  // z^(2^255 - 32 + 11) = z^(p - 2)
}

void fe_pow_p58(Fe *out, const Fe *f) {
  Fe stem, z11;
  pow_2_250_minus_1(&stem, &z11, f);
  fe_sq(&stem, &stem);
  fe_sq(&stem, &stem);
  fe_mul(out, &stem, f);  // z^(2^252 - 4 + 1) = z^((p - 5) / 8)
}

bool fe_is_zero(const Fe *f) {
  uint8_t bytes[32];
  fe_to_bytes(bytes, f);
  uint8_t any = 0;
  for (uint8_t b : bytes) any |= b;
  return any == 0;
}

bool fe_is_negative(const Fe *f) {
  uint8_t bytes[32];
  fe_to_bytes(bytes, f);
  return (bytes[0] & 1) != 0;
}

}  // namespace crypto
}  // namespace statepack
