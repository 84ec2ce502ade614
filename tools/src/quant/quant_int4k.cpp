// SPDX-License-Identifier: Apache-2.0
// The int4-k scheme (FORMAT.md, "Int4K"): 4-bit indices into a fixed non-uniform grid of 16
// integers, a 7-bit signed scale per sub-block (a group of 16 along a row, ragged at the row's
// end) and an F16 scale per super-block of 16 consecutive sub-blocks (which may span rows:
// every element still finds both its scales by index, so rows decode on their own); 4.5 bits
// per weight. Element value = (d * c) * grid[q], where every product is exact in f32 (d has 11
// significant bits, |c| <= 64 and |grid| <= 127), so the runtime's decode matches
// reconstruct_int4k bit for bit whatever its compiler contracts or reorders.
//
// Why this design (measured on ResNet-18's conv/fc weights, bench/quant_vs_gguf.sh): at the
// same 4.5 bits, sub-blocks of 16 with a signed scale beat GGUF Q4_K's sub-blocks of 32 with a
// scale and a min by about 0.9 dB, and the non-uniform grid (IQ4_NL's, denser near 0 where
// most weights are) is worth 0.7 dB over the uniform -8..7 levels.
//
// The search, per super-block: (1) each sub-block's best real scale, from mapping its largest
// magnitude on either end of the grid, each refitted by least squares; (2) d = F16 of the
// largest |scale| / 63, and each sub-block takes whichever of the two integer scales around
// its real scale gives less error (a least-squares refit of d after that gained 0.006 dB for a
// third more time, so there is none). Nearest grid points come from a table of
// half-unit cells (the grid's midpoints are multiples of 0.5), so a pass over the data is a
// multiply, a table lookup and a few adds per element.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "quant_internal.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack::quant {
namespace {

constexpr uint32_t kSub = 16;           // elements per sub-block (a group along a row)
constexpr uint32_t kSubsPerSuper = 16;  // consecutive sub-blocks per F16 scale
constexpr uint32_t kRecordBytes = 14;   // their 16 7-bit scales
constexpr float kLargestF16 = 65504.0f;
// The largest magnitude the scheme represents: f16's largest d, sub-block scale 63, grid 127.
constexpr float kLargestValue = kLargestF16 * 63.0f * 127.0f;
constexpr uint32_t kSubScaleBits = 7;
constexpr int32_t kSubScaleMin = -64;
constexpr int32_t kSubScaleMax = 63;
// The runtime's copy is in runtime/src/dequantize.cpp; the agreement tests decode all 16.
constexpr int8_t kGrid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                              1,    13,   25,  38,  53,  69,  89,  113};
constexpr float kGridF[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                              1,    13,   25,  38,  53,  69,  89,  113};

// Nearest grid index for every half-unit cell [k/2 - 128, k/2 - 127.5): each midpoint between
// neighbouring grid values is a multiple of 0.5, so a cell lies wholly on one side of it.
struct IndexTable {
  uint8_t at[512];
};
constexpr IndexTable make_index_table() {
  IndexTable table{};
  for (int k = 0; k < 512; ++k) {
    uint8_t index = 0;
    for (int g = 0; g < 15; ++g) {
      // Lower edge of the cell (k - 256) / 2 at or above the midpoint (grid[g] + grid[g+1]) / 2.
      if (k - 256 >= kGrid[g] + kGrid[g + 1]) index = static_cast<uint8_t>(g + 1);
    }
    table.at[k] = index;
  }
  return table;
}
constexpr IndexTable kIndex = make_index_table();

// The index whose grid value is nearest to t2 / 2 (t2: twice the value in grid units); the
// ends clamp. NaN (0 times the infinite inverse of a subnormal sub-block's extreme) takes the
// bottom cell: written so that every comparison with NaN picks the bound (found by
// tests/fuzz/roundtrip_fuzz.cpp: corpus/roundtrip/crash-86ed7efd...).
inline uint32_t nearest_index(float t2) {
  float u = t2 + 256.0f;
  u = u > 0.0f ? u : 0.0f;
  u = u < 511.0f ? u : 511.0f;
  return kIndex.at[static_cast<int>(u)];
}

