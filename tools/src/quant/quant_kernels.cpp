// SPDX-License-Identifier: Apache-2.0
// The scale search's passes over a slice, written for the compiler's vector instructions
// without intrinsics or target flags: GCC and Clang's portable vector types (4 floats, the
// width every 64-bit target has), whose operations are the IEEE ones element by element, so
// the results are the same with any instruction set. Floats are summed in lanes over chunks of
// kChunk elements and the chunks in double, in a fixed order.
#include "quant_kernels.hpp"

#include <cmath>
#include <cstring>

namespace statepack::quant {
namespace {

// Below this magnitude, squares and products of values fall out of float's normal range.
constexpr float kTinyValue = 1e-18f;

// Whether sums of squares and products summed in float lanes can be used: `sum` (one of them,
// in double) is finite, so no square or product overflowed float (values beyond 1.8e19), and
// `size` (the largest magnitude, or the scale: negative scales are f16's, never tiny) is 0 or
// at least kTinyValue, so none fell below float's normal range and lost precision. Otherwise
// the caller sums again in double.
bool float_sums_in_range(double sum, float size) {
  return std::isfinite(sum) && !(size > 0 && size < kTinyValue);
}

typedef float Vec __attribute__((vector_size(16)));
constexpr size_t kWidth = 4;
// Elements summed in float lanes before joining the double totals. Levels are integers of
// magnitude <= 255, so per lane (kChunk / 8 = 32 elements) sum q and sum q^2 stay below 2^24
// and are exact; sums involving x round like any float sum, far below the differences between
// the candidates the search compares.
constexpr size_t kChunk = 256;

Vec splat(float v) {
  return Vec{v, v, v, v};
}
Vec load(const float *p) {
  Vec v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
// a > b ? a : b is x86's maxps and AArch64's fmax semantics for non-NaN input (finite only).
Vec vmax(Vec a, Vec b) {
  return a > b ? a : b;
}
Vec vmin(Vec a, Vec b) {
  return a < b ? a : b;
}
double lane_sum(Vec v) {
  return (static_cast<double>(v[0]) + static_cast<double>(v[1])) +
         (static_cast<double>(v[2]) + static_cast<double>(v[3]));
}

// Adding and subtracting 1.5 * 2^23 rounds a float to an integer, ties to even, for |t| < 2^22.
constexpr float kRoundMagic = 12582912.0f;

// Calls block(v0, v1) for x[begin, end) eight values at a time, the ragged end padded with
// zeros; returns how many zeros were padded.
template <typename Block>
size_t for_each_eight(const float *x, size_t begin, size_t end, Block &&block) {
  size_t i = begin;
  for (; i + 2 * kWidth <= end; i += 2 * kWidth) block(load(x + i), load(x + i + kWidth));
  if (i == end) return 0;
  float padded[2 * kWidth] = {};
  std::memcpy(padded, x + i, (end - i) * sizeof(float));
  block(load(padded), load(padded + kWidth));
  return 2 * kWidth - (end - i);
}

// measure_slice's sums, in double like measure_quality (the figures are reported and stored,
// not only compared): element i of a slice goes to accumulator i % 4, two accumulators per
// vector of two doubles.
typedef double Pair __attribute__((vector_size(16)));
struct QualitySums {
  Pair signal[2] = {}, noise[2] = {}, max_error[2] = {};

  // Four consecutive values (from a multiple of four) and the values a reader decodes for them.
  void add(Vec v, Vec decoded) {
    for (size_t h = 0; h < 2; ++h) {
      const Pair vd = {static_cast<double>(v[2 * h]), static_cast<double>(v[2 * h + 1])};
      const Pair dd = {static_cast<double>(decoded[2 * h]),
                       static_cast<double>(decoded[2 * h + 1])};
      const Pair d = vd - dd;
      signal[h] += vd * vd;
      noise[h] += d * d;
      const Pair magnitude = d < 0 ? -d : d;
      max_error[h] = magnitude > max_error[h] ? magnitude : max_error[h];
    }
  }
  // One value, to accumulator k.
  void add_one(size_t k, float x, float decoded) {
    const double d = static_cast<double>(x) - static_cast<double>(decoded);
    signal[k / 2][k % 2] += static_cast<double>(x) * static_cast<double>(x);
    noise[k / 2][k % 2] += d * d;
    max_error[k / 2][k % 2] = std::fmax(max_error[k / 2][k % 2], std::fabs(d));
  }
  SliceQuality total() const {
    SliceQuality out;
    out.signal = (signal[0][0] + signal[0][1]) + (signal[1][0] + signal[1][1]);
    out.noise = (noise[0][0] + noise[0][1]) + (noise[1][0] + noise[1][1]);
    out.max_error = std::fmax(std::fmax(max_error[0][0], max_error[0][1]),
                              std::fmax(max_error[1][0], max_error[1][1]));
    return out;
  }
};

}  // namespace

Moments moments_of(const float *x, size_t n) {
  Moments m;
  m.n = static_cast<double>(n);
  Vec lo = splat(0);
  Vec hi = splat(0);
  for (size_t begin = 0; begin < n; begin += kChunk) {
    const size_t end = n - begin < kChunk ? n : begin + kChunk;
    Vec sx[2] = {};
    Vec sxx[2] = {};
    // Zeros add nothing to the sums, and min and max start at 0.
    for_each_eight(x, begin, end, [&](Vec v0, Vec v1) {
      sx[0] += v0;
      sx[1] += v1;
      sxx[0] += v0 * v0;
      sxx[1] += v1 * v1;
      lo = vmin(lo, vmin(v0, v1));
      hi = vmax(hi, vmax(v0, v1));
    });
    m.sx += lane_sum(sx[0] + sx[1]);
    m.sxx += lane_sum(sxx[0] + sxx[1]);
  }
  const float top = std::fmax(-std::fmin(std::fmin(lo[0], lo[1]), std::fmin(lo[2], lo[3])),
                              std::fmax(std::fmax(hi[0], hi[1]), std::fmax(hi[2], hi[3])));
  if (!float_sums_in_range(m.sxx, top)) {
    // Squares beyond float's range (values above 1.8e19), or below its normal range (values
    // under 1e-18 square into subnormals or zero): the sums again in double.
    m.sx = m.sxx = 0;
    for (size_t i = 0; i < n; ++i) {
      m.sx += static_cast<double>(x[i]);
      m.sxx += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    }
  }
  m.min = std::fmin(std::fmin(lo[0], lo[1]), std::fmin(lo[2], lo[3]));
  m.max = std::fmax(std::fmax(hi[0], hi[1]), std::fmax(hi[2], hi[3]));
  m.amax = std::fmax(-m.min, m.max);
  for (size_t i = 0; i < n && m.amax != 0; ++i) {
    if (std::fabs(x[i]) == m.amax) {
      m.extreme = x[i];
      break;
    }
  }
  return m;
}

namespace {

// kOffset: the levels have a zero point (asymmetric schemes), and sum q is wanted for the
// joint fit; without it the zero point is 0 and sum q is left at 0.
template <bool kOffset>
LevelSums level_sums_of(const float *x, size_t n, float scale, int32_t zero_point,
                        LevelRange levels) {
  const float z = static_cast<float>(zero_point);
  const Vec lo = splat(static_cast<float>(levels.min - zero_point));
  const Vec hi = splat(static_cast<float>(levels.max - zero_point));
  const Vec zv = splat(z);
  const Vec magic = splat(kRoundMagic);
  const float inverse_scalar = 1.0f / scale;
  // Below 2^-128 the reciprocal overflows: divide instead (never on real weights).
  const bool divide = !std::isfinite(inverse_scalar);
  const Vec inverse = splat(inverse_scalar);
  const Vec scale_v = splat(scale);
  LevelSums total;
  for (size_t begin = 0; begin < n; begin += kChunk) {
    const size_t end = n - begin < kChunk ? n : begin + kChunk;
    Vec sq[2] = {};
    Vec sxq[2] = {};
    Vec sqq[2] = {};
    const auto level = [&](Vec v) {
      const Vec t = vmin(vmax(divide ? v / scale_v : v * inverse, lo), hi);
      const Vec q = (t + magic) - magic;  // exact: small integers
      return kOffset ? q + zv : q;
    };
    const size_t pad = for_each_eight(x, begin, end, [&](Vec v0, Vec v1) {
      const Vec q0 = level(v0);
      const Vec q1 = level(v1);
      if (kOffset) {
        sq[0] += q0;
        sq[1] += q1;
      }
      sxq[0] += v0 * q0;
      sxq[1] += v1 * q1;
      sqq[0] += q0 * q0;
      sqq[1] += q1 * q1;
    });
    // A padded zero's level is the zero point: take it back out.
    const double pads = static_cast<double>(pad);
    if (kOffset) total.sq += lane_sum(sq[0] + sq[1]) - pads * z;
    total.sxq += lane_sum(sxq[0] + sxq[1]);
    total.sqq += lane_sum(sqq[0] + sqq[1]) - pads * z * z;
  }
  return total;
}

}  // namespace

LevelSums level_sums(const float *x, size_t n, float scale, int32_t zero_point, LevelRange levels,
                     bool offset) {
  const LevelSums sums = offset ? level_sums_of<true>(x, n, scale, zero_point, levels)
                                : level_sums_of<false>(x, n, scale, 0, levels);
  if (float_sums_in_range(sums.sxq, scale)) return sums;
  // Products beyond float's range (values above 1e36), or of values so small that their
  // products lose precision in float (scales under 1e-18): the same levels, summed in double.
  LevelSums total;
  const float inverse = 1.0f / scale;
  const auto lo = static_cast<float>(levels.min - zero_point);
  const auto hi = static_cast<float>(levels.max - zero_point);
  for (size_t i = 0; i < n; ++i) {
    float t = std::isfinite(inverse) ? x[i] * inverse : x[i] / scale;
    t = t < lo ? lo : (t > hi ? hi : t);
    const double q = static_cast<double>((t + kRoundMagic) - kRoundMagic) + zero_point;
    total.sq += q;
    total.sxq += static_cast<double>(x[i]) * q;
    total.sqq += q * q;
  }
  return total;
}

uint64_t assign_levels(const float *x, size_t n, const SliceParams &params, LevelRange levels,
                       int8_t *q, SliceQuality *quality) {
  if (params.scale == 0) {
    for (size_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(params.zero_point);
    if (quality != nullptr) *quality = measure_slice(x, q, n, params);
    return 0;
  }
  const float inverse_scalar = 1.0f / params.scale;
  const bool divide = !std::isfinite(inverse_scalar);
  const Vec inverse = splat(inverse_scalar);
  const Vec scale = splat(params.scale);
  const auto lo_scalar = static_cast<float>(levels.min - params.zero_point);
  const auto hi_scalar = static_cast<float>(levels.max - params.zero_point);
  const Vec lo = splat(lo_scalar);
  const Vec hi = splat(hi_scalar);
  // Clipped: the nearest level lies outside the range, seen on the quotient clamped one level
  // wider (so huge quotients stay within the rounding trick's domain).
  const Vec wide_lo = splat(lo_scalar - 1);
  const Vec wide_hi = splat(hi_scalar + 1);
  const Vec magic = splat(kRoundMagic);
  typedef int32_t Ints __attribute__((vector_size(16)));
  const Ints zero_point = {params.zero_point, params.zero_point, params.zero_point,
                           params.zero_point};
  // Lanes count clipped values down from 0 (a true comparison is -1), kept apart from the
  // padded tail, whose zeros are never clipped.
  Ints clipped = {};
  // measure_slice's sums, in its order (the padded tail's zeros decode exactly and add
  // nothing): the decoded value float(q - z) * scale is the offset level times the scale.
  QualitySums sums;
  size_t i = 0;
  const auto four = [&](Vec v, int8_t *out, size_t count) {
    const Vec t = divide ? v / scale : v * inverse;
    const Vec offset = ((vmin(vmax(t, lo), hi) + magic) - magic);
    const Vec wide = ((vmin(vmax(t, wide_lo), wide_hi) + magic) - magic);
    clipped += wide != offset;
    if (quality != nullptr) sums.add(v, offset * scale);
    const Ints stored = __builtin_convertvector(offset, Ints) + zero_point;
    int8_t bytes[kWidth];
    for (size_t k = 0; k < kWidth; ++k) bytes[k] = static_cast<int8_t>(stored[k]);
    std::memcpy(out, bytes, count);
  };
  for (; i + kWidth <= n; i += kWidth) four(load(x + i), q + i, kWidth);
  if (i < n) {
    float padded[kWidth] = {};
    std::memcpy(padded, x + i, (n - i) * sizeof(float));
    four(load(padded), q + i, n - i);
  }
  if (quality != nullptr) *quality = sums.total();
  return static_cast<uint64_t>(
      -(static_cast<int64_t>(clipped[0]) + clipped[1] + clipped[2] + clipped[3]));
}

SliceQuality measure_slice(const float *x, const int8_t *q, size_t n, const SliceParams &params) {
  const int32_t z = params.zero_point;
  QualitySums sums;
  const Vec scale = splat(params.scale);
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    // The value reconstruct() and the runtime decode: float(q - z) * scale.
    const Vec levels = {static_cast<float>(q[i] - z), static_cast<float>(q[i + 1] - z),
                        static_cast<float>(q[i + 2] - z), static_cast<float>(q[i + 3] - z)};
    sums.add(load(x + i), levels * scale);
  }
  for (size_t k = 0; i < n; ++i, ++k) {
    sums.add_one(k, x[i], static_cast<float>(static_cast<int32_t>(q[i]) - z) * params.scale);
  }
  return sums.total();
}

// ---- ClipModel ----

void ClipModel::Side::add(double magnitude) {
  const double at = (magnitude - base) * inverse_width;
  const size_t b = !(at > 0) ? 0 : at >= kBins - 1 ? kBins - 1 : static_cast<size_t>(at);
  count[b] += 1;
  sum[b] += magnitude;
  squares[b] += magnitude * magnitude;
}

void ClipModel::Side::build() {
  for (size_t b = kBins; b-- > 0;) {
    count[b] += count[b + 1];
    sum[b] += sum[b + 1];
    squares[b] += squares[b + 1];
  }
}

double ClipModel::Side::clipped(double edge, double top, double *beyond) const {
  *beyond = 0;
  if (width <= 0) return 0;
  // Bins wholly beyond the edge; the one it cuts counts as not clipped.
  const double first = std::ceil((edge - base) / width);
  if (first >= static_cast<double>(kBins)) return 0;
  const size_t b = first <= 0 ? 0 : static_cast<size_t>(first);
  *beyond = count[b];
  const double error = squares[b] - 2 * top * sum[b] + top * top * count[b];
  return error > 0 ? error : 0;
}

ClipModel::ClipModel(const float *x, size_t n, const Moments &m, double floor) {
  n_ = static_cast<double>(n);
  negative_.base = floor * -static_cast<double>(m.min);
  negative_.width = (-static_cast<double>(m.min) - negative_.base) / kBins;
  positive_.base = floor * static_cast<double>(m.max);
  positive_.width = (static_cast<double>(m.max) - positive_.base) / kBins;
  for (Side *side : {&negative_, &positive_}) {
    side->inverse_width = side->width > 0 ? 1 / side->width : 0;
  }
  // Most values lie below the floor on their side: four at a time are checked at once, and
  // only the groups holding one of the others are binned one by one.
  const auto negative_base = static_cast<float>(negative_.base);
  const auto positive_base = static_cast<float>(positive_.base);
  const Vec low = splat(-negative_base);
  const Vec high = splat(positive_base);
  const auto bin = [&](size_t i) {
    if (x[i] > positive_base && positive_.width > 0) {
      positive_.add(x[i]);
    } else if (-x[i] > negative_base && negative_.width > 0) {
      negative_.add(-static_cast<double>(x[i]));
    }
  };
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    const Vec v = load(x + i);
    const auto beyond = (v > high) | (v < low);
    if ((beyond[0] | beyond[1] | beyond[2] | beyond[3]) == 0) continue;
    for (size_t k = 0; k < kWidth; ++k) bin(i + k);
  }
  for (; i < n; ++i) bin(i);
  negative_.build();
  positive_.build();
}

double ClipModel::error(double scale, double z, LevelRange levels) const {
  double above = 0, below = 0;
  const double top = (levels.max - z) * scale;
  const double bottom = (z - levels.min) * scale;  // magnitude of the lowest level's value
  const double error = positive_.clipped(top + scale / 2, top, &above) +
                       negative_.clipped(bottom + scale / 2, bottom, &below);
  return error + (n_ - above - below) * scale * scale / 12;
}

}  // namespace statepack::quant
