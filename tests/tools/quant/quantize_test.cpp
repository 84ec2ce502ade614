// SPDX-License-Identifier: Apache-2.0
// quantize() and reconstruct(): known answers worked out by hand for every scheme, the layouts
// of FORMAT.md (groups with ragged tails, 4-bit packing), edge cases (zeros, constants, single
// values, negative-only, NaN/Inf, scales beyond f16), and the search's quality against plain
// max-abs rounding and an exhaustive search.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack {
namespace {

const float kInf = std::numeric_limits<float>::infinity();

SchemeSpec scheme(const char *name) {
  const std::optional<SchemeSpec> spec = parse_scheme(name);
  REQUIRE(spec.has_value());
  return *spec;
}

QuantizedTensor run(const char *name, const std::vector<float> &x, std::vector<uint64_t> shape) {
  return quantize("w", x.data(), shape, scheme(name));
}

std::vector<uint8_t> f32_le(std::initializer_list<float> values) {
  std::vector<uint8_t> out;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  }
  return out;
}

std::vector<uint8_t> u16_le(std::initializer_list<uint16_t> values) {
  std::vector<uint8_t> out;
  for (uint16_t v : values) {
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
  }
  return out;
}

uint32_t bits_of(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

const char *const kIntegerSchemes[] = {"int8",          "int8-tensor",   "int8-asym",
                                       "int8-g32",      "int4-g32",      "int4-g64",
                                       "int4-g32-asym", "int4-g128-asym"};

// ---- Deterministic test data. ----

struct Rng {
  uint64_t state;
  double uniform() {  // (0, 1)
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (static_cast<double>(state >> 11) + 0.5) * 0x1.0p-53;
  }
  double normal() {
    return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
  }
  double student_t4() {
    double chi2 = 0;
    for (int i = 0; i < 4; ++i) {
      const double z = normal();
      chi2 += z * z;
    }
    return normal() / std::sqrt(chi2 / 4.0);
  }
};

// rows x cols heavy-tailed weights with log-normal row scales.
std::vector<float> heavy_tailed(size_t rows, size_t cols, uint64_t seed) {
  Rng rng{seed};
  std::vector<float> x(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    const double scale = 0.05 * std::exp(0.5 * rng.normal());
    for (size_t c = 0; c < cols; ++c)
      x[r * cols + c] = static_cast<float>(scale * rng.student_t4());
  }
  return x;
}

double sqnr_db(const std::vector<float> &x, const std::vector<float> &y) {
  double signal = 0;
  double noise = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    signal += static_cast<double>(x[i]) * x[i];
    noise += d * d;
  }
  return 10 * std::log10(signal / noise);
}

float f16_round(float v) {
  return f16_to_f32(f32_to_f16(v));
}

// Plain symmetric max-abs rounding of groups of `group` along rows of `cols`: the baseline
// the search must beat.
std::vector<float> max_abs_baseline(const std::vector<float> &x, size_t cols, size_t group, int top,
                                    bool f16) {
  std::vector<float> y(x.size());
  for (size_t begin = 0; begin < x.size(); begin += cols) {
    for (size_t g = 0; g < cols; g += group) {
      const size_t n = std::min(group, cols - g);
      const float *p = x.data() + begin + g;
      float amax = 0;
      for (size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(p[i]));
      float s = amax / static_cast<float>(top);
      if (f16) s = f16_round(s);
      for (size_t i = 0; i < n; ++i) {
        const float q = s == 0 ? 0.0f
                               : std::clamp(std::nearbyint(p[i] / s), -static_cast<float>(top),
                                            static_cast<float>(top));
        y[begin + g + i] = q * s;
      }
    }
  }
  return y;
}

// ---- Scheme names. ----

