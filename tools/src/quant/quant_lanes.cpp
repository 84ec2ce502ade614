// SPDX-License-Identifier: Apache-2.0
// The scale search of search_params for groups with f16 scales (int4 and int8 groups), run on
// kLanes groups at once, one group per vector lane. A group of 32 costs a dozen short passes
// (4-bit) or about ninety (int8: a fine scan), and searching groups one by one spent most of
// its time on the scalar work around each candidate (rounding to f16, pricing, fitting); here
// that work is shared by kLanes groups as well as the passes.
//
// Every lane computes exactly what it would alone: the operations are element by element
// (GCC and Clang's portable vector types, IEEE arithmetic in each element, no intrinsics or
// target flags), so a group's parameters depend on its own values only, never on the groups
// that share its vector, on threads or on the machine. The stages are search_params' (starts
// at ratios of the unclipped scale, each start's least-squares fits, int8's fine scan, rounds
// of refinement). 4-bit grids start from kRatios, the scalar search's kCoarseRatios: a set of 6
// without the unclipped scale (1.00) was faster but let an asymmetric group end worse than
// round-to-nearest (found by tests/fuzz/roundtrip_fuzz.cpp, whose reproducer is in its corpus).
// Work whose result the search would discard is skipped, for a third of int4-asym's time: the
// fits of a pass when no line through its levels beats the best in any lane, a fitted scale
// whose unrounded optimum does not, and a refinement round whose levels are those the best was
// fitted to. The bounds keep a margin far above their rounding (kBoundSlack), so the parameters
// are those of the search without the skips, bit for bit.
#include <cmath>
#include <cstring>
#include <iterator>

#include "quant_kernels.hpp"

