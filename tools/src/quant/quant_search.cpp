// Choosing each slice's scale (and zero point) to minimise the squared reconstruction error,
// not merely to cover the largest value.
//
// For a fixed assignment of levels q, the error at scale s and zero point z is a quadratic,
//   E(s, z) = Sxx - 2 s (Sxq - z Sx) + s^2 (Sqq - 2 z Sq + z^2 n),
// so one pass over the slice (computing q and the sums) prices any (s, z) for that assignment,
// including the least-squares scale s* = sum x (q - z) / sum (q - z)^2 and, for asymmetric
// schemes, the jointly fitted offset. Every scale is rounded to its stored type (f16) before it
// is priced, so the error compared is the error of the stored scale. Re-assigning nearest
// levels for a scale can only lower its error, so the chosen error never rises.
//
// Candidates come in three stages, each priced as above (the scale as given, then the
// least-squares scale of the levels it produced):
//  1. Clipping: the unclipped scale and kClipRatios of it (a few above 1 too: a coarser grid
//     can round the group better than the one that just covers it). Symmetric int4 tries GGUF
//     Q4_0's idea, a scale whose sign puts the value of largest magnitude on the -8 level (the
//     extra level of the two's complement range). Asymmetric schemes shrink the covered range
//     toward zero and let the joint fit move the zero point.
//  2. Fine scan (int8 schemes): scales within a few percent of the best. With 255 levels a
//     change of 0.3% reshuffles every value's rounding error, so nearby scales are nearly
//     independent draws of the rounding noise, and the best of them beats the smooth optimum by
//     far more than it costs (about +0.9 dB on groups of 32). With 15 levels nearby scales give
//     the same levels, so the scan is skipped. The spread of the draws shrinks as 1/sqrt(n), so
//     long slices scan fewer.
//  3. Refinement: rounds of nearest levels at the best scale followed by the fit.
// A negative scale survives only when the slice uses the bottom level (-8); otherwise the scale
// and levels are negated, which reconstructs the same values bit for bit.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "quant_internal.hpp"
#include "statepack/tools/core/error.hpp"

namespace statepack::quant {
namespace {

// Multiples of the unclipped scale (or range) tried in stage 1: dense near 1, where the optimum
// lies for small groups, sparser down to 0.3 for long heavy-tailed channels, and a few above 1
// (worth 0.1 dB for asymmetric int4).
constexpr double kClipRatios[] = {2.00, 1.60, 1.30, 1.15, 1.08, 1.04, 1.00, 0.98, 0.96,
                                  0.94, 0.92, 0.90, 0.88, 0.86, 0.84, 0.82, 0.79, 0.76,
                                  0.73, 0.70, 0.65, 0.60, 0.55, 0.50, 0.40, 0.30};

// Stage 2: relative step between scanned scales, and scales scanned on each side of the best
// for short slices (groups) and long ones (channels, whole tensors).
constexpr double kFineStep = 0.003;
constexpr int kFineStepsShort = 30;
constexpr int kFineStepsLong = 8;
constexpr size_t kShortSlice = 256;

// Stage 3: rounds of (nearest levels, least-squares fit).
constexpr int kRefinements = 3;

// Adding and subtracting 1.5 * 2^23 rounds a float to an integer, ties to even, for |t| < 2^22
// (our levels are within +-256), without a libm call in the inner loop.
constexpr float kRoundMagic = 12582912.0f;
inline float round_even(float t) {
  return (t + kRoundMagic) - kRoundMagic;
}

// One slice's statistics, gathered once.
struct Moments {
  double n = 0;
  double sx = 0;
  double sxx = 0;
  float min = 0;
  float max = 0;
  float amax = 0;
  float extreme = 0;  // the first value of largest magnitude, with its sign
};

Moments moments_of(const float *x, size_t n) {
  Moments m;
  m.n = static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    m.sx += v;
    m.sxx += v * v;
    if (x[i] < m.min) m.min = x[i];
    if (x[i] > m.max) m.max = x[i];
    if (std::fabs(x[i]) > m.amax) {
      m.amax = std::fabs(x[i]);
      m.extreme = x[i];
    }
  }
  return m;
}

// Maps x to its level offset from the zero point: x / scale clamped to [lo, hi] and rounded.
// Multiplies by the reciprocal unless that overflows (scales below 2^-128). Used both to price
// candidates and to assign the final levels, so the two see identical levels.
class LevelMapper {
 public:
  LevelMapper(float scale, int32_t zero_point, LevelRange levels)
      : scale_(scale),
        inverse_(1.0f / scale),
        divide_(!std::isfinite(inverse_)),
        lo_(static_cast<float>(levels.min - zero_point)),
        hi_(static_cast<float>(levels.max - zero_point)) {}