TEST_CASE("every CLI scheme name parses and names itself back") {
  const std::vector<std::string> names = scheme_names();
  CHECK(names.size() == 16);
  CHECK(names.front() == "keep");
  for (const std::string &name : names) {
    CAPTURE(name);
    const std::optional<SchemeSpec> spec = parse_scheme(name);
    REQUIRE(spec.has_value());
    CHECK(scheme_name(*spec) == name);
  }
  CHECK(parse_scheme("int4-g64-asym")->scheme == QuantScheme::kInt4GroupAsym);
  CHECK(parse_scheme("int4-g64-asym")->group_size == 64);
  CHECK(parse_scheme("int8-g128")->scheme == QuantScheme::kInt8Group);
  CHECK(parse_scheme("int8")->group_size == 0);
  CHECK(parse_scheme("int4-k")->scheme == QuantScheme::kInt4K);
  CHECK(parse_scheme("int4-k")->group_size == 16);
}

TEST_CASE("unknown scheme names are refused") {
  for (const char *name : {"", "int4", "int4-g16", "int3-g32", "INT8", "int8 ", "fp16",
                           "int8-g32-asym", "int4-asym", "int4-g32-sym"}) {
    CAPTURE(name);
    CHECK_FALSE(parse_scheme(name).has_value());
  }
}

// ---- Known answers, worked out by hand. ----

TEST_CASE("int8-tensor: values on a power-of-two grid get that grid exactly") {
  // x = [-127, 0, 64, 127] / 128: s = 1/128 represents every value; no other scale does
  // (127 and 64 are coprime and 127 is the top level), so it is the least-squares optimum.
  const QuantizedTensor q = run("int8-tensor", {-127 / 128.f, 0, 64 / 128.f, 127 / 128.f}, {4});
  CHECK(q.dtype == DType::kI8);
  CHECK(q.axis == -1);
  CHECK(q.data == std::vector<uint8_t>{0x81, 0x00, 0x40, 0x7F});
  CHECK(q.scale_dtype == DType::kF32);
  CHECK(q.scales == f32_le({1 / 128.f}));
  CHECK(q.zero_points.empty());
  CHECK(q.sqnr_db == kInf);
  CHECK(q.max_abs_error == 0);
  CHECK(q.overflow_count == 0);
}

TEST_CASE("int8 on a matrix: one F32 scale per slice of axis 0") {
  // Row 0: [-127, 64] / 128 -> s = 1/128; row 1: [127, -32] / 512 -> s = 1/512.
  const QuantizedTensor q =
      run("int8", {-127 / 128.f, 64 / 128.f, 127 / 512.f, -32 / 512.f}, {2, 2});
  CHECK(q.axis == 0);
  CHECK(q.data == std::vector<uint8_t>{0x81, 0x40, 0x7F, 0xE0});
  CHECK(q.scales == f32_le({1 / 128.f, 1 / 512.f}));
  CHECK(q.sqnr_db == kInf);
}

TEST_CASE("int8 on a vector or a scalar is per tensor (axis -1)") {
  const QuantizedTensor vector = run("int8", {-127 / 128.f, 0, 64 / 128.f, 127 / 128.f}, {4});
  CHECK(vector.axis == -1);
  CHECK(vector.scales == f32_le({1 / 128.f}));
  CHECK(vector.data == std::vector<uint8_t>{0x81, 0x00, 0x40, 0x7F});
  const QuantizedTensor scalar = run("int8", {0.5f}, {});
  CHECK(scalar.axis == -1);
  CHECK(scalar.scales.size() == 4);
  CHECK(reconstruct(scalar, {}) == std::vector<float>{0.5f});
}

TEST_CASE("int8-asym: F32 scale and I8 zero point cover [min, max] with all 256 levels") {
  // x = [-64, 0, 32, 191] / 128 spans 255 steps of 1/128; 0 sits on level z = -128 + 64.
  // q = z + x / s = [-128, -64, -32, 127].
  const QuantizedTensor q = run("int8-asym", {-0.5f, 0, 0.25f, 191 / 128.f}, {4});
  CHECK(q.axis == -1);
  CHECK(q.dtype == DType::kI8);
  CHECK(q.data == std::vector<uint8_t>{0x80, 0xC0, 0xE0, 0x7F});
  CHECK(q.scales == f32_le({1 / 128.f}));
  CHECK(q.zero_point_dtype == DType::kI8);
  CHECK(q.zero_points == std::vector<uint8_t>{0xC0});  // -64
  CHECK(q.sqnr_db == kInf);

  const QuantizedTensor channels = run("int8-asym", {-0.5f, 0, 0.25f, 191 / 128.f}, {2, 2});
  CHECK(channels.axis == 0);
  CHECK(channels.scales.size() == 2 * 4);
  CHECK(channels.zero_points.size() == 2);
}

