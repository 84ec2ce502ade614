// SPDX-License-Identifier: Apache-2.0
// Small palettes: what find_palette accepts (at most 256 distinct values, each reproduced bit
// for bit, -0.0 and infinities included, from F32, F16 and BF16 sources) and refuses (257
// values, a NaN), how the lossless-grid pass chooses between a palette, a grid and the tensor
// as it is, and the decode through a blob: spk_dequantize, _rows, _from chunk by chunk and the
// zstd add-on all return the source floats.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/lossless_grid_pass.hpp"
#include "statepack/tools/quant/palette.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using statepack::DType;
using statepack::QuantScheme;
using statepack::Tensor;

uint32_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}

// `count` values drawn from `palette` (every entry used), as the bytes of `dtype`.
std::vector<float> palette_values(const std::vector<float> &palette, size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i)
    v[i] = palette[i < palette.size() ? i : rng() % palette.size()];
  return v;
}

// k arbitrary floats on no grid (k-means centroids of Gaussian weights look like this).
std::vector<float> centroids(size_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> c(k);
  for (float &x : c) x = normal(rng);
  return c;
}

std::vector<uint8_t> encode(const std::vector<float> &v, DType dtype) {
  std::vector<uint8_t> out;
  for (float x : v) {
    if (dtype == DType::kF32) {
      const uint32_t b = bits(x);
      for (int k = 0; k < 4; ++k) out.push_back(static_cast<uint8_t>(b >> (8 * k)));
    } else {
      const uint16_t h =
          dtype == DType::kF16 ? statepack::f32_to_f16(x) : statepack::f32_to_bf16(x);
      out.push_back(static_cast<uint8_t>(h));
      out.push_back(static_cast<uint8_t>(h >> 8));
    }
  }
  return out;
}

// The f32 values a dtype's bytes stand for (what the palette must give back).
std::vector<float> widened(const Tensor &t) {
  return statepack::to_f32(t);
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

}  // namespace

TEST_CASE("find_palette: exact for 2, 16, 17 and 256 values from f32, f16 and bf16") {
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (size_t k : {size_t{2}, size_t{16}, size_t{17}, size_t{256}}) {
      CAPTURE(static_cast<int>(dtype));
      CAPTURE(k);
      // Distinct after narrowing: spaced wider than a bf16 ulp.
      std::vector<float> palette(k);
      for (size_t j = 0; j < k; ++j) palette[j] = (static_cast<float>(j) - 100.3f) * 0.0371f;
      const Tensor t = statepack::test::owned_tensor(
          "w", dtype, {8, 96}, encode(palette_values(palette, 768, 7), dtype));
      const auto q = statepack::find_palette(t);
      REQUIRE(q);
      CHECK(q->spec.scheme == QuantScheme::kPalette);
      CHECK(q->spec.group_size == k);
      CHECK(q->dtype == (k <= 16 ? DType::kU4 : DType::kU8));
      CHECK(q->data.size() == (k <= 16 ? 384u : 768u));
      CHECK(q->scales.size() == 4 * k);
      CHECK(q->lossless);
      CHECK(q->axis == -1);
      CHECK(same_bits(statepack::reconstruct(*q, t.shape), widened(t)));
      // Ascending.
      float previous = -std::numeric_limits<float>::infinity();
      for (size_t j = 0; j < k; ++j) {
        float v;
        std::memcpy(&v, q->scales.data() + 4 * j, 4);
        CHECK(v > previous);
        previous = v;
      }
    }
  }
}

