// SPDX-License-Identifier: Apache-2.0
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
//     toward zero and let the joint fit move the zero point. 4-bit grids start from fewer
//     ratios (kCoarseRatios). Long int8 slices (channels, whole tensors) price a dense grid of
//     ratios on ClipModel instead (a histogram of the values a ratio may clip, and scale^2 / 12
//     for each value it rounds), without a pass each, and start the exact search from the best.
//  2. Fine scan (int8 schemes): scales within a few percent of the best. With 255 levels a
//     change of 0.3% reshuffles every value's rounding error, so nearby scales are nearly
//     independent draws of the rounding noise, and the best of them beats the smooth optimum by
//     far more than it costs (about +0.9 dB on groups of 32). With 15 levels nearby scales give
//     the same levels, so the scan is skipped. The spread of the draws shrinks as 1/sqrt(n), so
//     long slices scan fewer.
//  3. Refinement: rounds of nearest levels at the best scale followed by the fit.
// A negative scale survives only when the slice uses the bottom level (-8); otherwise the scale
// and levels are negated, which reconstructs the same values bit for bit.
//
// Each pass is one of quant_kernels.cpp's vectorised loops, and full-length groups with f16
// scales are searched four at a time, one per vector lane (quant_lanes.cpp). Together these
// keep SQNR within 0.05 dB of the 26-ratio exact search they replaced (per tensor, on
// ResNet-18 and on seeded synthetic weights; quant_search_test checks them against brute
// force) at 6 to 12 times its speed (int8-g32: almost 4). Long int8 slices scan 3 steps each
// side: 6 gained 0.01 dB on ResNet-18 for a fifth more time.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <mutex>
#include <vector>

#include "quant_internal.hpp"
#include "quant_kernels.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/parallel.hpp"

