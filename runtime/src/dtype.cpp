// SPDX-License-Identifier: Apache-2.0
// Element type facts: bit widths and names, shared by the checks and the decoders.
#include "blob_internal.hpp"
#include "compiler.hpp"

namespace statepack {
namespace rt {

bool dtype_byte_size(spk_dtype dtype, uint64_t count, uint64_t *bytes) {
  const uint64_t bits = spk_dtype_bits(dtype);
  uint64_t total = 0;
  if (bits == 0 || mul_overflows(count, bits, &total)) return false;
  *bytes = total / 8 + (total % 8 != 0 ? 1 : 0);
  return true;
}

}  // namespace rt
}  // namespace statepack

extern "C" uint32_t spk_dtype_bits(spk_dtype dtype) {
  switch (dtype) {
    case SPK_DTYPE_F64:
    case SPK_DTYPE_I64:
    case SPK_DTYPE_U64:
    case SPK_DTYPE_C64:
      return 64;
    case SPK_DTYPE_F32:
    case SPK_DTYPE_I32:
    case SPK_DTYPE_U32:
      return 32;
    case SPK_DTYPE_F16:
    case SPK_DTYPE_BF16:
    case SPK_DTYPE_I16:
    case SPK_DTYPE_U16:
      return 16;
    case SPK_DTYPE_F8_E4M3:
    case SPK_DTYPE_F8_E5M2:
    case SPK_DTYPE_F8_E8M0:
    case SPK_DTYPE_I8:
    case SPK_DTYPE_U8:
    case SPK_DTYPE_BOOL:
      return 8;
    case SPK_DTYPE_F6_E2M3:
    case SPK_DTYPE_F6_E3M2:
      return 6;
    case SPK_DTYPE_F4_E2M1:
    case SPK_DTYPE_I4:
    case SPK_DTYPE_U4:
      return 4;
    case SPK_DTYPE_UNKNOWN:
      return 0;
  }
  return 0;
}

extern "C" const char *spk_dtype_name(spk_dtype dtype) {
  switch (dtype) {
    case SPK_DTYPE_F32:
      return "F32";
    case SPK_DTYPE_F64:
      return "F64";
    case SPK_DTYPE_F16:
      return "F16";
    case SPK_DTYPE_BF16:
      return "BF16";
    case SPK_DTYPE_F8_E4M3:
      return "F8_E4M3";
    case SPK_DTYPE_F8_E5M2:
      return "F8_E5M2";
    case SPK_DTYPE_F8_E8M0:
      return "F8_E8M0";
    case SPK_DTYPE_F6_E2M3:
      return "F6_E2M3";
    case SPK_DTYPE_F6_E3M2:
      return "F6_E3M2";
    case SPK_DTYPE_F4_E2M1:
      return "F4_E2M1";
    case SPK_DTYPE_I8:
      return "I8";
    case SPK_DTYPE_I16:
      return "I16";
    case SPK_DTYPE_I32:
      return "I32";
    case SPK_DTYPE_I64:
      return "I64";
    case SPK_DTYPE_U8:
      return "U8";
    case SPK_DTYPE_U16:
      return "U16";
    case SPK_DTYPE_U32:
      return "U32";
    case SPK_DTYPE_U64:
      return "U64";
    case SPK_DTYPE_BOOL:
      return "BOOL";
    case SPK_DTYPE_C64:
      return "C64";
    case SPK_DTYPE_I4:
      return "I4";
    case SPK_DTYPE_U4:
      return "U4";
    case SPK_DTYPE_UNKNOWN:
      break;
  }
  return "UNKNOWN";
}