  // The unclamped quotient; compare with clamped() to detect clipping.
  float quotient(float x) const { return divide_ ? x / scale_ : x * inverse_; }
  float clamped(float t) const {
    t = t < lo_ ? lo_ : t;
    return t > hi_ ? hi_ : t;
  }
  float offset(float x) const { return round_even(clamped(quotient(x))); }
  bool divides() const { return divide_; }
  float inverse() const { return inverse_; }
  float lo() const { return lo_; }
  float hi() const { return hi_; }

 private:
  float scale_;
  float inverse_;
  bool divide_;
  float lo_;
  float hi_;
};

// Sums over one level assignment (q are the stored levels, zero point included).
struct LevelSums {
  double sq = 0;
  double sxq = 0;
  double sqq = 0;
};

LevelSums level_sums(const float *x, size_t n, float scale, int32_t zero_point, LevelRange levels) {
  const LevelMapper mapper(scale, zero_point, levels);
  const auto z = static_cast<float>(zero_point);
  LevelSums total;
  size_t i = 0;
  if (!mapper.divides()) {
    // Independent lanes break the dependency chains and let the compiler use vector
    // instructions; the order of the additions is fixed, so the result is deterministic.
    constexpr size_t kLanes = 4;
    const float inverse = mapper.inverse();
    const float lo = mapper.lo();
    const float hi = mapper.hi();
    double sq[kLanes] = {};
    double sxq[kLanes] = {};
    double sqq[kLanes] = {};
    for (; i + kLanes <= n; i += kLanes) {
      for (size_t k = 0; k < kLanes; ++k) {
        float t = x[i + k] * inverse;
        t = t < lo ? lo : t;
        t = t > hi ? hi : t;
        const float q = round_even(t) + z;  // exact: small integers
        sq[k] += static_cast<double>(q);
        sxq[k] += static_cast<double>(x[i + k]) * static_cast<double>(q);
        sqq[k] += static_cast<double>(q * q);
      }
    }
    total.sq = (sq[0] + sq[1]) + (sq[2] + sq[3]);
    total.sxq = (sxq[0] + sxq[1]) + (sxq[2] + sxq[3]);
    total.sqq = (sqq[0] + sqq[1]) + (sqq[2] + sqq[3]);
  }
  for (; i < n; ++i) {
    const float q = mapper.offset(x[i]) + z;
    total.sq += static_cast<double>(q);
    total.sxq += static_cast<double>(x[i]) * static_cast<double>(q);
    total.sqq += static_cast<double>(q * q);
  }
  return total;
}

// The search over one slice: candidates are priced against the best so far.
class ScaleSearch {
 public:
  ScaleSearch(const float *x, size_t n, const SearchSpec &spec, const Moments &m)
      : x_(x), n_(n), spec_(spec), m_(m) {
    // Reconstructing zeros is always possible (q = z); every candidate must beat it.
    best_params_.scale = 0;
    best_params_.zero_point = clamp_level(0);
    best_error_ = m.sxx;
  }

  // Prices a starting point (scale rounded to the stored type first), then the least-squares
  // fits of the same level assignment.
  void try_start(double raw_scale, int32_t zero_point) {
    const float scale = representable_scale(raw_scale, spec_.scale_type);
    if (!usable(scale)) return;
    const LevelSums sums = level_sums(x_, n_, scale, zero_point, spec_.levels);
    consider(scale, zero_point, sums);
    fit(zero_point, sums);
  }

  // Asymmetric starting point: the range [lo, hi] spread over all levels.
  void try_range(double lo, double hi) {
    const double steps = spec_.levels.max - spec_.levels.min;
    const float scale = representable_scale((hi - lo) / steps, spec_.scale_type);
    if (!usable(scale)) return;
    const double z = std::nearbyint(spec_.levels.min - lo / static_cast<double>(scale));
    try_start(scale, clamp_level(z));
  }

  // Scales `steps` relative steps either side of the best, at its zero point.
  void scan_near_best(int steps) {
    const SliceParams center = best_params_;
    if (center.scale == 0) return;
    for (int j = 1; j <= steps; ++j) {
      try_start(center.scale * (1 - j * kFineStep), center.zero_point);
      try_start(center.scale * (1 + j * kFineStep), center.zero_point);
    }
  }

