// SPDX-License-Identifier: Apache-2.0
// The device decodes exactly what the packer measured: for every scheme, spk_dequantize on the
// packed blob equals the host's reconstruct() bit for bit, and the ranged decoder agrees with
// the full one on every row range.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/quant_rules.hpp"
#include "statepack/tools/quant/quantize.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using statepack::Checkpoint;
using statepack::DType;

// Heavy-tailed weights with a different spread per row, like trained layers.
std::vector<float> weights(size_t rows, size_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> tail(4.0f);
  std::lognormal_distribution<float> spread(0.0f, 0.5f);
  std::vector<float> out(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    const float s = spread(rng) * 0.05f;
    for (size_t c = 0; c < cols; ++c) out[r * cols + c] = tail(rng) * s;
  }
  return out;
}

bool same_bits(const std::vector<float> &a, const float *b, size_t n) {
  return a.size() == n && (n == 0 || std::memcmp(a.data(), b, n * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("runtime dequantization equals the packer's reconstruction bit for bit") {
  const char *schemes[] = {"int8",     "int8-tensor", "int8-asym", "int8-g32",
                           "int4-g32", "int4-g64",    "int4-g128", "int4-g32-asym",
                           "int4-k",   "f16",         "bf16"};
  // Odd shapes on purpose: a ragged last group (40 = 32 + 8) and an odd element count.
  const std::vector<std::vector<uint64_t>> shapes = {{16, 40}, {7, 3, 5, 9}, {33, 129}};
  uint32_t seed = 1;
  for (const char *name : schemes) {
    const auto spec = statepack::parse_scheme(name);
    REQUIRE(spec);
    for (const auto &shape : shapes) {
      CAPTURE(name);
      CAPTURE(shape.size());
      uint64_t count = 1;
      for (uint64_t d : shape) count *= d;
      const std::vector<float> values = weights(shape[0], count / shape[0], seed++);
      Checkpoint c;
      c.tensors.push_back(statepack::test::owned_tensor(
          "w", DType::kF32, shape,
          std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(values.data()),
                               reinterpret_cast<const uint8_t *>(values.data()) + count * 4)));
      statepack::QuantPlan plan;
      plan.rules.push_back({"w", "w", *spec});
      statepack::apply_quant_plan(c, plan);
      REQUIRE(c.tensors[0].quant.get() != nullptr);
      const std::vector<float> expected = statepack::reconstruct(c.tensors[0]);

      const std::vector<uint8_t> blob = statepack::build_blob(c, {});
      spk_blob b;
      REQUIRE(spk_open(&b, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
      spk_tensor t;
      REQUIRE(spk_find(&b, "w", &t) == SPK_OK);
      CHECK(t.source_dtype == SPK_DTYPE_F32);
      CHECK(t.quant.scheme == static_cast<spk_quant_scheme>(spec->scheme));
      std::vector<float> decoded(count);
      REQUIRE(spk_dequantize(&t, decoded.data(), decoded.size()) == SPK_OK);
      CHECK(same_bits(expected, decoded.data(), decoded.size()));
      CHECK(spk_verify_tensor(&b, &t) == SPK_OK);

      // Streaming rows through a small buffer gives the same values.
      const uint64_t row = count / shape[0];
      std::vector<float> rows(3 * row);
      for (uint64_t first = 0; first < shape[0]; first += 3) {
        const uint64_t n = std::min<uint64_t>(3, shape[0] - first);
        REQUIRE(spk_dequantize_rows(&t, first, n, rows.data(), rows.size()) == SPK_OK);
        CHECK(std::memcmp(rows.data(), decoded.data() + first * row, n * row * 4) == 0);
      }
      CHECK(spk_dequantize_rows(&t, shape[0], 1, rows.data(), rows.size()) == SPK_ERR_OUT_OF_RANGE);
      CHECK(spk_dequantize_rows(&t, 0, 4, rows.data(), rows.size()) == SPK_ERR_BUFFER_TOO_SMALL);
    }
  }
}

TEST_CASE("integer kernels can read scales and zero points directly") {
  const std::vector<float> values = weights(4, 64, 7);
  Checkpoint c;
  c.tensors.push_back(statepack::test::owned_tensor(
      "w", DType::kF32, {4, 64},
      std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(values.data()),
                           reinterpret_cast<const uint8_t *>(values.data()) + values.size() * 4)));
  // 256 elements: below the default rule's size threshold, so an explicit rule selects it.
  statepack::apply_quant_plan(c, statepack::parse_quant_plan("", {"w=int8-asym"}));
  const std::vector<uint8_t> blob = statepack::build_blob(c, {});
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data(), blob.size(), 0) == SPK_OK);
  spk_tensor t;
  REQUIRE(spk_find(&b, "w", &t) == SPK_OK);
  REQUIRE(t.quant.scale_count == 4);
  std::vector<float> decoded(256);
  REQUIRE(spk_dequantize(&t, decoded.data(), decoded.size()) == SPK_OK);
  const auto *q = static_cast<const int8_t *>(t.data);
  for (uint64_t row = 0; row < 4; ++row) {
    float scale = 0;
    int32_t zero = 0;
    REQUIRE(spk_quant_param(&t, row, &scale, &zero) == SPK_OK);
    for (uint64_t k = 0; k < 64; ++k) {
      CHECK(decoded[row * 64 + k] == static_cast<float>(q[row * 64 + k] - zero) * scale);
    }
  }
  float scale = 0;
  int32_t zero = 0;
  CHECK(spk_quant_param(&t, 4, &scale, &zero) == SPK_ERR_OUT_OF_RANGE);
}

TEST_CASE("an empty tensor is kept as it is under an integer scheme, and cast by a cast") {
  for (const char *scheme : {"int8", "int8-asym", "int8-g32", "int4-g32", "int4-g32-asym"}) {
    CAPTURE(scheme);
    Checkpoint c;
    c.tensors.push_back(statepack::test::owned_tensor("e", DType::kF32, {0, 3}, {}));
    const statepack::QuantReport report = statepack::apply_quant_plan(
        c, statepack::parse_quant_plan("", {std::string("e=") + scheme}));
    CHECK(report.rows.empty());
    CHECK(report.unused_rules.empty());  // the rule matched; there was nothing to scale
    const std::vector<uint8_t> blob = statepack::build_blob(c, {});
    spk_blob b;
    REQUIRE(spk_open(&b, blob.data(), blob.size(), 0) == SPK_OK);
    spk_tensor t;
    REQUIRE(spk_find(&b, "e", &t) == SPK_OK);
    CHECK(t.dtype == SPK_DTYPE_F32);
    CHECK(t.quant.scheme == SPK_QUANT_NONE);
    float out[1];
    CHECK(spk_dequantize(&t, out, 1) == SPK_OK);
  }
  Checkpoint c;
  c.tensors.push_back(statepack::test::owned_tensor("e", DType::kF32, {0, 3}, {}));
  statepack::apply_quant_plan(c, statepack::parse_quant_plan("", {"e=f16"}));
  const std::vector<uint8_t> blob = statepack::build_blob(c, {});
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data(), blob.size(), 0) == SPK_OK);
  spk_tensor t;
  REQUIRE(spk_find(&b, "e", &t) == SPK_OK);
  CHECK(t.dtype == SPK_DTYPE_F16);
}