namespace statepack::quant {
namespace {

typedef float F4 __attribute__((vector_size(16)));
typedef F4 F8;
typedef uint32_t U8v __attribute__((vector_size(16)));
typedef int32_t I8v __attribute__((vector_size(16)));
typedef int32_t I2 __attribute__((vector_size(8)));
typedef float F2 __attribute__((vector_size(8)));
typedef double D2 __attribute__((vector_size(16)));
typedef int64_t L2 __attribute__((vector_size(16)));
static_assert(kLanes == 4, "the vector types hold four lanes");

// Stage 1: multiples of the unclipped scale (symmetric: on the top and on the bottom level).
constexpr double kRatios[] = {1.15, 1.04, 1.00, 0.94, 0.88, 0.82, 0.76};
// Fine grids (int8 groups): search_params' starts (kClipRatios) and fine scan (kFineStep,
// kFineStepsShort), which its brute-force tolerance is already tight against.
constexpr double kFineRatios[] = {2.00, 1.60, 1.30, 1.15, 1.08, 1.04, 1.00, 0.98, 0.96,
                                  0.94, 0.92, 0.90, 0.88, 0.86, 0.84, 0.82, 0.79, 0.76,
                                  0.73, 0.70, 0.65, 0.60, 0.55, 0.50, 0.40, 0.30};
constexpr double kFineStep = 0.003;
constexpr int kFineSteps = 30;
constexpr int kRefinements = 3;
// Candidates are skipped when a lower bound on their error exceeds the best by this share of
// the group's energy: rounding in the bound and in the priced error is about 1e-15 of it, so
// every skipped candidate is one the search would have rejected.
constexpr double kBoundSlack = 1e-9;
constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: rounds floats below 2^22 to integers
constexpr double kRoundMagicD = 6755399441055744.0;  // 1.5 * 2^52, the same for doubles

// Four doubles as two vectors of two, the width every 64-bit target's registers hold: GCC
// turns comparisons and selections of wider vectors, without target flags, into a branch per
// element.
struct L8 {
  L2 h[2];
};
struct D8 {
  D2 h[2];
};
L8 operator&(const L8 &a, const L8 &b) {
  return {{a.h[0] & b.h[0], a.h[1] & b.h[1]}};
}
L8 &operator&=(L8 &a, const L8 &b) {
  return a = a & b;
}
L8 operator|(const L8 &a, const L8 &b) {
  return {{a.h[0] | b.h[0], a.h[1] | b.h[1]}};
}
L8 operator~(const L8 &a) {
  return {{~a.h[0], ~a.h[1]}};
}
#define STATEPACK_D8_OP(op)                                   \
  [[maybe_unused]] D8 operator op(const D8 &a, const D8 &b) { \
    return {{a.h[0] op b.h[0], a.h[1] op b.h[1]}};            \
  }                                                           \
  [[maybe_unused]] D8 operator op(const D8 &a, double b) {    \
    return {{a.h[0] op b, a.h[1] op b}};                      \
  }                                                           \
  [[maybe_unused]] D8 operator op(double a, const D8 &b) {    \
    return {{a op b.h[0], a op b.h[1]}};                      \
  }
STATEPACK_D8_OP(+)
STATEPACK_D8_OP(-)
STATEPACK_D8_OP(*)
STATEPACK_D8_OP(/)
#undef STATEPACK_D8_OP
#define STATEPACK_D8_CMP(op)                                  \
  [[maybe_unused]] L8 operator op(const D8 &a, const D8 &b) { \
    return {{a.h[0] op b.h[0], a.h[1] op b.h[1]}};            \
  }                                                           \
  [[maybe_unused]] L8 operator op(const D8 &a, double b) {    \
    return {{a.h[0] op b, a.h[1] op b}};                      \
  }
STATEPACK_D8_CMP(<)
STATEPACK_D8_CMP(>)
STATEPACK_D8_CMP(==)
STATEPACK_D8_CMP(!=)
#undef STATEPACK_D8_CMP
D8 operator-(const D8 &a) {
  return {{-a.h[0], -a.h[1]}};
}
D8 to_double(F4 f) {
  return {{__builtin_convertvector(__builtin_shufflevector(f, f, 0, 1), D2),
           __builtin_convertvector(__builtin_shufflevector(f, f, 2, 3), D2)}};
}
F4 to_float(const D8 &d) {
  const F2 a = __builtin_convertvector(d.h[0], F2);
  const F2 b = __builtin_convertvector(d.h[1], F2);
  return __builtin_shufflevector(a, b, 0, 1, 2, 3);
}
L8 widen(I8v m) {
  return {{__builtin_convertvector(__builtin_shufflevector(m, m, 0, 1), L2),
           __builtin_convertvector(__builtin_shufflevector(m, m, 2, 3), L2)}};
}
I8v narrow(const L8 &m) {
  I8v a, b;
  std::memcpy(&a, &m.h[0], sizeof(a));
  std::memcpy(&b, &m.h[1], sizeof(b));
  return __builtin_shufflevector(a, b, 0, 2, 4, 6);
}
D8 load_d(const double *v) {
  return {{D2{v[0], v[1]}, D2{v[2], v[3]}}};
}

D8 splat_d(double v) {
  return {{D2{v, v}, D2{v, v}}};
}
F8 splat_f(float v) {
  return F8{v, v, v, v};
}
D2 blend2(L2 mask, D2 a, D2 b) {
  L2 ai, bi;
  std::memcpy(&ai, &a, sizeof(ai));
  std::memcpy(&bi, &b, sizeof(bi));
  const L2 r = (mask & ai) | (~mask & bi);
  D2 out;
  std::memcpy(&out, &r, sizeof(out));
  return out;
}
// mask ? a : b, element by element.
D8 blend(const L8 &mask, const D8 &a, const D8 &b) {
  return {{blend2(mask.h[0], a.h[0], b.h[0]), blend2(mask.h[1], a.h[1], b.h[1])}};
}
D8 dmax(D8 a, D8 b) {
  return blend(a > b, a, b);
}
D8 dmin(D8 a, D8 b) {
  return blend(a < b, a, b);
}
// Nearest integer, ties to even (like nearbyint), for |v| < 2^51.
D8 dround(D8 v) {
  return (v + splat_d(kRoundMagicD)) - splat_d(kRoundMagicD);
}

// representable_scale(raw, kF16); `usable` is cleared where that is 0 or infinite (the scalar
// search skips those too).
F8 f16_round(D8 raw, L8 *usable) {
  const F8 f = to_float(raw);
  U8v bits;
  std::memcpy(&bits, &f, sizeof(bits));
  const U8v magnitude = bits & 0x7FFFFFFFu;
  const I8v normal = (magnitude >= 0x38800000u) & (magnitude < 0x477FF000u);
  bits = (bits + 0x0FFFu + ((bits >> 13) & 1u)) & ~0x1FFFu;
  F8 rounded;
  std::memcpy(&rounded, &bits, sizeof(rounded));
  const I8v small = magnitude < 0x38800000u;
  if ((small[0] | small[1] | small[2] | small[3]) != 0) {
    // Below 2^-14, f16's subnormals: multiples of 2^-24, nearest, ties to even (exact: the
    // multiple is below 2^10).
    const F8 subnormal =
        ((f * splat_f(16777216.0f) + splat_f(kRoundMagic)) - splat_f(kRoundMagic)) *
        splat_f(5.9604644775390625e-08f);
    rounded = small ? subnormal : rounded;
  }
  const I8v in_range = (normal | small) & (rounded != 0);
  *usable = widen(in_range);
  // A harmless stand-in where unusable, so no lane divides by zero.
  return in_range ? rounded : splat_f(1.0f);
}

struct Sums {
  D8 sq, sxq, sqq;
};

class LaneSearch {
 public:
  // `live`: the lanes whose result is used; the others never keep a candidate from being
  // skipped.
  LaneSearch(const F4 *x, size_t n, const SearchSpec &spec, const D8 &sx, const D8 &sxx,
             const L8 &live)
      : x_(x), n_(n), spec_(spec), sx_(sx), sxx_(sxx), live_(live) {
    nd_ = static_cast<double>(n);
    spread_ = sxx - sx * sx / nd_;
    slack_ = kBoundSlack * sxx;
    best_error_ = sxx;
    best_sums_ = {splat_d(-1), splat_d(0), splat_d(0)};
    best_scale_ = splat_f(0);
    best_z_ = splat_f(static_cast<float>(clamp_scalar(0)));
  }

