// SPDX-License-Identifier: Apache-2.0
// The int4-k scheme (FORMAT.md, "Int4K"): its encoding pinned byte by byte, its quality and size
// against int4-g32, its edge cases (zeros, huge and tiny values, odd shapes) and the device
// decoding it bit for bit: whole, by rows, from chunks, and compressed through the zstd add-on.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/quant_rules.hpp"
#include "statepack/tools/quant/quantize.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using statepack::Checkpoint;
using statepack::DType;
using statepack::QuantizedTensor;

const statepack::SchemeSpec kInt4K = *statepack::parse_scheme("int4-k");

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 0.02f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> out(n);
  for (float &v : out) v = normal(rng);
  return out;
}

// A one-tensor blob of `values` quantized to int4-k (compressed with zstd if asked).
std::vector<uint8_t> int4k_blob(const std::vector<float> &values,
                                const std::vector<uint64_t> &shape, bool zstd,
                                std::vector<float> *expected) {
  Checkpoint c;
  const auto *bytes = reinterpret_cast<const uint8_t *>(values.data());
  c.tensors.push_back(statepack::test::owned_tensor(
      "w", DType::kF32, shape, std::vector<uint8_t>(bytes, bytes + values.size() * 4)));
  statepack::QuantPlan plan;
  plan.rules.push_back({"w", "w", kInt4K});
  statepack::apply_quant_plan(c, plan);
  REQUIRE(c.tensors[0].quant.get() != nullptr);
  *expected = statepack::reconstruct(c.tensors[0]);
  statepack::BlobOptions options;
  options.compression.zstd = zstd;
  return statepack::build_blob(c, options);
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("int4-k's encoding: grid indices, 7-bit sub-block scales, F16 per 16 sub-blocks") {
  // 2 rows of 24: sub-blocks of 16 and 8 per row (4 in all), one super-block spanning both rows.
  QuantizedTensor q;
  q.spec = kInt4K;
  q.axis = 1;
  q.dtype = DType::kU4;
  q.data.assign(24, 0);
  for (size_t i = 0; i < 48; ++i) {
    q.data[i / 2] = static_cast<uint8_t>(q.data[i / 2] | ((i % 16) << (4 * (i % 2))));
  }
  q.scale_dtype = DType::kF16;
  const uint16_t d = statepack::f32_to_f16(0.5f);
  q.scales = {static_cast<uint8_t>(d & 0xFF), static_cast<uint8_t>(d >> 8)};
  q.zero_point_dtype = DType::kU8;
  q.zero_points.assign(14, 0);
  // Sub-block scales 1, -64, 63, -1 as 7-bit two's complement fields, low bits first.
  const uint32_t fields[4] = {1, 64, 63, 127};
  for (uint32_t j = 0; j < 4; ++j) {
    for (uint32_t b = 0; b < 7; ++b) {
      const uint32_t bit = 7 * j + b;
      q.zero_points[bit / 8] =
          static_cast<uint8_t>(q.zero_points[bit / 8] | (((fields[j] >> b) & 1u) << (bit % 8)));
    }
  }
  const std::vector<float> y = statepack::reconstruct(q, {2, 24});
  const int grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  const int scale[4] = {1, -64, 63, -1};
  for (size_t i = 0; i < 48; ++i) {
    const size_t row = i / 24, column = i % 24, sub = 2 * row + column / 16;
    CAPTURE(i);
    CHECK(y[i] == 0.5f * static_cast<float>(scale[sub] * grid[i % 16]));
  }
  // Wrong sizes are refused rather than read out of bounds.
  q.zero_points.resize(13);
  CHECK_THROWS_AS(statepack::reconstruct(q, {2, 24}), statepack::Error);
}

TEST_CASE("int4-k beats int4-g32 at no more bits and is deterministic") {
  const std::vector<float> x = gaussian(64 * 512, 3);
  const QuantizedTensor k = statepack::quantize("w", x.data(), {64, 512}, kInt4K);
  const QuantizedTensor g =
      statepack::quantize("w", x.data(), {64, 512}, *statepack::parse_scheme("int4-g32"));
  const auto bits = [](const QuantizedTensor &q) {
    return 8.0 * static_cast<double>(q.data.size() + q.scales.size() + q.zero_points.size());
  };
  CHECK(bits(k) <= bits(g));
  CHECK(bits(k) == doctest::Approx(4.5 * 64 * 512));
  CHECK(k.sqnr_db > g.sqnr_db + 1.0);
  CHECK(k.slice_count == 64 * 32);
  const QuantizedTensor again = statepack::quantize("w", x.data(), {64, 512}, kInt4K);
  CHECK(again.data == k.data);
  CHECK(again.scales == k.scales);
  CHECK(again.zero_points == k.zero_points);
}

TEST_CASE("int4-k on zeros, tiny and huge values") {
  SUBCASE("all zeros decode to zeros with nothing underflowed") {
    const std::vector<float> x(3 * 40, 0.0f);
    const QuantizedTensor q = statepack::quantize("w", x.data(), {3, 40}, kInt4K);
    for (float v : statepack::reconstruct(q, {3, 40})) CHECK(v == 0.0f);
    CHECK(q.underflow_count == 0);
    CHECK(std::isinf(q.sqnr_db));
  }
  SUBCASE("a zero sub-block beside large ones") {
    std::vector<float> x = gaussian(256, 5);
    for (size_t i = 16; i < 32; ++i) x[i] = 0.0f;
    const std::vector<float> y =
        statepack::reconstruct(statepack::quantize("w", x.data(), {1, 256}, kInt4K), {1, 256});
    for (size_t i = 16; i < 32; ++i) CHECK(y[i] == 0.0f);
  }
  SUBCASE("values below what an F16 scale reaches underflow to zeros and are counted") {
    std::vector<float> x = gaussian(2 * 256, 6, 1e-12f);
    const QuantizedTensor q = statepack::quantize("w", x.data(), {2, 256}, kInt4K);
    CHECK(q.underflow_count == 2);
    for (float v : statepack::reconstruct(q, {2, 256})) CHECK(v == 0.0f);
  }
  SUBCASE("small values still get their precision from the sub-block scales") {
    const std::vector<float> x = gaussian(4 * 256, 7, 1e-4f);
    CHECK(statepack::quantize("w", x.data(), {4, 256}, kInt4K).sqnr_db > 20.0);
  }
  SUBCASE("large values up to the scheme's largest are quantized, F16 scale capped") {
    std::vector<float> x = gaussian(256, 8, 1e8f);
    x[3] = 5.2e8f;
    const QuantizedTensor q = statepack::quantize("w", x.data(), {1, 256}, kInt4K);
    CHECK(q.sqnr_db > 15.0);
    CHECK(statepack::f16_to_f32(static_cast<uint16_t>(q.scales[0] | (q.scales[1] << 8))) <=
          65504.0f);
  }
  SUBCASE("values beyond 65504 * 63 * 127 are refused, naming the tensor") {
    std::vector<float> x = gaussian(256, 9);
    x[100] = 6e8f;
    try {
      statepack::quantize("big", x.data(), {1, 256}, kInt4K);
      FAIL("expected a refusal");
    } catch (const statepack::Error &e) {
      CHECK(std::string(e.what()).find("\"big\"") != std::string::npos);
      CHECK(std::string(e.what()).find("int4-k") != std::string::npos);
    }
  }
  SUBCASE("non-finite values are refused") {
    std::vector<float> x(256, 1.0f);
    x[7] = std::nanf("");
    CHECK_THROWS_AS(statepack::quantize("w", x.data(), {1, 256}, kInt4K), statepack::Error);
  }
}

TEST_CASE("the runtime decodes int4-k bit for bit: whole, by rows, from chunks, compressed") {
  // Ragged sub-blocks (147 = 9 * 16 + 3, an odd row), super-blocks across rows, rank 1 and 4.
  const std::vector<std::vector<uint64_t>> shapes = {
      {64, 147}, {5, 3, 3, 3}, {1000}, {300, 17}, {4, 512}};
  uint32_t seed = 20;
  for (const auto &shape : shapes) {
    uint64_t count = 1;
    for (uint64_t v : shape) count *= v;
    CAPTURE(count);
    const std::vector<float> x = gaussian(count, seed++);
    std::vector<float> expected;
    const std::vector<uint8_t> blob = int4k_blob(x, shape, false, &expected);
    spk_blob b;
    REQUIRE(spk_open(&b, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
    spk_tensor t;
    REQUIRE(spk_find(&b, "w", &t) == SPK_OK);
    CHECK(t.quant.scheme == SPK_QUANT_INT4_K);
    CHECK(t.dtype == SPK_DTYPE_U4);
    std::vector<float> decoded(count);
    REQUIRE(spk_dequantize(&t, decoded.data(), decoded.size()) == SPK_OK);
    CHECK(same_bits(expected, decoded));

    const uint64_t rows = shape[0], row = count / rows;  // rank 1: rows of one element
    std::vector<float> part(2 * row);
    for (uint64_t first = 0; first < rows; first += 2) {
      const uint64_t n = std::min<uint64_t>(2, rows - first);
      REQUIRE(spk_dequantize_rows(&t, first, n, part.data(), part.size()) == SPK_OK);
      CHECK(std::memcmp(part.data(), decoded.data() + first * row, n * row * 4) == 0);
    }
    // Chunks of the stored bytes starting on even elements, as a codec add-on hands them.
    const auto *data = static_cast<const uint8_t *>(t.data);
    for (uint64_t first = 0; first < count; first += 38) {
      const uint64_t n = std::min<uint64_t>(38, count - first);
      std::vector<float> chunk(n);
      REQUIRE(spk_dequantize_from(&t, data + first / 2, (n + 1) / 2, first, n, chunk.data(),
                                  chunk.size()) == SPK_OK);
      CHECK(std::memcmp(chunk.data(), decoded.data() + first, n * 4) == 0);
    }

    std::vector<float> zexpected;
    const std::vector<uint8_t> zblob = int4k_blob(x, shape, true, &zexpected);
    CHECK(same_bits(zexpected, expected));
    spk_blob zb;
    REQUIRE(spk_open(&zb, zblob.data(), zblob.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
    spk_tensor zt;
    REQUIRE(spk_find(&zb, "w", &zt) == SPK_OK);
    std::vector<uint8_t> workspace(spk_zstd_dequantize_workspace_size(&zt));
    std::vector<float> zdecoded(count);
    REQUIRE(spk_zstd_dequantize(&zt, workspace.data(), workspace.size(), zdecoded.data(),
                                zdecoded.size()) == SPK_OK);
    CHECK(same_bits(expected, zdecoded));
  }
}

TEST_CASE("a caller-built int4-k view never reads outside its parameters") {
  const std::vector<float> x = gaussian(4 * 512, 30);
  std::vector<float> expected;
  const std::vector<uint8_t> blob = int4k_blob(x, {4, 512}, false, &expected);
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data(), blob.size(), 0) == SPK_OK);
  spk_tensor t;
  REQUIRE(spk_find(&b, "w", &t) == SPK_OK);
  CHECK(t.quant.scale_count == 8);
  CHECK(t.quant.zero_point_count == 8);
  std::vector<float> out(x.size());
  spk_tensor bad = t;
  bad.quant.scale_count = 7;  // the last super-block's scale is missing
  CHECK(spk_dequantize(&bad, out.data(), out.size()) == SPK_ERR_INVALID_ARGUMENT);
  bad = t;
  bad.quant.zero_points = nullptr;
  CHECK(spk_dequantize(&bad, out.data(), out.size()) == SPK_ERR_INVALID_ARGUMENT);
  bad = t;
  bad.quant.zero_point_count = 7;
  CHECK(spk_dequantize(&bad, out.data(), out.size()) == SPK_ERR_INVALID_ARGUMENT);
}