TEST_CASE("the default rule quantizes only large floating matrices") {
  Checkpoint c;
  const std::vector<float> big = weights(32, 32, 3);
  const auto bytes = [](const std::vector<float> &v) {
    return std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(v.data()),
                                reinterpret_cast<const uint8_t *>(v.data()) + v.size() * 4);
  };
  c.tensors.push_back(
      statepack::test::owned_tensor("fc.weight", DType::kF32, {32, 32}, bytes(big)));
  c.tensors.push_back(statepack::test::owned_tensor("fc.bias", DType::kF32, {1024},
                                                    bytes(std::vector<float>(1024, 0.5f))));
  c.tensors.push_back(statepack::test::owned_tensor("small", DType::kF32, {4, 4},
                                                    bytes(std::vector<float>(16, 1.0f))));
  c.tensors.push_back(statepack::test::owned_tensor("steps", DType::kI64, {32, 32},
                                                    std::vector<uint8_t>(8 * 1024, 1)));
  statepack::QuantPlan plan = statepack::parse_quant_plan("int8", {"small=f16"});
  const statepack::QuantReport report = statepack::apply_quant_plan(c, plan);
  REQUIRE(report.rows.size() == 2);
  CHECK(report.rows[0].name == "fc.weight");
  CHECK(report.rows[0].scheme == "int8");
  CHECK(report.rows[1].name == "small");
  CHECK(report.rows[1].scheme == "f16");
  CHECK(c.tensors[1].quant.get() == nullptr);  // bias: rank 1
  CHECK(c.tensors[3].quant.get() == nullptr);  // integer
}