TEST_CASE("int8-g32: one F16 scale per group along each row") {
  // Row 0 on the 2^-7 grid, row 1 on the 2^-9 grid (f16 0x2000 and 0x1800).
  const QuantizedTensor q = run("int8-g32",
                                {-127 / 128.f, 0, 64 / 128.f, 127 / 128.f,  //
                                 127 / 512.f, -32 / 512.f, 0, 1 / 512.f},
                                {2, 4});
  CHECK(q.axis == 1);
  CHECK(q.data == std::vector<uint8_t>{0x81, 0x00, 0x40, 0x7F, 0x7F, 0xE0, 0x00, 0x01});
  CHECK(q.scale_dtype == DType::kF16);
  CHECK(q.scales == u16_le({0x2000, 0x1800}));
  CHECK(q.sqnr_db == kInf);
}

TEST_CASE("int4-g32: the least-squares scale beats max-abs") {
  // x = [-1, 0, 0.3, 0.8]. Max-abs would take s = 1/7 (levels [-7, 0, 2, 6], error 0.0029).
  // The best levels are [-6, 0, 2, 5] with the least-squares scale
  //   s* = sum x q / sum q^2 = (6 + 0.6 + 4) / (36 + 4 + 25) = 10.6 / 65 = 0.163077,
  // which f16 rounds to 1336 * 2^-13 = 0.1630859375 (0x3138); squared error 0.00138.
  // An exhaustive search over every f16 scale finds the same optimum.
  const QuantizedTensor q = run("int4-g32", {-1, 0, 0.3f, 0.8f}, {4});
  CHECK(q.dtype == DType::kI4);
  CHECK(q.axis == 0);
  CHECK(q.scales == u16_le({0x3138}));
  // -6 = 0xA in the low nibble of byte 0, 0; then 2 and 5.
  CHECK(q.data == std::vector<uint8_t>{0x0A, 0x52});
  const std::vector<float> y = reconstruct(q, {4});
  CHECK(y == std::vector<float>{-0.978515625f, 0, 0.326171875f, 0.8154296875f});
  CHECK(q.max_abs_error == doctest::Approx(0.326171875 - 0.3).epsilon(1e-6));
  CHECK(q.overflow_count == 0);
}

TEST_CASE("int4-g32: a positive extreme goes on level -8 with a negative scale (GGUF Q4_0)") {
  // x = [8, -4, 2, 7] / 8 is exact with s = -1/8 and q = [-8, 4, -2, -7]; with a positive
  // scale the top level is 7, so 1.0 could not be reached without a coarser grid.
  const QuantizedTensor q = run("int4-g32", {1, -0.5f, 0.25f, 0.875f}, {4});
  CHECK(q.scales == u16_le({0xB000}));                // -0.125
  CHECK(q.data == std::vector<uint8_t>{0x48, 0x9E});  // -8, 4 | -2, -7
  CHECK(q.sqnr_db == kInf);
}

TEST_CASE("int4-g32: negative scales are flipped when the -8 level is not used") {
  // The same levels negated with the scale negated reconstruct the same values bit for bit;
  // the positive form is stored. (Data whose largest magnitude is negative.)
  const QuantizedTensor q = run("int4-g32", {-1, 0, 0.3f, 0.8f}, {4});
  CHECK(f16_to_f32(static_cast<uint16_t>(q.scales[0] | (q.scales[1] << 8))) > 0);
}

