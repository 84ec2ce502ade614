// SPDX-License-Identifier: Apache-2.0
// Groups with f16 scales searched side by side (search_params_lanes): a group's parameters are
// its own whatever shares its vector, groups of zeros or of values too large for f16 scales
// get the scalar search's answer (and tiny ones the same subnormal scales), and the
// parameters cost within 0.05 dB of the scalar search's.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "quant/quant_kernels.hpp"

namespace statepack::quant {
namespace {

struct Lcg {
  uint64_t state;
  double uniform() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (static_cast<double>(state >> 11) + 0.5) * 0x1.0p-53;
  }
  double normal() {
    return std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
  }
};

// `count` groups of n heavy-tailed values, each with its own scale.
std::vector<std::vector<float>> groups(uint64_t seed, size_t count, size_t n) {
  Lcg rng{seed};
  std::vector<std::vector<float>> out(count, std::vector<float>(n));
  for (std::vector<float> &g : out) {
    const double scale = 0.05 * std::exp(rng.normal());
    for (float &v : g) {
      const double t = rng.normal() / std::sqrt(0.25 + rng.uniform());
      v = static_cast<float>(scale * t);
    }
  }
  return out;
}

// 0: int4 symmetric, 1: int4 asymmetric, 2: int8 groups.
SearchSpec spec_of(int kind) {
  SearchSpec spec;
  spec.scale_type = ScaleType::kF16;
  if (kind == 2) {
    spec.levels = {-127, 127};
  } else if (kind == 1) {
    spec.levels = {0, 15};
    spec.asymmetric = true;
  } else {
    spec.levels = {-8, 7};
    spec.signed_scale = true;
  }
  return spec;
}

std::vector<std::optional<SliceParams>> lanes(const std::vector<const float *> &x, size_t n,
                                              const SearchSpec &spec) {
  REQUIRE(x.size() == kLanes);
  std::vector<std::optional<SliceParams>> out(kLanes);
  search_params_lanes(x.data(), n, spec, out.data());
  return out;
}

bool same(const std::optional<SliceParams> &a, const std::optional<SliceParams> &b) {
  if (!a || !b) return !a && !b;
  return std::memcmp(&a->scale, &b->scale, sizeof(float)) == 0 && a->zero_point == b->zero_point;
}

double error_of(const std::vector<float> &x, const SliceParams &p, LevelRange levels) {
  std::vector<int8_t> q(x.size());
  assign_levels(x.data(), x.size(), p, levels, q.data());
  double e = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float decoded = static_cast<float>(q[i] - p.zero_point) * p.scale;
    const double d = static_cast<double>(x[i]) - decoded;
    e += d * d;
  }
  return e;
}

}  // namespace

TEST_CASE("a group's lane search depends on its own values only") {
  for (const int kind : {0, 1, 2}) {
    for (const size_t n : {size_t{32}, size_t{33}, size_t{128}}) {
      CAPTURE(kind);
      CAPTURE(n);
      const SearchSpec spec = spec_of(kind);
      const auto a = groups(5, kLanes, n);
      const auto b = groups(6, kLanes, n);
      const auto first = lanes({a[0].data(), a[1].data(), a[2].data(), a[3].data()}, n, spec);
      // The same groups elsewhere in the vector, next to other groups.
      const auto moved = lanes({b[0].data(), a[2].data(), a[0].data(), b[3].data()}, n, spec);
      CHECK(same(moved[1], first[2]));
      CHECK(same(moved[2], first[0]));
      // One group in every lane.
      const auto alone = lanes({a[1].data(), a[1].data(), a[1].data(), a[1].data()}, n, spec);
      for (size_t k = 0; k < kLanes; ++k) CHECK(same(alone[k], first[1]));
    }
  }
}

TEST_CASE("groups of zeros, tiny and huge values get the scalar search's parameters") {
  const size_t n = 32;
  const std::vector<float> zeros(n, 0.0f);
  std::vector<float> tiny = groups(9, 1, n)[0];
  for (float &v : tiny) v *= 1e-4f;  // scales near f16's subnormals
  std::vector<float> huge = groups(10, 1, n)[0];
  for (float &v : huge) v *= 1e8f;  // scales beyond f16's range: no parameters at all
  const std::vector<float> normal = groups(11, 1, n)[0];
  for (const int kind : {0, 1, 2}) {
    CAPTURE(kind);
    const SearchSpec spec = spec_of(kind);
    const auto out = lanes({zeros.data(), tiny.data(), huge.data(), normal.data()}, n, spec);
    CHECK(same(out[0], search_params(zeros.data(), n, spec)));
    CHECK(out[0]->scale == 0);
    CHECK(same(out[1], search_params(tiny.data(), n, spec)));
    CHECK(!out[2]);
    CHECK(out[3]);
  }
}

TEST_CASE("the lane search is within 0.05 dB of the scalar search") {
  for (const int kind : {0, 1, 2}) {
    for (const size_t n : {size_t{32}, size_t{64}, size_t{128}}) {
      CAPTURE(kind);
      CAPTURE(n);
      const SearchSpec spec = spec_of(kind);
      const auto x = groups(20 + n, 64, n);
      double signal = 0, lane_error = 0, scalar_error = 0;
      for (size_t g = 0; g < x.size(); g += kLanes) {
        const auto out =
            lanes({x[g].data(), x[g + 1].data(), x[g + 2].data(), x[g + 3].data()}, n, spec);
        for (size_t k = 0; k < kLanes; ++k) {
          const std::vector<float> &group = x[g + k];
          for (float v : group) signal += static_cast<double>(v) * v;
          REQUIRE(out[k]);
          lane_error += error_of(group, *out[k], spec.levels);
          scalar_error += error_of(group, *search_params(group.data(), n, spec), spec.levels);
        }
      }
      CHECK(10 * std::log10(signal / lane_error) >= 10 * std::log10(signal / scalar_error) - 0.05);
    }
  }
}

}  // namespace statepack::quant