TEST_CASE("find_palette refuses 257 values and NaN; keeps -0.0, +0.0 and infinities apart") {
  std::vector<float> many(257);
  for (size_t j = 0; j < many.size(); ++j) many[j] = static_cast<float>(j) * 0.5f + 0.25f;
  const Tensor t257 =
      statepack::test::owned_tensor("w", DType::kF32, {257}, encode(many, DType::kF32));
  CHECK_FALSE(statepack::may_be_palette(t257));
  CHECK_FALSE(statepack::find_palette(t257));
  many.pop_back();
  const Tensor t256 =
      statepack::test::owned_tensor("w", DType::kF32, {256}, encode(many, DType::kF32));
  CHECK(statepack::may_be_palette(t256));
  CHECK(statepack::find_palette(t256));

  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    CAPTURE(static_cast<int>(dtype));
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> special = {-0.0f, 0.0f, inf, -inf, 1.5f, -0.0f, 0.0f, 1.5f};
    const Tensor t = statepack::test::owned_tensor("m", dtype, {8}, encode(special, dtype));
    const auto q = statepack::find_palette(t);
    REQUIRE(q);
    CHECK(q->spec.group_size == 5);  // -inf, -0, +0, 1.5, inf
    const std::vector<float> back = statepack::reconstruct(*q, t.shape);
    for (size_t i = 0; i < special.size(); ++i) CHECK(bits(back[i]) == bits(special[i]));
    float first;
    std::memcpy(&first, q->scales.data() + 4, 4);
    CHECK(bits(first) == 0x80000000u);  // -0.0 sorts before +0.0

    std::vector<float> with_nan = special;
    with_nan[3] = std::numeric_limits<float>::quiet_NaN();
    const Tensor n = statepack::test::owned_tensor("n", dtype, {8}, encode(with_nan, dtype));
    CHECK_FALSE(statepack::may_be_palette(n));
    CHECK_FALSE(statepack::find_palette(n));
  }
  // Not a float source, or empty.
  const Tensor ints =
      statepack::test::owned_tensor("i", DType::kI32, {4}, std::vector<uint8_t>(16));
  CHECK_FALSE(statepack::find_palette(ints));
  const Tensor empty = statepack::test::owned_tensor("e", DType::kF32, {0}, {});
  CHECK_FALSE(statepack::find_palette(empty));
}

TEST_CASE("the pass takes a palette only where it is smaller") {
  const std::vector<float> v16 = palette_values(centroids(16, 3), 64 * 64, 4);
  const std::vector<float> v200 = palette_values(centroids(200, 5), 64 * 64, 6);
  // A per-tensor grid of 200 levels: as a palette, U8 indices plus 800 bytes of values lose to
  // the grid's I8 plus one scale when sizes are raw.
  std::vector<float> grid(64 * 64);
  for (size_t i = 0; i < grid.size(); ++i) {
    grid[i] = static_cast<float>(static_cast<int>(i % 200) - 100) * 0.0125f;
  }
  statepack::Checkpoint c;
  c.tensors.push_back(
      statepack::test::owned_tensor("a16", DType::kF32, {64, 64}, encode(v16, DType::kF32)));
  c.tensors.push_back(
      statepack::test::owned_tensor("b200", DType::kBF16, {64, 64}, encode(v200, DType::kBF16)));
  c.tensors.push_back(
      statepack::test::owned_tensor("c_grid", DType::kF32, {64, 64}, encode(grid, DType::kF32)));
  c.tensors.push_back(statepack::test::owned_tensor("d_noise", DType::kF32, {64, 64},
                                                    statepack::test::pattern_bytes(16384, 9)));
  statepack::Checkpoint claimed = c;
  const auto rows = statepack::apply_lossless_grids(c, {});
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].name == "a16");
  CHECK(rows[0].stored_dtype == DType::kU4);
  CHECK(rows[0].scales == 16);
  CHECK(rows[1].name == "b200");
  CHECK(rows[1].stored_dtype == DType::kU8);
  CHECK(rows[2].name == "c_grid");
  CHECK(rows[2].stored_dtype == DType::kI8);
  const std::string report = statepack::format_grid_report(rows);
  CHECK(report.find("palette a16: 16 values, lossless (F32 -> U4 indices + 16 F32 values)") !=
        std::string::npos);
  CHECK(report.find("grid c_grid: int8 per tensor") != std::string::npos);
  CHECK(c.tensors[3].dtype == DType::kF32);

  // A codec under which the tensors as they are cost nothing: no palette pays.
  const auto none =
      statepack::apply_lossless_grids(claimed, {}, [](const uint8_t *, uint64_t size, DType dtype) {
        return dtype == DType::kU4 || dtype == DType::kU8 ? size : uint64_t{1};
      });
  REQUIRE(none.size() == 1);
  CHECK(none[0].name == "c_grid");
}