namespace statepack::quant {
namespace {

// Multiples of the unclipped scale (or range) tried in stage 1: dense near 1, where the optimum
// lies for small groups, sparser down to 0.3 for long heavy-tailed channels, and a few above 1
// (worth 0.1 dB for asymmetric int4).
constexpr double kClipRatios[] = {2.00, 1.60, 1.30, 1.15, 1.08, 1.04, 1.00, 0.98, 0.96,
                                  0.94, 0.92, 0.90, 0.88, 0.86, 0.84, 0.82, 0.79, 0.76,
                                  0.73, 0.70, 0.65, 0.60, 0.55, 0.50, 0.40, 0.30};

// Stage 1 for 4-bit grids: with 15 levels every start is followed by a fit that moves the scale
// to its assignment's optimum, so fewer starts reach the same optima. Measured on ResNet-18 and
// the synthetic weights of quant_bench, 9 (1.15, 1.04, 1.00, 0.96 .. 0.73) lost at most 0.02 dB
// against the 26 above (int4-g32, -g128 and -asym), at a third of the cost; these 7 lose at
// most 0.011 dB more per ResNet-18 tensor (0.006 on average, every 4-bit scheme), for a seventh
// less time.
constexpr double kCoarseRatios[] = {1.15, 1.04, 1.00, 0.94, 0.88, 0.82, 0.76};

// Stage 2: relative step between scanned scales, and scales scanned on each side of the best
// for short slices (groups) and long ones (channels, whole tensors).
constexpr double kFineStep = 0.003;
constexpr int kFineStepsShort = 30;
constexpr int kFineStepsLong = 3;
constexpr size_t kShortSlice = 256;

// Long int8 slices choose their clipping on ClipModel: ratios of the unclipped scale from 1
// down to a floor, kModelStep apart. A high floor leaves few values to bin (even of a uniform
// distribution, whose best ratio is near 1); lower ones, down to where stage 1 of short slices
// goes, serve heavier tails, which leave few values near their largest.
constexpr double kModelFloors[] = {0.85, 0.6, 0.3};
constexpr double kModelStep = 0.01;

// Stage 3: rounds of (nearest levels, least-squares fit).
constexpr int kRefinements = 3;

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
    const LevelSums sums = level_sums(x_, n_, scale, zero_point, spec_.levels, spec_.asymmetric);
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
      const LevelSums sums =
          level_sums(x_, n_, before.scale, before.zero_point, spec_.levels, spec_.asymmetric);
      consider(before.scale, before.zero_point, sums);
      fit(before.zero_point, sums);
      if (best_params_.scale == before.scale && best_params_.zero_point == before.zero_point) {
        break;
      }
    }
  }

  const SliceParams &best() const { return best_params_; }

  int32_t clamp_level(double z) const {
    if (z < spec_.levels.min) return spec_.levels.min;
    if (z > spec_.levels.max) return spec_.levels.max;
    return static_cast<int32_t>(z);
  }

 private:
  static bool usable(float scale) { return scale != 0 && std::isfinite(scale); }

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
  const bool fine_grid = spec.levels.max - spec.levels.min > 15;  // int8, not int4
  const double lo = m.min < 0 ? m.min : 0.0f;
  const double hi = m.max > 0 ? m.max : 0.0f;
  const double *const ratios = fine_grid ? kClipRatios : kCoarseRatios;
  const size_t ratio_count = fine_grid ? std::size(kClipRatios) : std::size(kCoarseRatios);
  if (fine_grid && n > kShortSlice && !spec.signed_scale) {
    // Stage 1 on the model: ratios from 1 down to a floor, kModelStep apart, priced without a
    // pass; the floor drops (and the model is rebuilt) only when the best ratio lies on it.
    double best_ratio = 1;
    for (const double floor : kModelFloors) {
      const ClipModel model(x, n, m, floor);
      double best_error = std::numeric_limits<double>::infinity();
      const int steps = static_cast<int>(std::lround((1 - floor) / kModelStep));
      for (int step = 0; step <= steps; ++step) {
        const double ratio = 1 - step * kModelStep;
        double scale = 0, z = 0;
        if (spec.asymmetric) {
          scale = representable_scale(ratio * (hi - lo) / (spec.levels.max - spec.levels.min),
                                      spec.scale_type);
          z = search.clamp_level(std::nearbyint(spec.levels.min - ratio * lo / scale));
        } else {
          scale = representable_scale(ratio * m.amax / spec.levels.max, spec.scale_type);
        }
        if (!(scale > 0) || !std::isfinite(scale)) continue;
        const double error = model.error(scale, z, spec.levels);
        if (error < best_error) {
          best_error = error;
          best_ratio = ratio;
        }
      }
      if (best_ratio > floor + kModelStep / 2) break;
    }
    if (spec.asymmetric) {
      search.try_range(best_ratio * lo, best_ratio * hi);
    } else {
      search.try_start(best_ratio * m.amax / spec.levels.max, 0);
    }
  } else if (spec.asymmetric) {
    for (size_t r = 0; r < ratio_count; ++r) search.try_range(ratios[r] * lo, ratios[r] * hi);
  } else {
    // With signed scales the extreme value goes on the top level, or on the bottom level
    // (GGUF Q4_0), whatever its sign; otherwise the scale is positive.
    const double sign = spec.signed_scale && m.extreme < 0 ? -1.0 : 1.0;
    const bool bottom_too = spec.signed_scale && -spec.levels.min != spec.levels.max;
    for (size_t r = 0; r < ratio_count; ++r) {
      search.try_start(sign * ratios[r] * m.amax / spec.levels.max, 0);
      if (bottom_too) search.try_start(-sign * ratios[r] * m.amax / -spec.levels.min, 0);
    }
  }
  if (fine_grid) search.scan_near_best(n <= kShortSlice ? kFineStepsShort : kFineStepsLong);
  search.refine();
  return search.best();
}