TEST_CASE("int4-g32-asym: U4 levels, F16 scale and U8 zero point on an exact grid") {
  // x = [-5, -1, 0, 3, 10] / 16: s = 1/16 (0x2C00), z = 5, q = x / s + z = [0, 4, 5, 8, 15].
  const QuantizedTensor q = run("int4-g32-asym", {-0.3125f, -0.0625f, 0, 0.1875f, 0.625f}, {5});
  CHECK(q.dtype == DType::kU4);
  CHECK(q.scales == u16_le({0x2C00}));
  CHECK(q.zero_point_dtype == DType::kU8);
  CHECK(q.zero_points == std::vector<uint8_t>{5});
  CHECK(q.data == std::vector<uint8_t>{0x40, 0x85, 0x0F});
  CHECK(q.sqnr_db == kInf);
}

TEST_CASE("int4-g32-asym: scale and zero point are fitted jointly") {
  // 16 values about 0.1 apart from -0.51 to 1.01: one per level, 0 nearest level 5, so z = 5
  // and q - z = -5..10. The least-squares scale for those levels is
  //   sum x (q - z) / sum (q - z)^2 = 44.12 / 440 = 0.1002727,
  // which f16 rounds to 1643 * 2^-14 = 0.10028076171875 (0x2E6B); an exhaustive search over
  // every (f16 scale, zero point) finds the same.
  const std::vector<float> x = {-0.51f, -0.39f, -0.3f, -0.21f, -0.1f, 0.02f, 0.1f, 0.19f,
                                0.31f,  0.4f,   0.5f,  0.61f,  0.7f,  0.79f, 0.9f, 1.01f};
  const QuantizedTensor q = run("int4-g32-asym", x, {16});
  CHECK(q.scales == u16_le({0x2E6B}));
  CHECK(q.zero_points == std::vector<uint8_t>{5});
  CHECK(q.data == std::vector<uint8_t>{0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE});
}

TEST_CASE("f16 and bf16 casts round to nearest even") {
  const QuantizedTensor half = run("f16", {1.0f, -2.5f, 65504.0f, 1e-8f, 0.1f}, {5});
  CHECK(half.dtype == DType::kF16);
  CHECK(half.data == u16_le({0x3C00, 0xC100, 0x7BFF, 0x0000, 0x2E66}));
  CHECK(half.scales.empty());
  CHECK(half.scale_dtype == DType::kUnknown);
  CHECK(half.overflow_count == 0);
  const QuantizedTensor brain = run("bf16", {1.0f, 3.14159f, -0.1f}, {3});
  CHECK(brain.dtype == DType::kBF16);
  CHECK(brain.data == u16_le({0x3F80, 0x4049, 0xBDCD}));
  CHECK(brain.sqnr_db > 40);
}

TEST_CASE("keep stores the f32 values unchanged") {
  const QuantizedTensor q = run("keep", {1.5f, -0.0f}, {2});
  CHECK(q.dtype == DType::kF32);
  CHECK(q.data == f32_le({1.5f, -0.0f}));
  CHECK(q.sqnr_db == kInf);
}

// ---- Edge cases. ----

TEST_CASE("all-zero tensors get zero scales and reconstruct zeros exactly") {
  const std::vector<float> zeros(40, 0.0f);
  for (const char *name : kIntegerSchemes) {
    CAPTURE(name);
    const QuantizedTensor q = run(name, zeros, {2, 20});
    CHECK(q.sqnr_db == kInf);
    CHECK(q.max_abs_error == 0);
    for (uint8_t b : q.scales) CHECK(b == 0);
    CHECK(reconstruct(q, {2, 20}) == zeros);
  }
}

TEST_CASE("constant tensors reconstruct within the scale type's rounding") {
  for (const float c : {0.3f, -7.25f}) {
    const std::vector<float> x(40, c);
    for (const char *name : kIntegerSchemes) {
      CAPTURE(name);
      CAPTURE(c);
      const QuantizedTensor q = run(name, x, {40});
      // An f16 scale is within 2^-11 of the ideal one; an F32 scale within 2^-24.
      CHECK(q.max_abs_error <= std::fabs(c) * std::ldexp(1.0, -11));
      const std::vector<float> y = reconstruct(q, {40});
      CHECK(std::all_of(y.begin(), y.end(), [&](float v) { return v == y[0]; }));
      CHECK(q.overflow_count == 0);
    }
  }
}

