// SPDX-License-Identifier: Apache-2.0
// Lossless grids: what find_lossless_grid accepts (every value reproduced bit for bit by the
// decoder's arithmetic) and rejects (anything off the grid by one ulp, NaN, inf, ordinary
// weights), and the pass through a blob: spk_dequantize returns the source floats, the blob
// marks the tensor lossless, and unpack restores the source dtype.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/lossless_grid.hpp"
#include "statepack/tools/quant/lossless_grid_pass.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using statepack::DType;
using statepack::QuantizedTensor;
using statepack::QuantScheme;

uint32_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}

// What fake_quantize_per_channel_affine computes: float(q - z) * s with one f32 rounding, q an
// integer in [qmin, qmax], per row (one scale for all rows when `scales` has one entry).
std::vector<float> fake_quantized(size_t rows, size_t cols, const std::vector<float> &scales,
                                  const std::vector<int32_t> &zero_points, int32_t qmin,
                                  int32_t qmax, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, (qmax - qmin) / 6.0);
  std::vector<float> out(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    const float s = scales[scales.size() == 1 ? 0 : r];
    const int32_t z = zero_points[zero_points.size() == 1 ? 0 : r];
    for (size_t c = 0; c < cols; ++c) {
      const double centre = (qmin + qmax) / 2.0;
      const auto q = static_cast<int32_t>(
          std::clamp<double>(std::nearbyint(centre + normal(rng)), qmin, qmax));
      out[r * cols + c] = static_cast<float>(q - z) * s;
    }
  }
  return out;
}

std::vector<float> row_scales(size_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0005f, 0.02f);
  std::vector<float> s(rows);
  for (float &v : s) v = u(rng);
  return s;
}

bool exact(const QuantizedTensor &q, const std::vector<float> &values,
           const std::vector<uint64_t> &shape) {
  const std::vector<float> back = statepack::reconstruct(q, shape);
  if (back.size() != values.size()) return false;
  for (size_t i = 0; i < values.size(); ++i) {
    if (bits(back[i]) != bits(values[i])) return false;
  }
  return q.lossless && std::isinf(q.sqnr_db) && q.max_abs_error == 0;
}

std::optional<QuantizedTensor> grid(const std::vector<float> &values,
                                    const std::vector<uint64_t> &shape) {
  return statepack::find_lossless_grid(values.data(), shape);
}

}  // namespace

TEST_CASE("per-tensor, per-channel and asymmetric grids are found and decode bit for bit") {
  const std::vector<uint64_t> shape{24, 96};
  SUBCASE("per tensor, int8 (-127..127: symmetric)") {
    const auto v = fake_quantized(24, 96, {0.0123f}, {0}, -127, 127, 1);
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(q->spec.scheme == QuantScheme::kInt8Tensor);
    CHECK(q->scales.size() == 4);
    CHECK(exact(*q, v, shape));
  }
  SUBCASE("level -128 is stored under Int8Asym (the symmetric schemes stop at -127)") {
    auto v = fake_quantized(24, 96, {0.0123f}, {0}, -127, 127, 1);
    v[7] = -128.0f * 0.0123f;
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(q->spec.scheme == QuantScheme::kInt8Asym);
    CHECK(exact(*q, v, shape));
  }
  SUBCASE("per channel, int8") {
    const auto v = fake_quantized(24, 96, row_scales(24, 2), {0}, -127, 127, 3);
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(q->spec.scheme == QuantScheme::kInt8Channel);
    CHECK(q->axis == 0);
    CHECK(q->scales.size() == 24 * 4);
    CHECK(exact(*q, v, shape));
  }
  SUBCASE("per channel, quint8 with zero points (levels up to 255 from the zero point)") {
    std::vector<int32_t> zp(24);
    for (size_t r = 0; r < zp.size(); ++r) zp[r] = static_cast<int32_t>(r * 11 % 256);
    zp[0] = 0;    // integers 0..255
    zp[1] = 255;  // integers -255..0
    const auto v = fake_quantized(24, 96, row_scales(24, 4), zp, 0, 255, 5);
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(q->spec.scheme == QuantScheme::kInt8Asym);
    CHECK(q->zero_points.size() == 24);
    CHECK(exact(*q, v, shape));
  }
  SUBCASE("per tensor with a zero point, rank 1") {
    const auto v = fake_quantized(1, 500, {0.031f}, {-100}, -128, 127, 6);
    const auto q = grid(v, {500});
    REQUIRE(q);
    CHECK(q->spec.scheme == QuantScheme::kInt8Asym);
    CHECK(q->axis == -1);
    CHECK(exact(*q, v, {500}));
  }
  SUBCASE("4-bit range, per channel") {
    const auto v = fake_quantized(24, 96, row_scales(24, 7), {0}, -8, 7, 8);
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(exact(*q, v, shape));
  }
  SUBCASE("conv kernel: channels are slices of axis 0") {
    const std::vector<uint64_t> conv{8, 3, 3, 3};
    const auto v = fake_quantized(8, 27, row_scales(8, 9), {0}, -127, 127, 10);
    const auto q = grid(v, conv);
    REQUIRE(q);
    CHECK(exact(*q, v, conv));
  }
}