TEST_CASE("a rule keeps the tensors its scheme cannot apply to, and says why") {
  const auto f32 = [](size_t n, float v) {
    const std::vector<float> values(n, v);
    return std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(values.data()),
                                reinterpret_cast<const uint8_t *>(values.data()) + n * 4);
  };
  Checkpoint c;
  // What a glob like 'layer1.*' meets in a ResNet: weights, a bias, BN's step counter.
  c.tensors.push_back(statepack::test::owned_tensor("layer1.bn.num_batches_tracked", DType::kI64,
                                                    {}, std::vector<uint8_t>(8, 1)));
  c.tensors.push_back(
      statepack::test::owned_tensor("layer1.bias", DType::kF32, {64}, f32(64, 0.5f)));
  c.tensors.push_back(statepack::test::owned_tensor("layer1.scale", DType::kF32, {}, f32(1, 2.0f)));
  c.tensors.push_back(statepack::test::owned_tensor("layer1.empty", DType::kF32, {0, 3}, {}));
  c.tensors.push_back(
      statepack::test::owned_tensor("layer1.weight", DType::kF32, {8, 64}, f32(512, 0.25f)));
  SUBCASE("int8 per channel: a scalar and an empty tensor cannot gain, an integer cannot apply") {
    const statepack::QuantReport report =
        statepack::apply_quant_plan(c, statepack::parse_quant_plan("", {"layer1.*=int8"}));
    // The 1-D bias is quantized (an explicit rule applies whatever the rank or size, when it
    // shrinks the tensor: 64 + 4 bytes for 256); the scalar would take 1 + 4 bytes for 4.
    REQUIRE(report.rows.size() == 2);
    CHECK(report.rows[0].name == "layer1.bias");
    CHECK(report.rows[1].name == "layer1.weight");
    REQUIRE(report.skipped.size() == 1);
    CHECK(report.skipped[0].rule == "layer1.*=int8");
    using R = statepack::SkipReason;
    const std::vector<std::pair<std::string, R>> expected = {
        {"layer1.bn.num_batches_tracked", R::kNotFloating},
        {"layer1.empty", R::kEmpty},
        {"layer1.scale", R::kNoGain}};
    CHECK((report.skipped[0].tensors == expected));
    CHECK(c.tensors[0].quant.get() == nullptr);
    CHECK(c.tensors[2].quant.get() == nullptr);
    CHECK(c.tensors[2].dtype == DType::kF32);
    const std::string text = statepack::format_quant_report(report);
    CHECK(text.find("--rule layer1.*=int8 kept 3 matching tensors as they are: 1 not "
                    "floating-point, 1 empty, 1 too small to shrink (e.g. "
                    "layer1.bn.num_batches_tracked)") != std::string::npos);
  }
  SUBCASE("group-wise: a scalar has no axis") {
    const statepack::QuantReport report =
        statepack::apply_quant_plan(c, statepack::parse_quant_plan("", {"layer1.s*=int4-g32"}));
    REQUIRE(report.skipped.size() == 1);
    REQUIRE(report.skipped[0].tensors.size() == 1);
    CHECK((report.skipped[0].tensors[0].second == statepack::SkipReason::kScalar));
  }
  CHECK_THROWS_AS(statepack::parse_quant_plan("int3", {}), statepack::Error);
  CHECK_THROWS_AS(statepack::parse_quant_plan("", {"no-equals-sign"}), statepack::Error);
}