TEST_CASE("a single element reconstructs within the scale type's rounding") {
  for (const char *name : kIntegerSchemes) {
    CAPTURE(name);
    const QuantizedTensor q = run(name, {-0.37f}, {1});
    CHECK(q.max_abs_error <= 0.37 * std::ldexp(1.0, -11));
  }
}

TEST_CASE("negative-only tensors keep their sign and their quality") {
  Rng rng{7};
  std::vector<float> x(2 * 64);
  for (float &v : x) v = -static_cast<float>(rng.uniform());
  for (const char *name : kIntegerSchemes) {
    CAPTURE(name);
    const QuantizedTensor q = run(name, x, {2, 64});
    const std::vector<float> y = reconstruct(q, {2, 64});
    CHECK(std::all_of(y.begin(), y.end(), [](float v) { return v <= 0; }));
    const bool int4 = std::string(name).rfind("int4", 0) == 0;
    CHECK(q.sqnr_db > (int4 ? 20.0 : 40.0));
  }
}

TEST_CASE("empty tensors quantize to empty data with the scheme's parameter count") {
  CHECK(run("int8", {}, {3, 0}).scales.size() == 3 * 4);  // one per slice of axis 0
  CHECK(run("int8", {}, {0, 5}).scales.empty());
  CHECK(run("int4-g32", {}, {2, 0}).scales.empty());
  CHECK(run("int4-g32", {}, {2, 0}).data.empty());
  CHECK(run("int8-tensor", {}, {0}).sqnr_db == kInf);
}

TEST_CASE("values too small for any f16 scale reconstruct as zeros") {
  // The unclipped scale 2e-9 / 8 is far below f16's smallest subnormal (6e-8): scale 0.
  const QuantizedTensor q = run("int4-g32", {1e-9f, -2e-9f}, {2});
  CHECK(q.scales == u16_le({0x0000}));
  CHECK(reconstruct(q, {2}) == std::vector<float>{0, 0});
  CHECK(q.sqnr_db == doctest::Approx(0.0));
  CHECK(q.slice_count == 1);
  CHECK(q.underflow_count == 1);  // nonzero values, scale 0: reported, not silent
}

TEST_CASE("underflow counts only the groups whose nonzero values lost their scale") {
  // Row of 64 = two groups of 32: the first tiny (Adam's exp_avg_sq), the second ordinary; a
  // group of zeros has scale 0 too, and is exact.
  std::vector<float> values(96, 0.0f);
  for (size_t i = 0; i < 32; ++i) values[i] = 1e-9f * static_cast<float>(i + 1);
  for (size_t i = 32; i < 64; ++i) values[i] = 0.01f * static_cast<float>(i);
  const QuantizedTensor q = quantize("v", values.data(), {96}, *parse_scheme("int4-g32"));
  CHECK(q.slice_count == 3);
  CHECK(q.underflow_count == 1);
  const QuantizedTensor normal = quantize("v", values.data() + 32, {32}, *parse_scheme("int8"));
  CHECK(normal.underflow_count == 0);
}

TEST_CASE("NaN or infinite values are refused by integer schemes with a count and a way out") {
  const std::vector<float> x = {1, std::nanf(""), kInf, -kInf, 2};
  try {
    (void)run("int8", x, {5});
    FAIL("expected an Error");
  } catch (const Error &e) {
    CHECK(e.kind() == ErrorKind::kInput);
    CHECK(std::string(e.what()) ==
          "tensor \"w\": 3 NaN or infinite values cannot be quantized to int8 (keep it, or use "
          "f16/bf16)");
  }
  for (const char *name : kIntegerSchemes) {
    CAPTURE(name);
    CHECK_THROWS_AS((void)run(name, x, {5}), Error);
  }
  CHECK_THROWS_WITH((void)run("int4-g32", {std::nanf("")}, {1}),
                    "tensor \"w\": 1 NaN or infinite value cannot be quantized to int4 (keep it, "
                    "or use f16/bf16)");
}