// 1 / c for every sub-block scale c (1 / 0 is never used), so trying a scale d * c costs no
// division: 2 / (d * c) is taken as (2 / d) * (1 / c), for the search only.
struct ReciprocalTable {
  float at[kSubScaleMax - kSubScaleMin + 1];
  float of(int32_t c) const { return at[c - kSubScaleMin]; }
};
constexpr ReciprocalTable make_reciprocal_table() {
  ReciprocalTable table{};
  for (int32_t c = kSubScaleMin; c <= kSubScaleMax; ++c) {
    table.at[c - kSubScaleMin] = c != 0 ? 1.0f / static_cast<float>(c) : 0.0f;
  }
  return table;
}
constexpr ReciprocalTable kReciprocal = make_reciprocal_table();

// Sums over a sub-block assigned to the grid under one scale: x.g and g.g in grid units.
struct Fit {
  float xg = 0;
  float gg = 0;
};

// Assigns each x[i] to its nearest grid point under two scales at once (the sub-block is read
// once and the two chains of adds run side by side), with the sums of each assignment.
// `twice_inverse` holds 2 / scale for each (nearest_index's unit); callers get it without a
// division per sub-block.
template <bool kStore>
void assign_pair(const float *x, uint32_t n, const float twice_inverse[2], Fit fit[2],
                 uint8_t *index0, uint8_t *index1) {
  const float inverse0 = twice_inverse[0], inverse1 = twice_inverse[1];
  float xg0 = 0, gg0 = 0, xg1 = 0, gg1 = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t q0 = nearest_index(x[i] * inverse0), q1 = nearest_index(x[i] * inverse1);
    if (kStore) {
      index0[i] = static_cast<uint8_t>(q0);
      index1[i] = static_cast<uint8_t>(q1);
    }
    xg0 += x[i] * kGridF[q0];
    gg0 += kGridF[q0] * kGridF[q0];
    xg1 += x[i] * kGridF[q1];
    gg1 += kGridF[q1] * kGridF[q1];
  }
  fit[0] = Fit{xg0, gg0};
  fit[1] = Fit{xg1, gg1};
}

// Squared error of scale s with the assignment behind `fit`, up to the constant sum x^2.
float relative_error(const Fit &fit, float s) {
  return s * (s * fit.gg - 2.0f * fit.xg);
}

// Step (1): the sub-block's best real scale (0 for an all-zero sub-block).
float sub_block_scale(const float *x, uint32_t n) {
  // The largest and smallest values (vectorised), then the one of larger magnitude.
  float high = x[0], low = x[0];
  for (uint32_t i = 1; i < n; ++i) {
    high = std::max(high, x[i]);
    low = std::min(low, x[i]);
  }
  const float extreme = high >= -low ? high : low;
  const float amax = std::fabs(extreme);
  if (amax == 0) return 0;
  // The extreme value on the top of the grid, or on the bottom (a negative scale).
  const float twice_inverse[2] = {2.0f * kGridF[15] / extreme, 2.0f * kGridF[0] / extreme};
  Fit fit[2];
  assign_pair<false>(x, n, twice_inverse, fit, nullptr, nullptr);
  // Error = sum x^2 - xg^2 / gg: the larger xg^2 / gg wins (compared without dividing).
  const Fit &best =
      fit[1].xg * fit[1].xg * fit[0].gg > fit[0].xg * fit[0].xg * fit[1].gg ? fit[1] : fit[0];
  return best.gg > 0 ? best.xg / best.gg : 0;
}

// Step (2) for one sub-block: the better of the integer scales around its real scale / d
// (0 if neither beats zeros); its indices into `index`. Returns the sub-block scale.
int32_t choose_sub_scale(const float *x, uint32_t n, float scale, float d, float inverse_d,
                         uint8_t *index) {
  const auto low = static_cast<int32_t>(std::floor(scale * inverse_d));
  const int32_t c[2] = {std::min(std::max(low, kSubScaleMin), kSubScaleMax),
                        std::min(std::max(low + 1, kSubScaleMin), kSubScaleMax)};
  const float s[2] = {d * static_cast<float>(c[0]), d * static_cast<float>(c[1])};
  const float twice_inverse[2] = {2.0f * inverse_d * kReciprocal.of(c[0]),
                                  2.0f * inverse_d * kReciprocal.of(c[1])};
  Fit fit[2];
  uint8_t trial[kSub];
  assign_pair<true>(x, n, twice_inverse, fit, index, trial);
  // Scale 0 has error sum x^2, relative error 0: chosen when neither does better.
  const float e0 = c[0] != 0 ? relative_error(fit[0], s[0]) : 0;
  const float e1 = c[1] != 0 ? relative_error(fit[1], s[1]) : 0;
  if (e1 < e0 && e1 < 0) {
    std::copy(trial, trial + n, index);
    return c[1];
  }
  return e0 < 0 ? c[0] : 0;
}

