// SPDX-License-Identifier: Apache-2.0
// Point decoding, encoding, addition, doubling and the double-scalar multiplication of Ed25519
// verification (see edwards25519.hpp).
#include "edwards25519.hpp"

#include <cstring>

namespace statepack {
namespace crypto {
namespace {

// Constants in the limbs of field25519.hpp, computed with exact integer arithmetic from their
// definitions (RFC 8032 5.1): d = -121665/121666, 2d, sqrt(-1) = 2^((p-1)/4), and the base
// point B: y = 4/5, x the even root, t = x y.
constexpr Fe kD = {{56195235, 13857412, 51736253, 6949390, 114729, 24766616, 60832955, 30306712,
                    48412415, 21499315}};
constexpr Fe kD2 = {{45281625, 27714825, 36363642, 13898781, 229458, 15978800, 54557047, 27058993,
                     29715967, 9444199}};
constexpr Fe kSqrtM1 = {{34513072, 25610706, 9377949, 3500415, 12389472, 33281959, 41962654,
                         31548777, 326685, 11406482}};
constexpr EdPoint kBase = {{{52811034, 25909283, 16144682, 17082669, 27570973, 30858332, 40966398,
                             8378388, 20764389, 8758491}},
                           {{40265304, 26843545, 13421772, 20132659, 26843545, 6710886, 53687091,
                             13421772, 40265318, 26843545}},
                           {{1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
                           {{28827043, 27438313, 39759291, 244362, 8635006, 11264893, 19351346,
                             13413597, 16611511, 27139452}}};

// The y coordinates of the four points of order 8 (two x each): y8 and p - y8, little-endian.
constexpr uint8_t kOrder8Y[2][32] = {
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}};

// Unified addition for a = -1 ("add-2008-hwcd-3"): also right for p = q and for the identity,
// because d is not a square. `out` may be `p` or `q`: both are read before it is written.
void ed_add(EdPoint *out, const EdPoint *p, const EdPoint *q) {
  Fe a, b, c, d, t;
  fe_sub(&a, &p->y, &p->x);
  fe_sub(&t, &q->y, &q->x);
  fe_mul(&a, &a, &t);  // (Y1 - X1)(Y2 - X2)
  fe_add(&b, &p->y, &p->x);
  fe_add(&t, &q->y, &q->x);
  fe_mul(&b, &b, &t);  // (Y1 + X1)(Y2 + X2)
  fe_mul(&c, &p->t, &q->t);
  fe_mul(&c, &c, &kD2);  // 2d T1 T2
  fe_mul(&d, &p->z, &q->z);
  fe_add(&d, &d, &d);  // 2 Z1 Z2
  Fe e, f, g, h;
  fe_sub(&e, &b, &a);
  fe_sub(&f, &d, &c);
  fe_add(&g, &d, &c);
  fe_add(&h, &b, &a);
  fe_mul(&out->x, &e, &f);
  fe_mul(&out->y, &g, &h);
  fe_mul(&out->t, &e, &h);
  fe_mul(&out->z, &f, &g);
}

// Doubling for a = -1 ("dbl-2008-hwcd"), 4 squarings and 4 multiplications.
void ed_double(EdPoint *out, const EdPoint *p) {
  Fe a, b, c, e, f, g, h;
  fe_sq(&a, &p->x);
  fe_sq(&b, &p->y);
  fe_sq(&c, &p->z);
  fe_add(&c, &c, &c);  // C = 2 Z^2
  fe_add(&h, &a, &b);
  fe_add(&e, &p->x, &p->y);
  fe_sq(&e, &e);
  fe_sub(&e, &e, &h);  // E = (X + Y)^2 - A - B
  fe_sub(&g, &b, &a);  // G = -A + B
  fe_sub(&f, &g, &c);  // F = G - C
  fe_neg(&h, &h);      // H = -A - B
  fe_mul(&out->x, &e, &f);
  fe_mul(&out->y, &g, &h);
  fe_mul(&out->t, &e, &h);
  fe_mul(&out->z, &f, &g);
}

inline bool bit(const uint8_t s[32], int i) {
  return ((s[i >> 3] >> (i & 7)) & 1) != 0;
}

}  // namespace

bool ed_y_is_canonical(const uint8_t in[32]) {
  // p = 2^255 - 19 is ed ff .. ff 7f: y >= p only if bytes 1..30 are ff, the top 7 bits are all
  // set, and byte 0 is at least ed.
  if ((in[31] & 0x7f) != 0x7f) return true;
  for (int i = 30; i > 0; --i) {
    if (in[i] != 0xff) return true;
  }
  return in[0] < 0xed;
}

bool ed_encodes_small_order(const uint8_t in[32]) {
  uint8_t y[32];
  std::memcpy(y, in, 32);
  y[31] &= 0x7f;
  for (const auto &order8 : kOrder8Y) {
    if (std::memcmp(y, order8, 32) == 0) return true;
  }
  // 0 and 1 (orders 4 and 1): bytes 1..31 zero.
  bool high_zero = true;
  for (int i = 1; i < 32; ++i) high_zero = high_zero && y[i] == 0;
  if (high_zero) return y[0] <= 1;
  // p - 1, p and p + 1 (order 2, and 0 and 1 again): bytes 1..30 ff, byte 31 7f.
  bool high_max = y[31] == 0x7f;
  for (int i = 1; i < 31; ++i) high_max = high_max && y[i] == 0xff;
  return high_max && y[0] >= 0xec && y[0] <= 0xee;
}

bool ed_decode(EdPoint *out, const uint8_t in[32]) {
  if (!ed_y_is_canonical(in)) return false;
  Fe *x = &out->x;
  Fe *y = &out->y;
  fe_from_bytes(y, in);
  // x^2 = u / v with u = y^2 - 1, v = d y^2 + 1; candidate root x = u v^3 (u v^7)^((p-5)/8).
  Fe one = {{1}};
  Fe u, v, v3, t;
  fe_sq(&u, y);
  fe_mul(&v, &u, &kD);
  fe_sub(&u, &u, &one);
  fe_add(&v, &v, &one);
  fe_sq(&v3, &v);
  fe_mul(&v3, &v3, &v);  // v^3
  fe_sq(&t, &v3);
  fe_mul(&t, &t, &v);
  fe_mul(&t, &t, &u);  // u v^7
  fe_pow_p58(&t, &t);
  fe_mul(&t, &t, &v3);
  fe_mul(x, &t, &u);
  // v x^2 = u: x is a root; v x^2 = -u: x sqrt(-1) is; otherwise u/v is not a square.
  Fe check;
  fe_sq(&check, x);
  fe_mul(&check, &check, &v);
  fe_sub(&t, &check, &u);
  if (!fe_is_zero(&t)) {
    fe_add(&t, &check, &u);
    if (!fe_is_zero(&t)) return false;
    fe_mul(x, x, &kSqrtM1);
  }
  const bool sign = (in[31] >> 7) != 0;
  if (sign && fe_is_zero(x)) return false;
  if (fe_is_negative(x) != sign) fe_neg(x, x);
  out->z = one;
  fe_mul(&out->t, x, y);
  return true;
}

void ed_encode(uint8_t out[32], const EdPoint *p) {
  Fe inverse, x, y;
  fe_invert(&inverse, &p->z);
  fe_mul(&x, &p->x, &inverse);
  fe_mul(&y, &p->y, &inverse);
  fe_to_bytes(out, &y);
  if (fe_is_negative(&x)) out[31] |= 0x80;
}

void ed_negate(EdPoint *p) {
  fe_neg(&p->x, &p->x);
  fe_neg(&p->t, &p->t);
}

void ed_double_scalar_mul_base(EdPoint *out, const uint8_t a[32], const uint8_t b[32],
                               const EdPoint *p) {
  // Straus-Shamir: one doubling per bit and at most one addition, of B, P or B + P.
  EdPoint sum;
  ed_add(&sum, &kBase, p);
  const EdPoint *table[3] = {&kBase, p, &sum};
  *out = EdPoint{{{0}}, {{1}}, {{1}}, {{0}}};  // the identity
  int i = 255;
  while (i >= 0 && !bit(a, i) && !bit(b, i)) --i;
  for (; i >= 0; --i) {
    ed_double(out, out);
    const int pick = (bit(a, i) ? 1 : 0) | (bit(b, i) ? 2 : 0);
    if (pick != 0) ed_add(out, out, table[pick - 1]);
  }
}

}  // namespace crypto
}  // namespace statepack