TEST_CASE("casts carry NaN and infinities through and count finite values that overflow") {
  const QuantizedTensor q = run("f16", {std::nanf(""), kInf, -kInf, 1e5f, -7e4f, 1.0f}, {6});
  CHECK(q.overflow_count == 2);
  const std::vector<float> y = reconstruct(q, {6});
  CHECK(std::isnan(y[0]));
  CHECK(y[1] == kInf);
  CHECK(y[2] == -kInf);
  CHECK(y[3] == kInf);
  CHECK(y[4] == -kInf);
  CHECK(y[5] == 1.0f);
  // A finite value that became infinite is an infinite error.
  CHECK(q.max_abs_error == kInf);
  CHECK(q.sqnr_db == -kInf);
  // Non-finite inputs alone are carried exactly.
  const QuantizedTensor exact = run("bf16", {std::nanf(""), -kInf, 0.5f}, {3});
  CHECK(exact.overflow_count == 0);
  CHECK(exact.sqnr_db == kInf);
  CHECK(run("bf16", {3e38f, std::numeric_limits<float>::max()}, {2}).overflow_count == 1);
}

TEST_CASE("scales beyond f16 are refused with a hint to use int8's f32 scales") {
  for (const char *name : {"int4-g32", "int4-g32-asym", "int8-g32"}) {
    CAPTURE(name);
    try {
      (void)run(name, {1e7f, -3.0f}, {2});
      FAIL("expected an Error");
    } catch (const Error &e) {
      CHECK(e.kind() == ErrorKind::kInput);
      const std::string message = e.what();
      CHECK(message.find("tensor \"w\"") != std::string::npos);
      CHECK(message.find("65504") != std::string::npos);
      CHECK(message.find("use int8") != std::string::npos);
    }
  }
  // F32 scales take any finite value.
  CHECK(run("int8", {1e7f, -3.0f, 3e38f}, {3}).sqnr_db > 40);
}

TEST_CASE("group-wise schemes refuse scalars and a zero group size") {
  CHECK_THROWS_AS((void)run("int4-g32", {1.0f}, {}), Error);
  CHECK_THROWS_AS((void)run("int8-g32", {1.0f}, {}), Error);
  const float one = 1.0f;
  try {
    (void)quantize("w", &one, {1}, SchemeSpec{QuantScheme::kInt4Group, 0});
    FAIL("expected an Error");
  } catch (const Error &e) {
    CHECK(e.kind() == ErrorKind::kUsage);
  }
}

// ---- Layouts. ----

// Scale of slice j as float, whatever its stored type.
float scale_at(const QuantizedTensor &q, size_t j) {
  if (q.scale_dtype == DType::kF16) {
    return f16_to_f32(static_cast<uint16_t>(q.scales[2 * j] | (q.scales[2 * j + 1] << 8)));
  }
  float s;
  std::memcpy(&s, q.scales.data() + 4 * j, 4);
  return s;
}

// FORMAT.md's decoding, written independently of the library: level of element i, then
// float(q - z) * s with the slice found from the scheme's layout.
std::vector<float> decode_by_hand(const QuantizedTensor &q, const std::vector<uint64_t> &shape) {
  uint64_t count = 1;
  for (uint64_t d : shape) count *= d;
  // Groups run along rows: slices of axis 0 with the later axes flattened (rank 1: one row).
  const uint64_t last = shape.size() >= 2 ? count / shape[0] : count;
  const bool group = q.spec.group_size != 0;
  const uint64_t per_row = group ? (last + q.spec.group_size - 1) / q.spec.group_size : 0;
  std::vector<float> out(count);
  for (uint64_t i = 0; i < count; ++i) {
    int32_t level;
    if (q.dtype == DType::kI4 || q.dtype == DType::kU4) {
      const uint32_t nibble = (q.data[i / 2] >> (i % 2 == 0 ? 0 : 4)) & 0xF;
      level = q.dtype == DType::kU4 ? static_cast<int32_t>(nibble)
                                    : (nibble >= 8 ? static_cast<int32_t>(nibble) - 16
                                                   : static_cast<int32_t>(nibble));
    } else {
      level = static_cast<int8_t>(q.data[i]);
    }
    size_t slice = 0;
    if (group) {
      slice = (i / last) * per_row + (i % last) / q.spec.group_size;
    } else if (q.axis == 0) {
      slice = i / (count / shape[0]);
    }
    int32_t z = 0;
    if (!q.zero_points.empty()) {
      z = q.zero_point_dtype == DType::kI8 ? static_cast<int8_t>(q.zero_points[slice])
                                           : q.zero_points[slice];
    }
    out[i] = static_cast<float>(level - z) * scale_at(q, slice);
  }
  return out;
}