// The F16 value nearest to v, as f32.
float f16_value(float v) {
  return f16_to_f32(f32_to_f16(v));
}

// Sets 7-bit field `index` of a zeroed little-endian bit stream to c (two's complement).
void set_sub_scale(std::vector<uint8_t> &stream, uint64_t index, int32_t c) {
  const uint64_t bit = index * kSubScaleBits;
  const uint32_t field = (static_cast<uint32_t>(c) & ((1u << kSubScaleBits) - 1u)) << (bit % 8);
  stream[bit / 8] = static_cast<uint8_t>(stream[bit / 8] | field);
  if ((bit % 8) + kSubScaleBits > 8) {
    stream[bit / 8 + 1] = static_cast<uint8_t>(stream[bit / 8 + 1] | (field >> 8));
  }
}

// Field `index` of a little-endian stream of 7-bit two's complement values.
int32_t sub_scale_at(const std::vector<uint8_t> &stream, uint64_t index) {
  const uint64_t bit = index * kSubScaleBits;
  uint32_t window = stream[bit / 8];
  if (bit / 8 + 1 < stream.size()) window |= static_cast<uint32_t>(stream[bit / 8 + 1]) << 8;
  const uint32_t value = (window >> (bit % 8)) & ((1u << kSubScaleBits) - 1u);
  return static_cast<int32_t>(value ^ 64u) - 64;
}

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

[[noreturn]] void fail_scale_overflow(const std::string &name, const float *values,
                                      const Slicing &subs, uint64_t first, uint32_t n) {
  float amax = 0;
  for (uint64_t j = first; j < first + n; ++j) {
    for (uint64_t i = subs.begin(j); i < subs.begin(j) + subs.length(j); ++i) {
      amax = std::fmax(amax, std::fabs(values[i]));
    }
  }
  char text[160];
  std::snprintf(text, sizeof(text),
                "values up to %.6g exceed int4-k's largest (65504 * 63 * 127 = 5.24e8); use "
                "int8 (f32 scales)",
                static_cast<double>(amax));
  fail_input("tensor \"" + name + "\"", text);
}

}  // namespace