  // Rounds of nearest levels at the best parameters and a fresh least-squares fit.
  void refine() {
    for (int round = 0; round < kRefinements && best_params_.scale != 0; ++round) {
      const SliceParams before = best_params_;
      const LevelSums sums = level_sums(x_, n_, before.scale, before.zero_point, spec_.levels);
      consider(before.scale, before.zero_point, sums);
      fit(before.zero_point, sums);
      if (best_params_.scale == before.scale && best_params_.zero_point == before.zero_point) {
        break;
      }
    }
  }

  const SliceParams &best() const { return best_params_; }

 private:
  static bool usable(float scale) { return scale != 0 && std::isfinite(scale); }

  int32_t clamp_level(double z) const {
    if (z < spec_.levels.min) return spec_.levels.min;
    if (z > spec_.levels.max) return spec_.levels.max;
    return static_cast<int32_t>(z);
  }

  double error_of(double scale, double z, const LevelSums &sums) const {
    const double cross = sums.sxq - z * m_.sx;                      // sum x (q - z)
    const double norm = sums.sqq - 2 * z * sums.sq + z * z * m_.n;  // sum (q - z)^2
    const double error = m_.sxx - 2 * scale * cross + scale * scale * norm;
    return error > 0 ? error : 0;
  }

  void consider(float scale, int32_t zero_point, const LevelSums &sums) {
    if (!usable(scale)) return;
    if (spec_.asymmetric && scale < 0) return;
    const double error = error_of(scale, zero_point, sums);
    if (error < best_error_) {
      best_error_ = error;
      best_params_.scale = scale;
      best_params_.zero_point = zero_point;
    }
  }

  // The least-squares scale for zero point z and this assignment, rounded to the stored type.
  void fit_scale(int32_t z, const LevelSums &sums) {
    const double zd = z;
    const double norm = sums.sqq - 2 * zd * sums.sq + zd * zd * m_.n;
    if (norm <= 0) return;
    const double cross = sums.sxq - zd * m_.sx;
    consider(representable_scale(cross / norm, spec_.scale_type), z, sums);
  }

  void fit(int32_t zero_point, const LevelSums &sums) {
    fit_scale(zero_point, sums);
    if (!spec_.asymmetric) return;
    // Joint fit x ~ a q + b, then the integer zero points either side of -b / a.
    const double det = m_.n * sums.sqq - sums.sq * sums.sq;
    if (det <= 0) return;
    const double a = (m_.n * sums.sxq - m_.sx * sums.sq) / det;
    if (!(a > 0)) return;
    const double b = (m_.sx - a * sums.sq) / m_.n;
    const double z = -b / a;
    if (!std::isfinite(z)) return;
    const int32_t below = clamp_level(std::floor(z));
    const int32_t above = clamp_level(std::ceil(z));
    if (below != zero_point) fit_scale(below, sums);
    if (above != zero_point && above != below) fit_scale(above, sums);
  }

  const float *x_;
  size_t n_;
  SearchSpec spec_;
  Moments m_;
  SliceParams best_params_;
  double best_error_;
};

// The smallest scale magnitude that represents every value without clipping.
double unclipped_scale(const Moments &m, const SearchSpec &spec) {
  if (spec.asymmetric) {
    const double span = static_cast<double>(m.max > 0 ? m.max : 0.0f) - (m.min < 0 ? m.min : 0.0f);
    return span / (spec.levels.max - spec.levels.min);
  }
  const double top =
      spec.signed_scale && -spec.levels.min > spec.levels.max ? -spec.levels.min : spec.levels.max;
  return m.amax / top;
}

// (-q) * (-s) == q * s exactly in IEEE arithmetic, so a negative scale whose levels all have
// negatives in range is flipped to the positive one a reader expects.
SliceParams prefer_positive_scale(SliceParams params, LevelRange levels, int8_t *q, size_t n) {
  if (!(params.scale < 0) || params.zero_point != 0) return params;
  for (size_t i = 0; i < n; ++i) {
    if (-q[i] < levels.min || -q[i] > levels.max) return params;
  }
  for (size_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(-q[i]);
  params.scale = -params.scale;
  return params;
}

}  // namespace

float representable_scale(double scale, ScaleType type) {
  const auto f = static_cast<float>(scale);
  if (type == ScaleType::kF32) return f;
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  const uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude >= 0x38800000u && magnitude < 0x477FF000u) {
    // f16's normal range (2^-14 up to the point that rounds to infinity): round the f32
    // mantissa to 10 bits, ties to even, in place. The same result as the round trip below,
    // which the search would otherwise pay for on every candidate.
    bits = (bits + 0x0FFFu + ((bits >> 13) & 1u)) & ~0x1FFFu;
    float rounded;
    std::memcpy(&rounded, &bits, sizeof(rounded));
    return rounded;
  }
  return f16_to_f32(f32_to_f16(f));
}