  // try_start of every lane: the scale rounded, its levels' sums, then the fits.
  // Inlined into each loop of starts: a call per start costs more than its pass.
  __attribute__((always_inline)) void try_start(D8 raw, F8 z, L8 usable) {
    L8 in_range;
    const F8 scale = f16_round(raw, &in_range);
    try_rounded(scale, z, usable & in_range);
  }

  // try_start for scales that f16 holds, usable where `usable`.
  __attribute__((always_inline)) void try_rounded(F8 scale, F8 z, L8 usable) {
    const Sums sums = pass(scale, z);
    if (hopeless(sums)) return;
    consider(scale, z, sums, usable);
    fit(z, sums, usable);
  }

  void try_range(D8 lo, D8 hi, L8 usable) {
    const double steps = spec_.levels.max - spec_.levels.min;
    L8 in_range;
    const F8 scale = f16_round((hi - lo) / steps, &in_range);
    usable &= in_range;
    const D8 z = clamp(dround(splat_d(spec_.levels.min) - lo / to_double(scale)));
    try_rounded(scale, to_float(z), usable);
  }

  // Rounds stop once no lane moves: a lane whose best did not change would only repeat itself,
  // so each lane ends where it would alone.
  // Scales `steps` relative steps either side of each lane's best, at its zero point.
  void scan_near_best(int steps) {
    const D8 center = to_double(best_scale_);
    const L8 usable = widen(best_scale_ != 0);
    const F8 z = best_z_;
    for (int j = 1; j <= steps; ++j) {
      try_start(center * (1 - j * kFineStep), z, usable);
      try_start(center * (1 + j * kFineStep), z, usable);
    }
  }