QuantizedTensor quantize_int4k(const std::string &name, const float *values,
                               const std::vector<uint64_t> &shape, const SchemeSpec &spec,
                               const QuantProgress &progress) {
  constexpr uint64_t kReportEvery = uint64_t{1} << 20;
  const Slicing subs = group_slicing(shape, kSub);
  const uint64_t count = subs.rows * subs.row_length;
  const uint64_t sub_count = subs.count();
  const uint64_t super_count = ceil_div(sub_count, kSubsPerSuper);
  QuantizedTensor out;
  out.spec = spec;
  out.axis = shape.size() >= 2 ? 1 : 0;
  out.dtype = DType::kU4;
  out.data.assign(count / 2 + count % 2, 0);
  out.scale_dtype = DType::kF16;
  out.scales.reserve(2 * super_count);
  out.zero_point_dtype = DType::kU8;
  out.zero_points.assign(kRecordBytes * super_count, 0);
  uint64_t reported = 0;
  float scales[kSubsPerSuper];
  uint8_t *data = out.data.data();
  for (uint64_t first = 0; first < sub_count; first += kSubsPerSuper) {
    const auto n = static_cast<uint32_t>(std::min<uint64_t>(kSubsPerSuper, sub_count - first));
    float largest = 0;
    for (uint32_t j = 0; j < n; ++j) {
      scales[j] = sub_block_scale(values + subs.begin(first + j),
                                  static_cast<uint32_t>(subs.length(first + j)));
      largest = std::max(largest, std::fabs(scales[j]));
    }
    // Refused only past what the largest F16 scale covers: a predictable rule (FORMAT.md);
    // just below it d is capped at f16's largest and the sub-block scales clamp.
    float d = f16_value(largest / static_cast<float>(kSubScaleMax));
    if (std::isinf(d)) {
      for (uint32_t j = 0; j < n; ++j) {
        const float *x = values + subs.begin(first + j);
        for (uint64_t i = 0; i < subs.length(first + j); ++i) {
          if (std::fabs(x[i]) > kLargestValue) fail_scale_overflow(name, values, subs, first, n);
        }
      }
      d = kLargestF16;
    }
    // Every scale the super-block could have is below f16's least: it decodes as zeros.
    if (d == 0 && largest > 0) ++out.underflow_count;
    append_f16(out.scales, d);
    const float inverse_d = d > 0 ? 1.0f / d : 0;
    uint8_t index[kSub];
    for (uint32_t j = 0; j < n; ++j) {
      const uint64_t begin = subs.begin(first + j);
      const float *x = values + begin;
      const auto m = static_cast<uint32_t>(subs.length(first + j));
      const int32_t c = d > 0 ? choose_sub_scale(x, m, scales[j], d, inverse_d, index) : 0;
      if (c == 0) std::fill(index, index + m, uint8_t{8});  // any index: the scale is 0
      set_sub_scale(out.zero_points, first + j, c);
      // Values beyond the grid's ends under the chosen scale were clipped.
      const float s = d * static_cast<float>(c);
      const float low = s * (s > 0 ? kGridF[0] : kGridF[15]);
      const float high = s * (s > 0 ? kGridF[15] : kGridF[0]);
      uint32_t clipped = 0;
      for (uint32_t i = 0; i < m; ++i) clipped += x[i] < low || x[i] > high ? 1 : 0;
      if (c != 0) out.overflow_count += clipped;
      for (uint32_t i = 0; i < m; ++i) {
        const uint64_t e = begin + i;
        data[e / 2] = static_cast<uint8_t>(data[e / 2] | (index[i] << (4 * (e % 2))));
      }
    }
    const uint64_t done = subs.begin(first + n - 1) + subs.length(first + n - 1);
    if (progress && done - reported >= kReportEvery) {
      reported = done;
      progress(done, count);
    }
  }
  out.slice_count = sub_count;
  return out;
}

std::vector<float> reconstruct_int4k(const QuantizedTensor &q, const std::vector<uint64_t> &shape) {
  if (shape.empty()) fail_inconsistent(q, "int4-k data needs rank >= 1");
  const Slicing subs = group_slicing(shape, kSub);
  const uint64_t count = subs.rows * subs.row_length;
  const uint64_t super_count = ceil_div(subs.count(), kSubsPerSuper);
  if (q.dtype != DType::kU4 || q.data.size() != count / 2 + count % 2) {
    fail_inconsistent(q, "data does not hold one 4-bit index per element");
  }
  if (q.spec.group_size != kSub || q.scale_dtype != DType::kF16 ||
      q.scales.size() != 2 * super_count) {
    fail_inconsistent(q, "expected " + std::to_string(super_count) +
                             " F16 super-block scales and sub-blocks of 16");
  }
  if (q.zero_point_dtype != DType::kU8 || q.zero_points.size() != kRecordBytes * super_count) {
    fail_inconsistent(
        q, "expected " + std::to_string(super_count) + " 14-byte records of sub-block scales");
  }
  std::vector<float> out(count);
  for (uint64_t j = 0; j < subs.count(); ++j) {
    const float d = load_f16(q.scales.data() + 2 * (j / kSubsPerSuper));
    // Both products are exact in f32 (see the top of this file).
    const float scale = d * static_cast<float>(sub_scale_at(q.zero_points, j));
    const uint64_t begin = subs.begin(j), end = begin + subs.length(j);
    for (uint64_t i = begin; i < end; ++i) {
      const uint32_t nibble = (q.data[i / 2] >> (4 * (i % 2))) & 0x0Fu;
      out[i] = scale * kGridF[nibble];
    }
  }
  return out;
}

}  // namespace statepack::quant