TEST_CASE("reconstruct is FORMAT.md's formula applied to the stored bytes, bit for bit") {
  const std::vector<float> x = heavy_tailed(4, 40, 11);
  for (const char *name : kIntegerSchemes) {
    CAPTURE(name);
    const QuantizedTensor q = run(name, x, {4, 40});
    const std::vector<float> by_hand = decode_by_hand(q, {4, 40});
    const std::vector<float> y = reconstruct(q, {4, 40});
    REQUIRE(y.size() == by_hand.size());
    for (size_t i = 0; i < y.size(); ++i) REQUIRE(bits_of(y[i]) == bits_of(by_hand[i]));
    // The recorded quality is that of these values.
    CHECK(q.sqnr_db == doctest::Approx(sqnr_db(x, by_hand)).epsilon(1e-9));
  }
}

TEST_CASE("a ragged tail group (rows of 40, g32) is quantized like a tensor of its own") {
  const std::vector<float> x = heavy_tailed(3, 40, 5);
  for (const char *name : {"int4-g32", "int4-g32-asym", "int8-g32"}) {
    CAPTURE(name);
    const QuantizedTensor q = run(name, x, {3, 40});
    CHECK(q.axis == 1);
    CHECK(q.scales.size() == 3 * 2 * 2);  // two groups per row: 32 and 8 elements
    const std::vector<float> y = reconstruct(q, {3, 40});
    for (size_t row = 0; row < 3; ++row) {
      for (const auto &[begin, length] : {std::pair<size_t, size_t>{0, 32}, {32, 8}}) {
        const std::vector<float> part(x.begin() + row * 40 + begin,
                                      x.begin() + row * 40 + begin + length);
        const QuantizedTensor alone = run(name, part, {length});
        const size_t slice = row * 2 + (begin == 0 ? 0 : 1);
        CHECK(bits_of(scale_at(q, slice)) == bits_of(scale_at(alone, 0)));
        const std::vector<float> y_alone = reconstruct(alone, {length});
        for (size_t i = 0; i < length; ++i) {
          REQUIRE(bits_of(y[row * 40 + begin + i]) == bits_of(y_alone[i]));
        }
      }
    }
  }
}

TEST_CASE("groups of a conv kernel run over each output channel's flattened weights") {
  // [O, I, kh, kw] = [2, 3, 3, 3]: rows of 27, so g32 gives one group per output channel
  // (not one per 3-wide kernel row).
  const std::vector<float> x = heavy_tailed(2, 27, 13);
  const QuantizedTensor q = run("int4-g32", x, {2, 3, 3, 3});
  CHECK(q.axis == 1);
  CHECK(q.scales.size() == 2 * 2);
  const QuantizedTensor matrix = run("int4-g32", x, {2, 27});
  CHECK(q.data == matrix.data);
  CHECK(q.scales == matrix.scales);
  const std::vector<float> by_hand = decode_by_hand(q, {2, 3, 3, 3});
  const std::vector<float> y = reconstruct(q, {2, 3, 3, 3});
  for (size_t i = 0; i < y.size(); ++i) CHECK(bits_of(y[i]) == bits_of(by_hand[i]));
}

TEST_CASE("int4 packs an odd element count with rows that straddle bytes") {
  const std::vector<float> x = heavy_tailed(3, 3, 9);
  for (const char *name : {"int4-g32", "int4-g32-asym"}) {
    CAPTURE(name);
    const QuantizedTensor q = run(name, x, {3, 3});
    CHECK(q.data.size() == 5);
    CHECK((q.data[4] >> 4) == 0);  // the unused high nibble of the last byte
    CHECK(q.scales.size() == 3 * 2);
    const std::vector<float> by_hand = decode_by_hand(q, {3, 3});
    const std::vector<float> y = reconstruct(q, {3, 3});
    for (size_t i = 0; i < 9; ++i) CHECK(bits_of(y[i]) == bits_of(by_hand[i]));
  }
}