  void refine() {
    for (int round = 0; round < kRefinements; ++round) {
      const F8 scale = best_scale_;
      const F8 z = best_z_;
      const L8 usable = widen(scale != 0);
      const F8 safe = scale != 0 ? scale : splat_f(1.0f);
      const Sums sums = pass(safe, z);
      // Levels the same as those the best was fitted to give the candidates already priced.
      if (none(live_ & ~same(sums, best_sums_))) break;
      consider(safe, z, sums, usable);
      fit(z, sums, usable);
      const I8v moved = (best_scale_ != scale) | (best_z_ != z);
      if ((moved[0] | moved[1] | moved[2] | moved[3]) == 0) break;
    }
  }

  F8 scale() const { return best_scale_; }
  F8 zero_point() const { return best_z_; }

  D8 clamp(D8 z) const {
    return dmin(dmax(z, splat_d(spec_.levels.min)), splat_d(spec_.levels.max));
  }

 private:
  static bool none(const L8 &m) { return ((m.h[0][0] | m.h[0][1]) | (m.h[1][0] | m.h[1][1])) == 0; }
  static L8 same(const Sums &a, const Sums &b) {
    return (a.sq == b.sq) & (a.sxq == b.sxq) & (a.sqq == b.sqq);
  }

  // Whether no candidate priced on these sums can beat the best in any live lane: the error of
  // any scale s and zero point z on them is that of a line x ~ a q + b (a = s, b = -s z), at
  // least that of the least-squares line, spread - num^2 / (n det). Compared without dividing.
  // Symmetric schemes (z = 0): the line through the origin, sxx - sxq^2 / sqq.
  bool hopeless(const Sums &s) const {
    if (!spec_.asymmetric) {
      const D8 room = sxx_ - (best_error_ + slack_);
      const L8 fitted = (s.sqq > 0) & (room * s.sqq > s.sxq * s.sxq);
      const L8 flat = ~(s.sqq > 0) & (room > 0);  // all levels 0
      return none(live_ & ~(fitted | flat));
    }
    const D8 det = nd_ * s.sqq - s.sq * s.sq;
    const D8 num = nd_ * s.sxq - sx_ * s.sq;
    const D8 room = spread_ - (best_error_ + slack_);  // the bound must stay above best + slack
    const L8 fitted = (det > 0) & (room * nd_ * det > num * num);
    // With one level (det 0) no bound is claimed: sum x q, summed in float, is not exactly
    // that level times sum x, and the error then has no least value in the scale.
    return none(live_ & ~fitted);
  }

  int32_t clamp_scalar(int32_t z) const {
    return z < spec_.levels.min ? spec_.levels.min : (z > spec_.levels.max ? spec_.levels.max : z);
  }

  // Nearest levels under `scale` and `z` and their sums, in float lanes (levels are integers
  // below 16 in magnitude: sum q and sum q^2 over at most kMaxLaneSlice values are exact).
  // Written on halves of four lanes, the width every 64-bit target's vector unit has, so that
  // the compiler keeps the loop in vector registers without target flags.
  Sums pass(F4 scale, F4 z) const {
    const F4 inverse = 1.0f / scale;
    const F4 lo = splat_f(static_cast<float>(spec_.levels.min)) - z;
    const F4 hi = splat_f(static_cast<float>(spec_.levels.max)) - z;
    const F4 magic = splat_f(kRoundMagic);
    F4 sq[2] = {}, sxq[2] = {}, sqq[2] = {};
    const auto add = [&](size_t a, F4 v) {
      const F4 t = v * inverse;
      // max(min(t, hi), lo) as minps and maxps take it (t is never NaN: v is finite and the
      // scale usable); -0 for +0 is no change after the rounding below.
      const F4 upper = t < hi ? t : hi;
      const F4 c = upper > lo ? upper : lo;
      F4 q = (c + magic) - magic;
      if (spec_.asymmetric) {
        q += z;
        sq[a] += q;
      }
      sxq[a] += v * q;
      sqq[a] += q * q;
    };
    size_t i = 0;
    for (; i + 2 <= n_; i += 2) {
      add(0, x_[i]);
      add(1, x_[i + 1]);
    }
    if (i < n_) add(0, x_[i]);
    Sums s;
    s.sq = to_double(sq[0] + sq[1]);
    s.sxq = to_double(sxq[0]) + to_double(sxq[1]);
    s.sqq = to_double(sqq[0] + sqq[1]);
    return s;
  }

