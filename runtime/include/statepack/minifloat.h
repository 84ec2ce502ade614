/* SPDX-License-Identifier: Apache-2.0 */
/* Small IEEE-style floats (f16, the OCP 8-, 6- and 4-bit formats) decoded to f32 from their bit
 * fields: the one decoder that the runtime's spk_dequantize and the host packer both use, so the
 * device and the packer's reconstruction agree bit for bit, NaN payloads included. Header-only
 * and C99: no libm, no FPU beyond IEEE-754 binary32 for the result.
 */
#ifndef STATEPACK_MINIFLOAT_H
#define STATEPACK_MINIFLOAT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the all-ones exponent means in a format. */
typedef enum spk_minifloat_specials {
  SPK_MINIFLOAT_FINITE = 0,      /* nothing: every pattern is a number (E2M3, E3M2, E2M1) */
  SPK_MINIFLOAT_IEEE = 1,        /* infinities and NaNs, as in IEEE-754 (f16, E5M2) */
  SPK_MINIFLOAT_ALL_ONES_NAN = 2 /* only S.1111.111 is NaN, no infinities (E4M3FN) */
} spk_minifloat_specials;

/* The f32 whose bits are `bits`. */
static inline float spk_f32_from_bits(uint32_t bits) {
  float value;
  /* The compiler's own memcpy: no libc header on the device side, and one move at -O1. */
  __builtin_memcpy(&value, &bits, sizeof value);
  return value;
}

/* 2^k for k in [-149, 127], exact. */
static inline float spk_pow2(int k) {
  if (k >= -126) return spk_f32_from_bits((uint32_t)(k + 127) << 23);
  return spk_f32_from_bits(1u << (k + 149));
}

/* Decodes the low 1 + exponent_bits + mantissa_bits bits of `bits` (sign, exponent, mantissa,
 * bias 2^(exponent_bits-1) - 1) to f32, exactly (every such value is an f32). An IEEE NaN keeps
 * its payload (shifted into f32's mantissa); an E4M3FN NaN becomes the quiet NaN. */
static inline float spk_minifloat_to_f32(uint32_t bits, int exponent_bits, int mantissa_bits,
                                         spk_minifloat_specials specials) {
  const int bias = (1 << (exponent_bits - 1)) - 1;
  const uint32_t mantissa_mask = (1u << mantissa_bits) - 1u;
  const uint32_t exponent_max = (1u << exponent_bits) - 1u;
  const uint32_t sign = (bits >> (exponent_bits + mantissa_bits)) & 1u;
  const uint32_t exponent = (bits >> mantissa_bits) & exponent_max;
  const uint32_t mantissa = bits & mantissa_mask;
  const uint32_t sign_bit = sign << 31;
  float magnitude;
  if (specials == SPK_MINIFLOAT_IEEE && exponent == exponent_max) {
    return spk_f32_from_bits(sign_bit | 0x7F800000u | (mantissa << (23 - mantissa_bits)));
  }
  if (specials == SPK_MINIFLOAT_ALL_ONES_NAN && exponent == exponent_max &&
      mantissa == mantissa_mask) {
    return spk_f32_from_bits(sign_bit | 0x7FC00000u);
  }
  if (exponent == 0) {
    magnitude = (float)mantissa * spk_pow2(1 - bias - mantissa_bits);
  } else {
    const uint32_t f32_exponent = exponent - (uint32_t)bias + 127u;
    magnitude = spk_f32_from_bits((f32_exponent << 23) | (mantissa << (23 - mantissa_bits)));
  }
  return sign != 0 ? -magnitude : magnitude;
}

#ifdef __cplusplus
}
#endif

#endif /* STATEPACK_MINIFLOAT_H */
