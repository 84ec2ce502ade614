// SPDX-License-Identifier: Apache-2.0
// Element types: bit widths, the format's names and the names safetensors uses, from one table so
// the three cannot disagree.
#include "statepack/tools/core/dtype.hpp"

#include <iterator>

namespace statepack {
namespace {

struct DTypeInfo {
  DType dtype;
  uint32_t bits;
  std::string_view name;              // the blob format's name (spk_dtype_name)
  std::string_view safetensors_name;  // empty: safetensors cannot store it
};

// Indexed by the enum value; the static_asserts below keep the order honest.
constexpr DTypeInfo kDTypes[] = {
    {DType::kUnknown, 0, "UNKNOWN", ""},
    {DType::kF32, 32, "F32", "F32"},
    {DType::kF64, 64, "F64", "F64"},
    {DType::kF16, 16, "F16", "F16"},
    {DType::kBF16, 16, "BF16", "BF16"},
    {DType::kF8_E4M3, 8, "F8_E4M3", "F8_E4M3"},
    {DType::kF8_E5M2, 8, "F8_E5M2", "F8_E5M2"},
    {DType::kF8_E8M0, 8, "F8_E8M0", "F8_E8M0"},
    {DType::kF6_E2M3, 6, "F6_E2M3", "F6_E2M3"},
    {DType::kF6_E3M2, 6, "F6_E3M2", "F6_E3M2"},
    // safetensors calls the only 4-bit float it knows plain "F4".
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
    // A complex number of two F32 values, real part first.
    {DType::kC64, 64, "C64", "C64"},
    {DType::kI4, 4, "I4", ""},
    {DType::kU4, 4, "U4", ""},
};

constexpr size_t kDTypeCount = std::size(kDTypes);

constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < kDTypeCount; ++i) {
    if (static_cast<size_t>(kDTypes[i].dtype) != i) return false;
  }
  return true;
}
static_assert(table_in_enum_order(), "kDTypes must be indexed by DType value");
static_assert(static_cast<size_t>(DType::kU4) + 1 == kDTypeCount, "a DType is missing");

// Values outside the enum (a cast from untrusted data) read as kUnknown.
const DTypeInfo &info(DType dtype) {
  const auto index = static_cast<size_t>(dtype);
  return index < kDTypeCount ? kDTypes[index] : kDTypes[0];
}

}  // namespace

bool is_floating(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF64 || dtype == DType::kF16 ||
         dtype == DType::kBF16 || dtype == DType::kF8_E4M3 || dtype == DType::kF8_E5M2;
}

uint32_t dtype_bits(DType dtype) {
  return info(dtype).bits;
}

std::string_view dtype_name(DType dtype) {
  return info(dtype).name;
}

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (const DTypeInfo &entry : kDTypes) {
    if (entry.safetensors_name == name) return entry.dtype;
  }
  return std::nullopt;
}

std::string_view dtype_to_safetensors(DType dtype) {
  return info(dtype).safetensors_name;
}

std::optional<uint64_t> byte_size(DType dtype, uint64_t count) {
  const uint32_t bits = dtype_bits(dtype);
  if (bits == 0) return std::nullopt;
  uint64_t total_bits = 0;
  if (__builtin_mul_overflow(count, static_cast<uint64_t>(bits), &total_bits)) return std::nullopt;
  if (total_bits % 8 != 0) return std::nullopt;
  return total_bits / 8;
}

}  // namespace statepack