  void consider(F8 scale, F8 z, const Sums &s, L8 usable) {
    const D8 zd = to_double(z);
    const D8 cross = s.sxq - zd * sx_;                      // sum x (q - z)
    const D8 norm = s.sqq - 2 * zd * s.sq + zd * zd * nd_;  // sum (q - z)^2
    consider(scale, z, cross, norm, s, usable);
  }

  void consider(F8 scale, F8 z, const D8 &cross, const D8 &norm, const Sums &s, L8 usable) {
    const D8 sd = to_double(scale);
    D8 error = sxx_ - 2 * sd * cross + sd * sd * norm;
    error = dmax(error, splat_d(0));
    L8 better = usable & (error < best_error_);
    if (spec_.asymmetric) better &= sd > 0;
    best_error_ = blend(better, error, best_error_);
    best_sums_.sq = blend(better, s.sq, best_sums_.sq);
    best_sums_.sxq = blend(better, s.sxq, best_sums_.sxq);
    best_sums_.sqq = blend(better, s.sqq, best_sums_.sqq);
    const I8v chosen = narrow(better);
    best_scale_ = chosen ? scale : best_scale_;
    best_z_ = chosen ? z : best_z_;
  }

  // The least-squares scale at zero point z, where its error, at least sxx - cross^2 / norm
  // (the unrounded scale's), may beat the best.
  void fit_scale(F8 z, const Sums &s, L8 usable) {
    const D8 zd = to_double(z);
    const D8 norm = s.sqq - 2 * zd * s.sq + zd * zd * nd_;
    const D8 cross = s.sxq - zd * sx_;
    const D8 room = sxx_ - (best_error_ + slack_);
    usable &= (norm > 0) & ~(room * norm > cross * cross);
    if (none(usable & live_)) return;
    const D8 raw = blend(norm > 0, cross / norm, splat_d(1));
    L8 in_range;
    const F8 scale = f16_round(raw, &in_range);
    consider(scale, z, cross, norm, s, usable & in_range);
  }

  void fit(F8 z, const Sums &s, L8 usable) {
    fit_scale(z, s, usable);
    if (!spec_.asymmetric) return;
    // Joint fit x ~ a q + b, then the integer zero points either side of -b / a.
    const D8 det = nd_ * s.sqq - s.sq * s.sq;
    // With a = num / det > 0 and b = (Sx - a Sq) / n: -b / a = (num Sq - Sx det) / (n num),
    // one division instead of three.
    const D8 num = nd_ * s.sxq - sx_ * s.sq;
    const D8 denominator = blend(num > 0, nd_ * num, splat_d(1));
    const D8 zf = (num * s.sq - sx_ * det) / denominator;
    const D8 limit = splat_d(1e9);
    usable &= (det > 0) & (num > 0) & (zf == zf) & (zf < limit) & (zf > -limit);
    // Within +-1e9 after the check; clamped first so the rounding below is exact.
    const D8 bounded =
        dmin(dmax(zf, splat_d(spec_.levels.min - 1.0)), splat_d(spec_.levels.max + 1.0));
    const D8 nearest = dround(bounded);
    const D8 floor = blend(nearest > bounded, nearest - 1, nearest);
    const D8 ceil = blend(nearest < bounded, nearest + 1, nearest);
    const D8 zd = to_double(z);
    const D8 below = clamp(floor);
    const D8 above = clamp(ceil);
    fit_scale(to_float(below), s, usable & (below != zd));
    fit_scale(to_float(above), s, usable & (above != zd) & (above != below));
  }