TEST_CASE("f16 and bf16 sources: the f32 decode is the source value widened") {
  const std::vector<uint64_t> shape{16, 64};
  // Scales with few significant bits keep every product exact in the narrow type.
  std::vector<float> scales(16);
  for (size_t r = 0; r < scales.size(); ++r)
    scales[r] = std::ldexp(1.0f + static_cast<float>(r % 4) / 4.0f, -9 - int(r % 3));
  SUBCASE("f16") {
    const auto v = fake_quantized(16, 64, scales, {0}, -128, 127, 11);
    for (float x : v) REQUIRE(statepack::f16_to_f32(statepack::f32_to_f16(x)) == x);
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(exact(*q, v, shape));
  }
  SUBCASE("bf16") {
    std::vector<float> pow2(16);
    for (size_t r = 0; r < pow2.size(); ++r) pow2[r] = std::ldexp(1.0f, -6 - int(r % 5));
    const auto v = fake_quantized(16, 64, pow2, {0}, -128, 127, 12);
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(exact(*q, v, shape));
  }
}

TEST_CASE("zeros: negative zero, all-zero channels, single-valued channels") {
  const std::vector<uint64_t> shape{4, 32};
  auto v = fake_quantized(4, 32, row_scales(4, 13), {0}, -127, 127, 14);
  SUBCASE("a channel whose zeros are -0 (a negative scale keeps their sign)") {
    for (size_t c = 0; c < 32; ++c) {
      if (v[c] == 0) v[c] = -0.0f;
    }
    v[5] = -0.0f;
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(exact(*q, v, shape));
  }
  SUBCASE("a channel with +0 and -0 cannot be a grid") {
    v[3] = 0.0f;
    v[4] = -0.0f;
    CHECK_FALSE(grid(v, shape));
  }
  SUBCASE("all-zero channels, +0 and -0") {
    for (size_t c = 0; c < 32; ++c) v[32 + c] = 0.0f;
    for (size_t c = 0; c < 32; ++c) v[64 + c] = -0.0f;
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(exact(*q, v, shape));
  }
  SUBCASE("a channel holding one value") {
    for (size_t c = 0; c < 32; ++c) v[32 + c] = 0.3f;
    const auto q = grid(v, shape);
    REQUIRE(q);
    CHECK(exact(*q, v, shape));
  }
  SUBCASE("the whole tensor zero") {
    std::vector<float> zeros(128, 0.0f);
    const auto q = grid(zeros, shape);
    REQUIRE(q);
    CHECK(exact(*q, zeros, shape));
  }
}