std::optional<SliceParams> search_params(const float *x, size_t n, const SearchSpec &spec) {
  const Moments m = moments_of(x, n);
  ScaleSearch search(x, n, spec, m);
  if (m.amax == 0) return search.best();  // all zeros: scale 0
  if (!std::isfinite(representable_scale(unclipped_scale(m, spec), spec.scale_type))) {
    return std::nullopt;
  }
  if (spec.asymmetric) {
    const double lo = m.min < 0 ? m.min : 0.0f;
    const double hi = m.max > 0 ? m.max : 0.0f;
    for (const double ratio : kClipRatios) search.try_range(ratio * lo, ratio * hi);
  } else {
    // With signed scales the extreme value goes on the top level, or on the bottom level
    // (GGUF Q4_0), whatever its sign; otherwise the scale is positive.
    const double sign = spec.signed_scale && m.extreme < 0 ? -1.0 : 1.0;
    const bool bottom_too = spec.signed_scale && -spec.levels.min != spec.levels.max;
    for (const double ratio : kClipRatios) {
      search.try_start(sign * ratio * m.amax / spec.levels.max, 0);
      if (bottom_too) search.try_start(-sign * ratio * m.amax / -spec.levels.min, 0);
    }
  }
  if (spec.levels.max - spec.levels.min > 15) {  // int8, not int4
    search.scan_near_best(n <= kShortSlice ? kFineStepsShort : kFineStepsLong);
  }
  search.refine();
  return search.best();
}

uint64_t assign_levels(const float *x, size_t n, const SliceParams &params, LevelRange levels,
                       int8_t *q) {
  if (params.scale == 0) {
    for (size_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(params.zero_point);
    return 0;
  }
  const LevelMapper mapper(params.scale, params.zero_point, levels);
  uint64_t clipped = 0;
  for (size_t i = 0; i < n; ++i) {
    const float t = mapper.quotient(x[i]);
    const float offset = round_even(mapper.clamped(t));
    // Clipped: the nearest level lies outside the range (checked on the clamped-by-one value,
    // so huge quotients stay within round_even's domain).
    const float wide = round_even(t < mapper.lo() - 1   ? mapper.lo() - 1
                                  : t > mapper.hi() + 1 ? mapper.hi() + 1
                                                        : t);
    if (wide != offset) ++clipped;
    q[i] = static_cast<int8_t>(static_cast<int32_t>(offset) + params.zero_point);
  }
  return clipped;
}

SlicedLevels quantize_slices(const std::string &name, const std::string &scheme,
                             const float *values, const Slicing &slicing, const SearchSpec &spec,
                             const QuantProgress &progress) {
  // Reported every kReportEvery elements: often enough for a bar, rare enough to cost nothing.
  constexpr uint64_t kReportEvery = uint64_t{1} << 20;
  const uint64_t total = slicing.rows * slicing.row_length;
  uint64_t reported = 0;
  SlicedLevels out;
  out.levels.resize(slicing.rows * slicing.row_length);
  out.params.resize(slicing.count());
  for (uint64_t j = 0; j < out.params.size(); ++j) {
    const float *x = values + slicing.begin(j);
    const size_t n = slicing.length(j);
    const std::optional<SliceParams> params = search_params(x, n, spec);
    if (!params) {
      float amax = 0;
      for (size_t i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
      char text[160];
      std::snprintf(text, sizeof(text),
                    "values up to %.6g need a scale beyond f16's largest (65504) in %s; use "
                    "int8 (f32 scales)",
                    static_cast<double>(amax), scheme.c_str());
      fail_input("tensor \"" + name + "\"", text);
    }
    if (params->scale == 0) {
      // The search keeps scale 0 only when no scale the type holds does better: for nonzero
      // values that means every candidate underflowed (f16 below 6e-8), and they decode as 0.
      for (size_t i = 0; i < n; ++i) {
        if (x[i] != 0) {
          ++out.underflowed;
          break;
        }
      }
    }
    int8_t *q = out.levels.data() + slicing.begin(j);
    out.clipped += assign_levels(x, n, *params, spec.levels, q);
    out.params[j] = prefer_positive_scale(*params, spec.levels, q, n);
    const uint64_t done = slicing.begin(j) + n;
    if (progress && done - reported >= kReportEvery) {
      progress(done, total);
      reported = done;
    }
  }
  return out;
}

}  // namespace statepack::quant
