// SPDX-License-Identifier: Apache-2.0
// DType names, widths and byte sizes, including the sub-byte types and overflow.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "statepack/tools/core/dtype.hpp"

namespace statepack {
namespace {

struct Expected {
  DType dtype;
  uint32_t bits;
  const char *name;
  const char *safetensors_name;
};

const Expected kAll[] = {
    {DType::kF32, 32, "F32", "F32"},
    {DType::kF64, 64, "F64", "F64"},
    {DType::kF16, 16, "F16", "F16"},
    {DType::kBF16, 16, "BF16", "BF16"},
    {DType::kF8_E4M3, 8, "F8_E4M3", "F8_E4M3"},
    {DType::kF8_E5M2, 8, "F8_E5M2", "F8_E5M2"},
    {DType::kF8_E8M0, 8, "F8_E8M0", "F8_E8M0"},
    {DType::kF6_E2M3, 6, "F6_E2M3", "F6_E2M3"},
    {DType::kF6_E3M2, 6, "F6_E3M2", "F6_E3M2"},
    {DType::kF4_E2M1, 4, "F4_E2M1", "F4"},
    {DType::kI8, 8, "I8", "I8"},
    {DType::kI16, 16, "I16", "I16"},
    {DType::kI32, 32, "I32", "I32"},
    {DType::kI64, 64, "I64", "I64"},
    {DType::kU8, 8, "U8", "U8"},
    {DType::kU16, 16, "U16", "U16"},
    {DType::kU32, 32, "U32", "U32"},
    {DType::kU64, 64, "U64", "U64"},
    {DType::kBool, 8, "BOOL", "BOOL"},
    {DType::kC64, 64, "C64", "C64"},
    {DType::kI4, 4, "I4", ""},
    {DType::kU4, 4, "U4", ""},
};

TEST_CASE("every dtype has its name, width and safetensors name") {
  for (const Expected &expected : kAll) {
    CAPTURE(expected.name);
    CHECK(dtype_bits(expected.dtype) == expected.bits);
    CHECK(dtype_name(expected.dtype) == expected.name);
    CHECK(dtype_to_safetensors(expected.dtype) == expected.safetensors_name);
    if (expected.safetensors_name[0] != '\0') {
      CHECK(dtype_from_safetensors(expected.safetensors_name) == expected.dtype);
    }
  }
}

TEST_CASE("unknown and out-of-range dtypes read as UNKNOWN with no width") {
  CHECK(dtype_bits(DType::kUnknown) == 0);
  CHECK(dtype_name(DType::kUnknown) == "UNKNOWN");
  CHECK(dtype_to_safetensors(DType::kUnknown).empty());
  const auto garbage = static_cast<DType>(200);
  CHECK(dtype_bits(garbage) == 0);
  CHECK(dtype_name(garbage) == "UNKNOWN");
  CHECK(dtype_to_safetensors(garbage).empty());
  CHECK_FALSE(byte_size(garbage, 1).has_value());
}

TEST_CASE("names safetensors does not define are refused") {
  for (const char *name :
       {"", "f32", "F32 ", "F4_E2M1", "I4", "U4", "UNKNOWN", "F128", "float32"}) {
    CAPTURE(name);
    CHECK_FALSE(dtype_from_safetensors(name).has_value());
  }
  // A name with an embedded NUL must not match its prefix.
  CHECK_FALSE(dtype_from_safetensors(std::string("F32\0x", 5)).has_value());
}

TEST_CASE("byte_size of whole-byte types is count times width") {
  CHECK(byte_size(DType::kF32, 0) == 0u);
  CHECK(byte_size(DType::kF32, 1) == 4u);
  CHECK(byte_size(DType::kF32, 6) == 24u);
  CHECK(byte_size(DType::kBool, 3) == 3u);
  CHECK(byte_size(DType::kC64, 2) == 16u);
  CHECK(byte_size(DType::kF64, 5) == 40u);
}

TEST_CASE("byte_size refuses sub-byte counts that leave a partial byte") {
  CHECK(byte_size(DType::kF4_E2M1, 4) == 2u);
  CHECK(byte_size(DType::kI4, 2) == 1u);
  CHECK(byte_size(DType::kU4, 0) == 0u);
  CHECK_FALSE(byte_size(DType::kF4_E2M1, 3).has_value());
  CHECK_FALSE(byte_size(DType::kU4, 1).has_value());
  CHECK(byte_size(DType::kF6_E2M3, 4) == 3u);
  CHECK(byte_size(DType::kF6_E3M2, 8) == 6u);
  CHECK_FALSE(byte_size(DType::kF6_E2M3, 2).has_value());
  CHECK_FALSE(byte_size(DType::kF6_E3M2, 1).has_value());
}

TEST_CASE("byte_size refuses a bit count that overflows 64 bits") {
  CHECK(byte_size(DType::kU8, UINT64_MAX / 8) == UINT64_MAX / 8);
  CHECK(byte_size(DType::kF32, uint64_t{1} << 58) == uint64_t{1} << 60);
  CHECK_FALSE(byte_size(DType::kF32, uint64_t{1} << 59).has_value());
  CHECK_FALSE(byte_size(DType::kF64, uint64_t{1} << 58).has_value());
  CHECK_FALSE(byte_size(DType::kU8, UINT64_MAX).has_value());
}

}  // namespace
}  // namespace statepack