TEST_CASE("off-grid tensors are rejected: one ulp anywhere, NaN, inf, ordinary weights") {
  const std::vector<uint64_t> shape{24, 96};
  const auto base = fake_quantized(24, 96, row_scales(24, 15), {0}, -128, 127, 16);
  REQUIRE(grid(base, shape));
  SUBCASE("one value one ulp away, at every position class") {
    // Sampled positions (0, a multiple of 96/64), unsampled ones, other rows, the last value.
    for (size_t i : {size_t{0}, size_t{1}, size_t{3}, size_t{47}, size_t{95}, size_t{96},
                     size_t{1000}, size_t{24 * 96 - 1}}) {
      CAPTURE(i);
      for (float direction : {-INFINITY, INFINITY}) {
        auto v = base;
        v[i] = std::nextafter(v[i], direction);
        CHECK_FALSE(grid(v, shape));
      }
    }
  }
  SUBCASE("NaN or infinity") {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY}) {
      auto v = base;
      v[500] = bad;
      CHECK_FALSE(grid(v, shape));
      v[0] = bad;
      CHECK_FALSE(grid(v, shape));
    }
  }
  SUBCASE("Gaussian weights") {
    std::mt19937 rng(17);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> v(24 * 96);
    for (float &x : v) x = normal(rng);
    CHECK_FALSE(grid(v, shape));
    CHECK_FALSE(statepack::may_be_lossless_grid(shape, [&v](uint64_t i) { return v[i]; }));
  }
  SUBCASE("few distinct values fit many levels; one off the grid at the end of every slice") {
    // Every level passes a sample of {0, s}: refuted candidates must end the search quickly.
    std::vector<float> v(24 * 96, 0.0f);
    for (size_t i = 0; i < v.size(); i += 2) v[i] = 0.37f;
    for (size_t r = 0; r < 24; ++r) v[r * 96 + 95] = 0.37f * std::sqrt(0.5f);
    CHECK_FALSE(grid(v, shape));
  }
  SUBCASE("more than 256 levels in a channel") {
    std::vector<float> v(24 * 96);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(int(i % 96) * 3 - 140) * 0.01f;
    CHECK_FALSE(grid(v, shape));
  }
}

TEST_CASE("a grid through a blob: spk_dequantize returns the source floats, marked lossless") {
  for (DType source : {DType::kF32, DType::kF16, DType::kBF16}) {
    CAPTURE(static_cast<int>(source));
    std::vector<float> scales(32);
    for (size_t r = 0; r < scales.size(); ++r) scales[r] = std::ldexp(1.0f, -7 - int(r % 4));
    const std::vector<float> v = fake_quantized(32, 64, scales, {0}, -127, 127, 18);
    std::vector<uint8_t> bytes;
    for (float x : v) {
      if (source == DType::kF32) {
        const uint32_t b = bits(x);
        for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<uint8_t>(b >> (8 * k)));
      } else {
        const uint16_t h =
            source == DType::kF16 ? statepack::f32_to_f16(x) : statepack::f32_to_bf16(x);
        bytes.push_back(static_cast<uint8_t>(h));
        bytes.push_back(static_cast<uint8_t>(h >> 8));
      }
    }
    statepack::Checkpoint c;
    c.tensors.push_back(statepack::test::owned_tensor("w", source, {32, 64}, bytes));
    c.tensors.push_back(statepack::test::owned_tensor("kept", source, {32, 64}, bytes));
    statepack::QuantPlan plan;
    plan.rules.push_back({"kept=keep", "kept", {}});
    const auto rows = statepack::apply_lossless_grids(c, plan);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].name == "w");
    CHECK(rows[0].description == "int8 per channel");
    CHECK(statepack::format_grid_report(rows).find("lossless") != std::string::npos);

    const std::vector<uint8_t> blob = statepack::build_blob(c, {});
    spk_blob b;
    REQUIRE(spk_open(&b, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
    spk_tensor t;
    REQUIRE(spk_find(&b, "w", &t) == SPK_OK);
    CHECK(t.dtype == SPK_DTYPE_I8);
    CHECK(t.source_dtype == static_cast<uint8_t>(source));
    uint8_t lossless = 0;
    REQUIRE(spk_quant_lossless(&b, &t, &lossless) == SPK_OK);
    CHECK(lossless == 1);
    std::vector<float> decoded(v.size());
    REQUIRE(spk_dequantize(&t, decoded.data(), decoded.size()) == SPK_OK);
    CHECK(std::memcmp(decoded.data(), v.data(), v.size() * 4) == 0);
    // The integers for integer kernels: t->data and the per-channel scale.
    float scale = 0;
    int32_t zero = 1;
    REQUIRE(spk_quant_param(&t, 3, &scale, &zero) == SPK_OK);
    CHECK(zero == 0);
    CHECK(static_cast<float>(static_cast<const int8_t *>(t.data)[3 * 64 + 5]) * scale ==
          v[3 * 64 + 5]);

    REQUIRE(spk_find(&b, "kept", &t) == SPK_OK);
    CHECK(t.dtype == static_cast<uint8_t>(source));
    REQUIRE(spk_quant_lossless(&b, &t, &lossless) == SPK_OK);
    CHECK(lossless == 0);
  }
}