// ---- The search. ----

TEST_CASE("overflow_count counts the values the chosen scale clips") {
  const std::vector<float> x = heavy_tailed(8, 256, 3);
  const QuantizedTensor q = run("int4-g32", x, {8, 256});
  uint64_t clipped = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double s = scale_at(q, i / 32);
    const double t = std::nearbyint(static_cast<double>(x[i]) / s);
    if (t < -8 || t > 7) ++clipped;
  }
  CHECK(clipped > 0);  // heavy tails: the search does clip some outliers
  CHECK(q.overflow_count == clipped);
}

TEST_CASE("the search beats plain max-abs rounding on heavy-tailed data") {
  const std::vector<float> x = heavy_tailed(64, 256, 1);
  const std::vector<uint64_t> shape = {64, 256};
  SUBCASE("int4-g32") {
    const double ours = run("int4-g32", x, shape).sqnr_db;
    const double plain = sqnr_db(x, max_abs_baseline(x, 256, 32, 7, true));
    CHECK(ours > plain + 1.0);
  }
  SUBCASE("int8-g32") {
    const double ours = run("int8-g32", x, shape).sqnr_db;
    const double plain = sqnr_db(x, max_abs_baseline(x, 256, 32, 127, true));
    CHECK(ours > plain + 0.5);
  }
  SUBCASE("int8 per channel") {
    const double ours = run("int8", x, shape).sqnr_db;
    const double plain = sqnr_db(x, max_abs_baseline(x, 256, 256, 127, false));
    CHECK(ours > plain + 0.1);
  }
}

TEST_CASE("int4-g32 comes within 0.05 dB of an exhaustive search over f16 scales") {
  // For a fixed scale the nearest levels are optimal, so trying every f16 scale (either sign)
  // from amax/16 to amax/3.5 finds the best this format can do for each group.
  const std::vector<float> x = heavy_tailed(8, 256, 2);
  std::vector<float> best(x.size());
  for (size_t g = 0; g < x.size() / 32; ++g) {
    const float *p = x.data() + 32 * g;
    float amax = 0;
    for (size_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(p[i]));
    double best_error = std::numeric_limits<double>::infinity();
    float best_scale = 0;
    for (uint32_t h = f32_to_f16(amax / 16); h <= f32_to_f16(amax / 3.5f); ++h) {
      for (const float s :
           {f16_to_f32(static_cast<uint16_t>(h)), -f16_to_f32(static_cast<uint16_t>(h))}) {
        double error = 0;
        for (size_t i = 0; i < 32; ++i) {
          const float q = std::clamp(std::nearbyint(p[i] / s), -8.0f, 7.0f);
          const double d = static_cast<double>(p[i]) - q * s;
          error += d * d;
        }
        if (error < best_error) {
          best_error = error;
          best_scale = s;
        }
      }
    }
    for (size_t i = 0; i < 32; ++i) {
      best[32 * g + i] = std::clamp(std::nearbyint(p[i] / best_scale), -8.0f, 7.0f) * best_scale;
    }
  }
  const double ours = run("int4-g32", x, {8, 256}).sqnr_db;
  CHECK(ours >= sqnr_db(x, best) - 0.05);
}

TEST_CASE("quantization is deterministic") {
  const std::vector<float> x = heavy_tailed(16, 100, 4);
  const std::vector<float> copy = x;
  for (const char *name : kIntegerSchemes) {
    CAPTURE(name);
    const QuantizedTensor a = run(name, x, {16, 100});
    const QuantizedTensor b = run(name, copy, {16, 100});
    CHECK(a.data == b.data);
    CHECK(a.scales == b.scales);
    CHECK(a.zero_points == b.zero_points);
    CHECK(a.sqnr_db == b.sqnr_db);
  }
}

}  // namespace
}  // namespace statepack