SlicedLevels quantize_slices(const std::string &name, const std::string &scheme,
                             const float *values, const Slicing &slicing, const SearchSpec &spec,
                             const QuantProgress &progress, unsigned threads) {
  // Reported every kReportEvery elements: often enough for a bar, rare enough to cost nothing.
  constexpr uint64_t kReportEvery = uint64_t{1} << 20;
  // Slices are handed to threads in batches of about kBatchElements elements; each slice's
  // result depends on its values alone, so neither the batches nor the threads change it.
  constexpr uint64_t kBatchElements = uint64_t{1} << 16;
  const uint64_t total = slicing.rows * slicing.row_length;
  const uint64_t slices = slicing.count();
  const uint64_t longest = slicing.group == 0 ? slicing.row_length : slicing.group;
  const uint64_t per_batch = std::max<uint64_t>(1, kBatchElements / std::max<uint64_t>(1, longest));
  const uint64_t batches = (slices + per_batch - 1) / per_batch;
  constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

  SlicedLevels out;
  out.levels.resize(total);
  out.params.resize(slices);
  std::vector<uint64_t> clipped(batches, 0), underflowed(batches, 0), failed(batches, kNone);
  std::vector<SliceQuality> quality(batches);
  std::atomic<uint64_t> done{0};
  std::mutex report_mutex;
  uint64_t reported = 0;
  parallel_for(batches, resolve_threads(threads), [&](uint64_t batch) {
    const uint64_t first = batch * per_batch;
    const uint64_t last = std::min(slices, first + per_batch);
    uint64_t elements = 0;
    // Full-length short groups with f16 scales are searched kLanes at a time; a ragged batch end
    // fills its spare lanes with copies of its first group (each lane's result is its own group's).
    std::vector<std::optional<SliceParams>> searched(last - first);
    std::vector<uint64_t> pending;
    const auto flush = [&](size_t n) {
      if (pending.empty()) return;
      const float *lanes[kLanes];
      std::optional<SliceParams> found[kLanes];
      for (size_t k = 0; k < kLanes; ++k) {
        lanes[k] = values + slicing.begin(pending[k < pending.size() ? k : 0]);
      }
      search_params_lanes(lanes, n, spec, found);
      for (size_t k = 0; k < pending.size(); ++k) searched[pending[k] - first] = found[k];
      pending.clear();
    };
    const size_t full = slicing.group == 0 ? slicing.row_length : slicing.group;
    if (lane_searchable(spec, full)) {
      for (uint64_t j = first; j < last; ++j) {
        if (slicing.length(j) != full) continue;
        pending.push_back(j);
        if (pending.size() == kLanes) flush(full);
      }
      flush(full);
    }
    for (uint64_t j = first; j < last; ++j) {
      const float *x = values + slicing.begin(j);
      const size_t n = slicing.length(j);
      elements += n;
      const std::optional<SliceParams> params = lane_searchable(spec, full) && n == full
                                                    ? searched[j - first]
                                                    : search_params(x, n, spec);
      if (!params) {
        failed[batch] = j;  // the error is raised below, for the first such slice of all
        return;
      }
      if (params->scale == 0) {
        // The search keeps scale 0 only when no scale the type holds does better: for nonzero
        // values that means every candidate underflowed (f16 below 6e-8), and they decode as 0.
        for (size_t i = 0; i < n; ++i) {
          if (x[i] != 0) {
            ++underflowed[batch];
            break;
          }
        }
      }
      int8_t *q = out.levels.data() + slicing.begin(j);
      // Measured before prefer_positive_scale, which decodes to the same values bit for bit.
      SliceQuality measured;
      clipped[batch] += assign_levels(x, n, *params, spec.levels, q, &measured);
      out.params[j] = prefer_positive_scale(*params, spec.levels, q, n);
      quality[batch].signal += measured.signal;
      quality[batch].noise += measured.noise;
      quality[batch].max_error = std::max(quality[batch].max_error, measured.max_error);
    }
    const uint64_t now = done += elements;
    if (progress) {
      // Reports never go backwards, whichever thread makes them.
      std::lock_guard<std::mutex> lock(report_mutex);
      if (now - reported >= kReportEvery || now == total) {
        const uint64_t latest = done;
        if (latest > reported) {
          progress(latest, total);
          reported = latest;
        }
      }
    }
  });
  for (uint64_t batch = 0; batch < batches; ++batch) {
    if (failed[batch] != kNone) {
      const uint64_t j = failed[batch];
      const float *x = values + slicing.begin(j);
      float amax = 0;
      for (size_t i = 0; i < slicing.length(j); ++i) amax = std::fmax(amax, std::fabs(x[i]));
      char text[160];
      std::snprintf(text, sizeof(text),
                    "values up to %.6g need a scale beyond f16's largest (65504) in %s; use "
                    "int8 (f32 scales)",
                    static_cast<double>(amax), scheme.c_str());
      fail_input("tensor \"" + name + "\"", text);
    }
    out.clipped += clipped[batch];
    out.underflowed += underflowed[batch];
    out.signal += quality[batch].signal;
    out.noise += quality[batch].noise;
    out.max_error = std::max(out.max_error, quality[batch].max_error);
  }
  return out;
}

}  // namespace statepack::quant