TEST_CASE("a palette through a blob: every decode path returns the source floats") {
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (size_t k : {size_t{2}, size_t{16}, size_t{17}, size_t{256}}) {
      CAPTURE(static_cast<int>(dtype));
      CAPTURE(k);
      // 96 rows of 1000: several 64 KiB chunks of indices when U8.
      std::vector<float> palette = centroids(k, static_cast<uint32_t>(k));
      // Distinct after narrowing to bf16 (spaced wider than its ulp), else arbitrary.
      for (size_t j = 0; j < k; ++j) palette[j] = (static_cast<float>(j) - 100.3f) * 0.0371f;
      const std::vector<float> v = palette_values(palette, 96000, 11);
      statepack::Checkpoint c;
      c.tensors.push_back(statepack::test::owned_tensor("w", dtype, {96, 1000}, encode(v, dtype)));
      const std::vector<float> source = widened(c.tensors[0]);
      REQUIRE(statepack::apply_lossless_grids(c, {}).size() == 1);
      for (bool zstd : {false, true}) {
        CAPTURE(zstd);
        statepack::BlobOptions options;
        options.compression.zstd = zstd;
        options.compression.max_chunk = 16384;  // several chunks even for U4 indices
        const std::vector<uint8_t> blob = statepack::build_blob(c, options);
        spk_blob b;
        REQUIRE(spk_open(&b, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
        spk_tensor t;
        REQUIRE(spk_find(&b, "w", &t) == SPK_OK);
        CHECK(t.quant.scheme == SPK_QUANT_PALETTE);
        CHECK(t.dtype == (k <= 16 ? SPK_DTYPE_U4 : SPK_DTYPE_U8));
        CHECK(t.source_dtype == static_cast<uint8_t>(dtype));
        CHECK(t.quant.scale_count == k);
        uint8_t lossless = 0;
        REQUIRE(spk_quant_lossless(&b, &t, &lossless) == SPK_OK);
        CHECK(lossless == 1);
        std::vector<float> out(v.size());
        if (zstd) {
          std::vector<uint8_t> workspace(spk_zstd_dequantize_workspace_size(&t));
          REQUIRE(spk_zstd_dequantize(&t, workspace.data(), workspace.size(), out.data(),
                                      out.size()) == SPK_OK);
          CHECK(same_bits(out, source));
          // Chunk by chunk, as the add-on hands them to spk_dequantize_from.
          std::vector<uint8_t> raw(static_cast<size_t>(t.decoded_size));
          std::vector<uint8_t> decode_space(spk_zstd_workspace_size(&t));
          REQUIRE(spk_zstd_decode(&t, decode_space.data(), decode_space.size(), raw.data(),
                                  raw.size()) == SPK_OK);
          const uint64_t per = k <= 16 ? 2 * 16384 : 16384;
          std::vector<float> chunked(v.size());
          for (uint64_t first = 0; first < v.size(); first += per) {
            const uint64_t n = std::min<uint64_t>(per, v.size() - first);
            const size_t at = static_cast<size_t>(k <= 16 ? first / 2 : first);
            REQUIRE(spk_dequantize_from(&t, raw.data() + at, raw.size() - at, first, n,
                                        chunked.data() + first, n) == SPK_OK);
          }
          CHECK(same_bits(chunked, source));
          continue;
        }
        REQUIRE(spk_dequantize(&t, out.data(), out.size()) == SPK_OK);
        CHECK(same_bits(out, source));
        std::vector<float> rows(3 * 1000);
        REQUIRE(spk_dequantize_rows(&t, 41, 3, rows.data(), rows.size()) == SPK_OK);
        CHECK(std::memcmp(rows.data(), source.data() + 41000, rows.size() * 4) == 0);
        // The indices and the palette for table-lookup kernels.
        const auto *indices = static_cast<const uint8_t *>(t.data);
        for (size_t i : {size_t{0}, size_t{1}, size_t{4243}, size_t{95999}}) {
          const uint32_t index =
              k <= 16 ? (indices[i / 2] >> (i % 2 != 0 ? 4 : 0)) & 15u : indices[i];
          float entry = 0;
          int32_t zero = 1;
          REQUIRE(spk_quant_param(&t, index, &entry, &zero) == SPK_OK);
          CHECK(zero == 0);
          CHECK(bits(entry) == bits(source[i]));
        }
        // A caller-shortened palette: an index past it is refused, never read.
        spk_tensor shortened = t;
        shortened.quant.scale_count = 1;
        CHECK(spk_dequantize(&shortened, out.data(), out.size()) == SPK_ERR_INVALID_ARGUMENT);
      }
    }
  }
}