TEST_CASE("quality gates: a warning below the floor or on underflow, an error below --min-sqnr") {
  Checkpoint c;
  // Adam's exp_avg_sq: tiny positive values that int4's f16 scales cannot reach.
  std::vector<float> tiny(64 * 32);
  for (size_t i = 0; i < tiny.size(); ++i) tiny[i] = 1e-8f * (1 + static_cast<float>(i % 7));
  const std::vector<float> good = weights(64, 32, 11);
  const auto bytes = [](const std::vector<float> &v) {
    return std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(v.data()),
                                reinterpret_cast<const uint8_t *>(v.data()) + v.size() * 4);
  };
  c.tensors.push_back(
      statepack::test::owned_tensor("exp_avg_sq", DType::kF32, {64, 32}, bytes(tiny)));
  c.tensors.push_back(statepack::test::owned_tensor("weight", DType::kF32, {64, 32}, bytes(good)));
  const statepack::QuantReport report =
      statepack::apply_quant_plan(c, statepack::parse_quant_plan("int4-g32", {}));
  REQUIRE(report.rows.size() == 2);
  CHECK(report.rows[0].sqnr_db < 1.0);
  CHECK(report.rows[0].underflow_count == 64);
  CHECK(report.rows[1].sqnr_db > statepack::kSqnrWarningFloorDb + 5);  // int4 on weights: fine
  const std::vector<std::string> warnings =
      statepack::quality_warnings(report, statepack::kSqnrWarningFloorDb);
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].find("\"exp_avg_sq\" (int4-g32): SQNR") != std::string::npos);
  CHECK(warnings[1].find("64 of 64 scale groups") != std::string::npos);
  CHECK_NOTHROW(statepack::check_min_sqnr(report, 0.0));
  try {
    statepack::check_min_sqnr(report, 10.0);
    FAIL("no error below --min-sqnr");
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kInput);
    const std::string message = e.what();
    CHECK(message.find("exp_avg_sq") != std::string::npos);
    CHECK(message.find("\"weight\"") == std::string::npos);
  }
}

TEST_CASE("quantization reports progress within a large tensor and ends at the total") {
  const std::vector<float> values = weights(2048, 1024, 3);  // 2 Mi elements, 8 MiB
  Checkpoint c;
  c.tensors.push_back(statepack::test::owned_tensor(
      "w", DType::kF32, {2048, 1024},
      std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(values.data()),
                           reinterpret_cast<const uint8_t *>(values.data()) + values.size() * 4)));
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  statepack::apply_quant_plan(
      c, statepack::parse_quant_plan("int8", {}),
      [&calls](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
  REQUIRE(calls.size() >= 3);  // the start, at least one step inside the tensor, the end
  CHECK(calls.front().first == 0);
  CHECK(calls.back().first == values.size() * 4);
  uint64_t inside = 0;
  for (size_t i = 0; i < calls.size(); ++i) {
    CHECK(calls[i].second == values.size() * 4);
    if (i > 0) CHECK(calls[i].first >= calls[i - 1].first);
    if (calls[i].first > 0 && calls[i].first < calls[i].second) ++inside;
  }
  CHECK(inside >= 1);
}