  const F4 *x_;  // two halves of four lanes per element
  size_t n_;
  SearchSpec spec_;
  D8 sx_, sxx_;
  L8 live_;
  double nd_ = 0;
  D8 spread_, slack_;  // sum (x - mean)^2; kBoundSlack of sum x^2
  D8 best_error_;
  Sums best_sums_;  // the sums the best was priced on
  F8 best_scale_;
  F8 best_z_;
};

}  // namespace

bool lane_searchable(const SearchSpec &spec, size_t n) {
  return spec.scale_type == ScaleType::kF16 && n > 0 && n <= kMaxLaneSlice;
}

void search_params_lanes(const float *const *x, size_t n, const SearchSpec &spec,
                         std::optional<SliceParams> *out) {
  // The groups side by side, and their moments (as moments_of, summed in another order; the
  // extreme is the first value of largest magnitude).
  F4 values[kMaxLaneSlice];
  F4 sum = {}, squares = {}, low = {}, high = {}, largest = {}, extreme = {};
  for (size_t i = 0; i < n; ++i) {
    const F4 v = {x[0][i], x[1][i], x[2][i], x[3][i]};
    values[i] = v;
    sum += v;
    squares += v * v;
    low = v < low ? v : low;
    high = v > high ? v : high;
    const F4 magnitude = v < 0 ? -v : v;
    const I8v larger = magnitude > largest;
    largest = larger ? magnitude : largest;
    extreme = larger ? v : extreme;
  }
  double sx_lanes[kLanes], sxx_lanes[kLanes], amax_lanes[kLanes], sign_lanes[kLanes],
      lo_lanes[kLanes], hi_lanes[kLanes];
  bool safe[kLanes];
  bool any = false;
  const double top = spec.levels.max;
  const bool fine_grid = spec.levels.max - spec.levels.min > 15;  // int8, not int4
  for (size_t k = 0; k < kLanes; ++k) {
    // Groups whose candidate scales all stay well below f16's largest (65504) are searched
    // here; the others (all zeros, or values beyond about 1e5) by search_params.
    const double a = largest[k];
    safe[k] = a > 0 && a * (2.5 / top) <= 60000;
    any = any || safe[k];
    sx_lanes[k] = sum[k];
    sxx_lanes[k] = squares[k];
    amax_lanes[k] = safe[k] ? a : 1;
    sign_lanes[k] = spec.signed_scale && extreme[k] < 0 ? -1.0 : 1.0;
    lo_lanes[k] = safe[k] ? low[k] : -1;
    hi_lanes[k] = safe[k] ? high[k] : 1;
  }
  if (any) {
    const D8 sx = load_d(sx_lanes), sxx = load_d(sxx_lanes), amax = load_d(amax_lanes),
             sign = load_d(sign_lanes), lo = load_d(lo_lanes), hi = load_d(hi_lanes);
    L8 live;
    for (size_t k = 0; k < kLanes; ++k) live.h[k / 2][k % 2] = safe[k] ? -1 : 0;
    LaneSearch search(values, n, spec, sx, sxx, live);
    const L8 all = {{L2{-1, -1}, L2{-1, -1}}};
    const double *const ratios = fine_grid ? kFineRatios : kRatios;
    const size_t ratio_count = fine_grid ? std::size(kFineRatios) : std::size(kRatios);
    for (size_t r = 0; r < ratio_count; ++r) {
      const double ratio = ratios[r];
      if (spec.asymmetric) {
        search.try_range(ratio * lo, ratio * hi, all);
      } else {
        search.try_start(sign * ratio * amax / spec.levels.max, F8{}, all);
        if (spec.signed_scale && -spec.levels.min != spec.levels.max) {
          search.try_start(-sign * ratio * amax / -spec.levels.min, F8{}, all);
        }
      }
    }
    if (fine_grid) search.scan_near_best(kFineSteps);
    search.refine();
    const F8 scale = search.scale();
    const F8 z = search.zero_point();
    for (size_t k = 0; k < kLanes; ++k) {
      if (safe[k]) out[k] = SliceParams{scale[k], static_cast<int32_t>(z[k])};
    }
  }
  for (size_t k = 0; k < kLanes; ++k) {
    if (!safe[k]) out[k] = search_params(x[k], n, spec);
  }
}

}  // namespace statepack::quant
