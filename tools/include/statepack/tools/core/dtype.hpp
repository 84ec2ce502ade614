// SPDX-License-Identifier: Apache-2.0
// Host-side element types: the same numbering as the blob format (schemas/statepack.fbs), plus
// the names other formats use for them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace statepack {

/// Element type; values equal the schema's DType and the runtime's spk_dtype.
enum class DType : uint8_t {
  kUnknown = 0,
  kF32 = 1,
  kF64 = 2,
  kF16 = 3,
  kBF16 = 4,
  kF8_E4M3 = 5,
  kF8_E5M2 = 6,
  kF8_E8M0 = 7,
  kF6_E2M3 = 8,
  kF6_E3M2 = 9,
  kF4_E2M1 = 10,
  kI8 = 11,
  kI16 = 12,
  kI32 = 13,
  kI64 = 14,
  kU8 = 15,
  kU16 = 16,
  kU32 = 17,
  kU64 = 18,
  kBool = 19,
  kC64 = 20,
  kI4 = 21,
  kU4 = 22,
};

/// Bits per element (4 for 4-bit types, 6 for F6); 0 for kUnknown.
uint32_t dtype_bits(DType dtype);

/// True for the floating-point types the quantizer reads (F32, F64, F16, BF16, F8_E4M3,
/// F8_E5M2); the sub-byte floats (F6, F4) and F8_E8M0 are storage formats, not sources.
bool is_floating(DType dtype);

/// The format's upper-case name ("F32", "BF16"), as the runtime's spk_dtype_name.
std::string_view dtype_name(DType dtype);

/// The dtype safetensors calls `name` ("F32", "F8_E4M3", "F4", "BOOL"), if it has one.
std::optional<DType> dtype_from_safetensors(std::string_view name);

/// The safetensors name of a dtype; empty if safetensors has none (I4, U4).
std::string_view dtype_to_safetensors(DType dtype);

/// Bytes that `count` elements of `dtype` occupy; nullopt if that overflows or is not a whole
/// number of bytes (sub-byte types with an odd bit count).
std::optional<uint64_t> byte_size(DType dtype, uint64_t count);

}  // namespace statepack
