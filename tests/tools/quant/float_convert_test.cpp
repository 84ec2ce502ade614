// SPDX-License-Identifier: Apache-2.0
// f16 / bf16 conversions (exhaustive round trips, ties to even, subnormals, overflow, NaN) and
// to_f32 on every floating dtype a checkpoint may hold.
#include <doctest/doctest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "support/sample_checkpoint.hpp"

namespace statepack {
namespace {

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

uint32_t to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

bool is_f16_nan(uint16_t h) {
  return (h & 0x7C00u) == 0x7C00u && (h & 0x03FFu) != 0;
}

TEST_CASE("every f16 pattern widens to f32 and narrows back to itself") {
  for (uint32_t h = 0; h <= 0xFFFFu; ++h) {
    const auto half = static_cast<uint16_t>(h);
    const float wide = f16_to_f32(half);
    CAPTURE(h);
    if (is_f16_nan(half)) {
      REQUIRE(std::isnan(wide));
      // Payload and sign survive; a signalling NaN comes back quiet.
      REQUIRE(f32_to_f16(wide) == (half | 0x0200u));
    } else {
      REQUIRE(f32_to_f16(wide) == half);
    }
  }
}

TEST_CASE("f16_to_f32 decodes normals, subnormals, zeros and infinities exactly") {
  CHECK(f16_to_f32(0x3C00) == 1.0f);
  CHECK(f16_to_f32(0xC000) == -2.0f);
  CHECK(f16_to_f32(0x7BFF) == 65504.0f);
  CHECK(f16_to_f32(0x0400) == std::ldexp(1.0f, -14));
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(f16_to_f32(0x03FF) == std::ldexp(1023.0f, -24));
  CHECK(to_bits(f16_to_f32(0x8000)) == 0x80000000u);
  CHECK(f16_to_f32(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(f16_to_f32(0xFC00) == -std::numeric_limits<float>::infinity());
}

TEST_CASE("f32_to_f16 rounds every exact midpoint between two f16 values to the even one") {
  // Midpoints of adjacent positive finite f16 values need 12 significant bits: exact in f32.
  for (uint32_t h = 0; h < 0x7C00u; ++h) {
    const auto lo = static_cast<uint16_t>(h);
    const auto hi = static_cast<uint16_t>(h + 1);
    const float mid =
        static_cast<float>((static_cast<double>(f16_to_f32(lo)) +
                            (hi == 0x7C00u ? 65536.0 : static_cast<double>(f16_to_f32(hi)))) /
                           2);
    CAPTURE(h);
    const uint16_t even = (lo & 1u) == 0 ? lo : hi;
    REQUIRE(f32_to_f16(mid) == even);
    REQUIRE(f32_to_f16(-mid) == (even | 0x8000u));
    // One f32 ulp either side of the midpoint decides the direction.
    REQUIRE(f32_to_f16(std::nextafter(mid, 0.0f)) == lo);
    REQUIRE(f32_to_f16(std::nextafter(mid, 1e9f)) == hi);
  }
}

TEST_CASE("f32_to_f16 handles ties, subnormals and overflow at known points") {
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);     // tie, down to even
  CHECK(f32_to_f16(1.0f + std::ldexp(3.0f, -11)) == 0x3C02);     // tie, up to even
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);            // half the smallest: even 0
  CHECK(f32_to_f16(std::ldexp(1.0f, -25) * 1.0001f) == 0x0001);  // just above half
  CHECK(f32_to_f16(std::ldexp(3.0f, -25)) == 0x0002);            // 1.5 units: up to even
  CHECK(f32_to_f16(std::ldexp(5.0f, -25)) == 0x0002);            // 2.5 units: down to even
  CHECK(f32_to_f16(std::ldexp(2047.0f, -25)) == 0x0400);         // into the smallest normal
  CHECK(f32_to_f16(1e-30f) == 0x0000);
  CHECK(f32_to_f16(-1e-30f) == 0x8000);
  CHECK(f32_to_f16(65519.99f) == 0x7BFF);
  CHECK(f32_to_f16(65520.0f) == 0x7C00);  // the midpoint to "65536" rounds to infinity
  CHECK(f32_to_f16(1e10f) == 0x7C00);
  CHECK(f32_to_f16(-FLT_MAX) == 0xFC00);
  CHECK(f32_to_f16(std::numeric_limits<float>::infinity()) == 0x7C00);
}

TEST_CASE("f32_to_f16 agrees with nearest-even chosen by distance on a million f32 values") {
  // The positive finite f16 values in order, as doubles, then 65536 standing in for infinity.
  std::vector<double> table;
  for (uint32_t h = 0; h < 0x7C00u; ++h) table.push_back(f16_to_f32(static_cast<uint16_t>(h)));
  table.push_back(65536.0);
  uint32_t x = 12345;
  for (int i = 0; i < 1000000; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    // Exponents 2^-31 .. 2^20 straddle f16's range: subnormals, normals and overflow.
    const uint32_t bits = (x & 0x807FFFFFu) | (((x >> 23) % 52u + 96u) << 23);
    const float value = from_bits(bits);
    const double magnitude = std::fabs(static_cast<double>(value));
    uint16_t expected;
    if (magnitude >= 65536.0) {
      expected = 0x7C00;
    } else {
      const auto above = std::lower_bound(table.begin(), table.end(), magnitude);
      const auto hi = static_cast<uint16_t>(above - table.begin());
      if (*above == magnitude || hi == 0) {
        expected = hi;
      } else {
        const auto lo = static_cast<uint16_t>(hi - 1);
        const double down = magnitude - table[lo];
        const double up = table[hi] - magnitude;
        expected = down < up ? lo : up < down ? hi : ((lo & 1u) == 0 ? lo : hi);
      }
    }
    if (std::signbit(value)) expected = static_cast<uint16_t>(expected | 0x8000u);
    CAPTURE(bits);
    REQUIRE(f32_to_f16(value) == expected);
  }
}

TEST_CASE("NaN stays a quiet NaN and keeps its sign in f16 and bf16") {
  // A signalling NaN whose payload lives only in the low bits would become infinity if
  // truncated.
  const float signalling = from_bits(0x7F800001u);
  const float negative_quiet = from_bits(0xFFC00000u);
  CHECK(f32_to_f16(signalling) == 0x7E00);
  CHECK(f32_to_f16(negative_quiet) == 0xFE00);
  CHECK(f32_to_bf16(signalling) == 0x7FC0);
  CHECK(f32_to_bf16(negative_quiet) == 0xFFC0);
  CHECK(f32_to_bf16(from_bits(0x7FAB0000u)) == 0x7FEB);  // payload kept, quiet bit set
}

TEST_CASE("f32_to_bf16 rounds to nearest even and overflows to infinity") {
  CHECK(f32_to_bf16(1.0f) == 0x3F80);
  CHECK(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);  // tie, down to even
  CHECK(f32_to_bf16(1.0f + std::ldexp(3.0f, -8)) == 0x3F82);  // tie, up to even
  CHECK(f32_to_bf16(from_bits(0x3F808001u)) == 0x3F81);       // just above the tie
  CHECK(f32_to_bf16(from_bits(0x7F7F7FFFu)) == 0x7F7F);
  CHECK(f32_to_bf16(FLT_MAX) == 0x7F80);  // beyond bf16's largest: infinity
  CHECK(f32_to_bf16(-std::numeric_limits<float>::infinity()) == 0xFF80);
  CHECK(f32_to_bf16(from_bits(0x00000001u)) == 0x0000);  // smallest f32 subnormal
  CHECK(f32_to_bf16(from_bits(0x00018000u)) == 0x0002);  // subnormal tie, up to even
}

Tensor bytes_tensor(DType dtype, std::vector<uint8_t> bytes, uint64_t count) {
  return test::owned_tensor("w", dtype, {count}, std::move(bytes));
}

TEST_CASE("to_f32 decodes every floating dtype exactly") {
  const float inf = std::numeric_limits<float>::infinity();
  SUBCASE("F32") {
    const std::vector<float> values = {1.5f, -0.0f, inf, 3e-45f};
    const std::vector<float> out =
        to_f32(bytes_tensor(DType::kF32, test::f32_bytes(values), values.size()));
    CHECK(out[0] == 1.5f);
    CHECK(to_bits(out[1]) == 0x80000000u);
    CHECK(out[2] == inf);
    CHECK(out[3] == 3e-45f);
  }
  SUBCASE("F64 rounds to nearest and overflows to infinity") {
    // 2^128 - 2^103 is the midpoint between FLT_MAX and 2^128: ties to even, up to infinity.
    const std::vector<double> values = {
        0.1, 1e300, -1e300, 3.4028235e38, -2.5, std::ldexp(1.0, 128) - std::ldexp(1.0, 103)};
    std::vector<uint8_t> bytes(values.size() * 8);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    const std::vector<float> out = to_f32(bytes_tensor(DType::kF64, bytes, values.size()));
    CHECK(out[0] == 0.1f);
    CHECK(out[1] == inf);
    CHECK(out[2] == -inf);
    CHECK(out[3] == FLT_MAX);  // above FLT_MAX but below the rounding point
    CHECK(out[4] == -2.5f);
    CHECK(out[5] == inf);
  }
  SUBCASE("F16 and BF16") {
    const std::vector<float> f16 = to_f32(bytes_tensor(DType::kF16, {0x00, 0x3C, 0x01, 0x80}, 2));
    CHECK(f16[0] == 1.0f);
    CHECK(f16[1] == -std::ldexp(1.0f, -24));
    const std::vector<float> bf16 = to_f32(bytes_tensor(DType::kBF16, {0x80, 0x3F, 0x49, 0xC0}, 2));
    CHECK(bf16[0] == 1.0f);
    CHECK(bf16[1] == -3.140625f);
  }
  SUBCASE("F8_E4M3 (OCP E4M3FN: no infinities, S.1111.111 is NaN)") {
    const std::vector<float> out =
        to_f32(bytes_tensor(DType::kF8_E4M3, {0x38, 0x7E, 0x7F, 0x01, 0x80, 0xF8, 0x08}, 7));
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == 448.0f);
    CHECK(std::isnan(out[2]));
    CHECK(out[3] == std::ldexp(1.0f, -9));
    CHECK(to_bits(out[4]) == 0x80000000u);
    CHECK(out[5] == -256.0f);  // exponent all ones is an ordinary binade
    CHECK(out[6] == std::ldexp(1.0f, -6));
  }
  SUBCASE("F8_E5M2 (IEEE-like)") {
    const std::vector<float> out =
        to_f32(bytes_tensor(DType::kF8_E5M2, {0x3C, 0x7B, 0x7C, 0x7D, 0x01, 0xFC}, 6));
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == 57344.0f);
    CHECK(out[2] == inf);
    CHECK(std::isnan(out[3]));
    CHECK(out[4] == std::ldexp(1.0f, -16));
    CHECK(out[5] == -inf);
  }
}

TEST_CASE("to_f32 refuses integer and other non-float dtypes, naming the tensor") {
  for (DType dtype : {DType::kI8, DType::kI32, DType::kU8, DType::kBool, DType::kF8_E8M0,
                      DType::kF4_E2M1, DType::kC64}) {
    CAPTURE(dtype_name(dtype));
    const Tensor t = test::owned_tensor("layer.weight", dtype, {1}, std::vector<uint8_t>(8, 0));
    try {
      (void)to_f32(t);
      FAIL("expected an Error");
    } catch (const Error &e) {
      CHECK(e.kind() == ErrorKind::kInput);
      CHECK(std::string(e.what()).find("tensor \"layer.weight\"") != std::string::npos);
    }
  }
}

TEST_CASE("to_f32 refuses a tensor with fewer bytes than its shape needs") {
  const Tensor t = test::owned_tensor("short", DType::kF32, {3}, std::vector<uint8_t>(11, 0));
  CHECK_THROWS_AS((void)to_f32(t), Error);
}

}  // namespace
}  // namespace statepack
