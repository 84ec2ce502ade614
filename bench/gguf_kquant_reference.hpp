// SPDX-License-Identifier: Apache-2.0
// GGUF's Q4_K and IQ4_NL, re-implemented for the benchmarks from the published descriptions of
// ggml's reference quantizers (no code taken from ggml), so quant_bench can compare int4-k
// with the formats it competes with on the same rows at the same bits.
//
// Q4_K: super-blocks of 256 = 8 sub-blocks of 32; value = d * sc * q - dmin * m with 4-bit q,
// 6-bit sc and m per sub-block, F16 d and dmin per super-block (4.5 bits per weight). Each
// sub-block's scale and min come from a weighted least-squares search (weights |x| + rms of the
// sub-block; 21 trial inverse scales (15 + k/10 - 1) / (max - min), min clamped to <= 0), then
// sc and m are rounded against the largest scale and min / 63 and the levels reassigned.
// IQ4_NL: blocks of 32, F16 d, value = d * grid[q] on a fixed 16-value grid; d from mapping the
// largest magnitude to +127, then 15 trial inverse scales (-127 + k) / max with x^2-weighted
// least squares (4.5 bits per weight).
//
// Rows that are not a multiple of the block (ResNet's 576-element rows) get a ragged last
// block that pays a whole block's parameters, as every scheme does in quant_bench.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "statepack/tools/quant/float_convert.hpp"

namespace gguf_reference {

inline float f16_round(float value) {
  return statepack::f16_to_f32(statepack::f32_to_f16(value));
}

inline int nearest(float value) {
  return static_cast<int>(std::lround(value));
}

// The weighted scale-and-min search of one Q4_K sub-block: levels 0..nmax, returns the scale
// and sets *min_out to the (non-negative) min that is subtracted.
inline float q4k_scale_min(const float *x, const float *w, size_t n, int nmax, uint8_t *levels,
                           float *min_out) {
  float lo = x[0], hi = x[0], sum_w = 0, sum_x = 0;
  for (size_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  lo = std::min(lo, 0.0f);
  if (hi == lo) {
    std::fill(levels, levels + n, uint8_t{0});
    *min_out = -lo;
    return 0;
  }
  float inverse = static_cast<float>(nmax) / (hi - lo);
  float scale = 1 / inverse;
  float best = 0;
  for (size_t i = 0; i < n; ++i) {
    levels[i] = static_cast<uint8_t>(std::clamp(nearest(inverse * (x[i] - lo)), 0, nmax));
    const float d = scale * levels[i] + lo - x[i];
    best += w[i] * d * d;
  }
  uint8_t trial[64];
  for (int step = 0; step <= 20; ++step) {
    inverse = (-1.0f + 0.1f * static_cast<float>(step) + static_cast<float>(nmax)) / (hi - lo);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (size_t i = 0; i < n; ++i) {
      const int l = std::clamp(nearest(inverse * (x[i] - lo)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * static_cast<float>(l);
      sum_l2 += w[i] * static_cast<float>(l * l);
      sum_xl += w[i] * static_cast<float>(l) * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0;
    for (size_t i = 0; i < n; ++i) {
      const float d = this_scale * trial[i] + this_min - x[i];
      error += w[i] * d * d;
    }
    if (error < best) {
      std::copy(trial, trial + n, levels);
      best = error;
      scale = this_scale;
      lo = this_min;
    }
  }
  *min_out = -lo;
  return scale;
}

// One Q4_K super-block of n <= 256 values (sub-blocks of 32, the last may be shorter).
inline void q4_k_block(const float *x, size_t n, float *y) {
  const size_t subs = (n + 31) / 32;
  float scales[8], mins[8], weights[32];
  uint8_t levels[32];
  float max_scale = 0, max_min = 0;
  for (size_t j = 0; j < subs; ++j) {
    const size_t m = std::min<size_t>(32, n - 32 * j);
    const float *xs = x + 32 * j;
    float sum2 = 0;
    for (size_t i = 0; i < m; ++i) sum2 += xs[i] * xs[i];
    const float rms = std::sqrt(sum2 / static_cast<float>(m));
    for (size_t i = 0; i < m; ++i) weights[i] = rms + std::fabs(xs[i]);
    scales[j] = q4k_scale_min(xs, weights, m, 15, levels, &mins[j]);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inverse_scale = max_scale > 0 ? 63 / max_scale : 0;
  const float inverse_min = max_min > 0 ? 63 / max_min : 0;
  const float d = f16_round(max_scale / 63), dmin = f16_round(max_min / 63);
  for (size_t j = 0; j < subs; ++j) {
    const int sc = std::min(63, nearest(inverse_scale * scales[j]));
    const int mn = std::min(63, nearest(inverse_min * mins[j]));
    const float step = d * static_cast<float>(sc), offset = dmin * static_cast<float>(mn);
    const size_t m = std::min<size_t>(32, n - 32 * j);
    for (size_t i = 0; i < m; ++i) {
      const int l = step != 0 ? std::clamp(nearest((x[32 * j + i] + offset) / step), 0, 15) : 0;
      y[32 * j + i] = step * static_cast<float>(l) - offset;
    }
  }
}

inline constexpr int8_t kIq4nlGrid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};

inline int iq4nl_index(float t) {
  int best = 0;
  for (int k = 1; k < 16; ++k) {
    if (std::fabs(t - kIq4nlGrid[k]) < std::fabs(t - kIq4nlGrid[best])) best = k;
  }
  return best;
}

// One IQ4_NL block of n <= 32 values.
inline void iq4_nl_block(const float *x, size_t n, float *y) {
  float amax = 0, max = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < 1e-15f) {
    std::fill(y, y + n, 0.0f);
    return;
  }
  // x^2-weighted least squares of d for the assignment under inverse scale `inverse`.
  auto fit = [&](float inverse, float *sum_qx, float *sum_q2) {
    *sum_qx = 0;
    *sum_q2 = 0;
    for (size_t i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      const auto q = static_cast<float>(kIq4nlGrid[iq4nl_index(inverse * x[i])]);
      *sum_qx += w * q * x[i];
      *sum_q2 += w * q * q;
    }
  };
  float sum_qx, sum_q2;
  fit(-kIq4nlGrid[0] / max, &sum_qx, &sum_q2);  // d = max / 127, then the trials below
  float d = sum_qx / sum_q2;
  float best = d * sum_qx;
  for (int step = -7; step <= 7; ++step) {
    fit((static_cast<float>(step) + kIq4nlGrid[0]) / max, &sum_qx, &sum_q2);
    if (sum_q2 > 0 && sum_qx * sum_qx > best * sum_q2) {
      d = sum_qx / sum_q2;
      best = d * sum_qx;
    }
  }
  const float stored = f16_round(d);
  for (size_t i = 0; i < n; ++i) {
    y[i] = stored * static_cast<float>(kIq4nlGrid[iq4nl_index(x[i] / d)]);
  }
}

}  // namespace gguf_reference
