// SPDX-License-Identifier: Apache-2.0
// The passes over a slice's values that the scale search repeats: its moments, the sums of one
// level assignment, and a histogram model of the error that prices a clipping scale without a
// pass. Every result depends on the slice's values alone (never on threads or on where the
// slice sits in memory), in a fixed order of additions. Not installed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "quant_internal.hpp"

namespace statepack::quant {

/// One slice's statistics, gathered once.
struct Moments {
  double n = 0;
  double sx = 0;
  double sxx = 0;
  float min = 0;      ///< min(0, smallest value)
  float max = 0;      ///< max(0, largest value)
  float amax = 0;     ///< largest magnitude
  float extreme = 0;  ///< the first value of largest magnitude, with its sign
};
Moments moments_of(const float *x, size_t n);

/// Sums over one level assignment: q are the stored levels (zero point included) of nearest
/// rounding under `scale` and `zero_point`, clamped to `levels`.
struct LevelSums {
  double sq = 0;
  double sxq = 0;
  double sqq = 0;
};
/// `scale` must be nonzero and finite. Without `offset` (symmetric schemes) the zero point
/// must be 0, and `sq` is not computed (left 0): only asymmetric fits need it.
LevelSums level_sums(const float *x, size_t n, float scale, int32_t zero_point, LevelRange levels,
                     bool offset);

/// What one slice's stored levels cost, measured on the values a reader decodes from them
/// (float(q - zero point) * scale, as reconstruct() and the runtime compute them).
struct SliceQuality {
  double signal = 0;     ///< sum x^2
  double noise = 0;      ///< sum (x - x')^2
  double max_error = 0;  ///< max |x - x'|
};
SliceQuality measure_slice(const float *x, const int8_t *q, size_t n, const SliceParams &params);

/// The nearest level of each x[i] under `params`, clamped to `levels` (all levels equal the
/// zero point when the scale is 0). Returns how many values were clipped by the clamp. With
/// `quality`, also stores measure_slice's figures for these levels, bit for bit, without a
/// second pass.
uint64_t assign_levels(const float *x, size_t n, const SliceParams &params, LevelRange levels,
                       int8_t *q, SliceQuality *quality = nullptr);

/// Groups searched together by search_params_lanes, one per vector lane, and the longest.
constexpr size_t kLanes = 4;
constexpr size_t kMaxLaneSlice = 256;
/// Whether slices of n values under `spec` go to search_params_lanes (f16 scales, short).
bool lane_searchable(const SearchSpec &spec, size_t n);
/// search_params for kLanes slices x[k][0, n) at once (lane_searchable(spec, n)); out[k] is
/// what search_params would choose for slice k up to near-ties, and depends on slice k alone.
void search_params_lanes(const float *const *x, size_t n, const SearchSpec &spec,
                         std::optional<SliceParams> *out);

/// The squared error of a scale and zero point estimated without a pass over the values, for
/// slices of many values and many levels (int8 per channel): values that some candidate may
/// clip are binned by magnitude on each side of zero, so the clipping error of a candidate is
/// a few prefix sums; every value that is not clipped is charged scale^2 / 12, the error of
/// rounding to a grid much finer than the distribution. Only good enough to choose where the
/// exact search starts.
class ClipModel {
 public:
  /// Bins the values of x[0, n) beyond `floor` times the largest value on their side of zero;
  /// candidates priced later should clip no value nearer to zero than that.
  ClipModel(const float *x, size_t n, const Moments &m, double floor);
  /// The estimated squared error of scale > 0 and zero point z under `levels`.
  double error(double scale, double z, LevelRange levels) const;

 private:
  static constexpr size_t kBins = 128;
  // One side of zero: bins of magnitude from `base` up to the side's largest, turned into
  // suffix sums from the top (count, sum of magnitudes, sum of squares in bins b and above).
  struct Side {
    double base = 0;
    double width = 0;
    double inverse_width = 0;
    std::array<double, kBins + 1> count{}, sum{}, squares{};
    void add(double magnitude);
    void build();
    // Error of clipping this side's values beyond `edge` to the level value `top`, and how
    // many values lie beyond `edge`.
    double clipped(double edge, double top, double *beyond) const;
  };
  Side negative_, positive_;
  double n_ = 0;
};

}  // namespace statepack::quant
