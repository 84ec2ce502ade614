// SPDX-License-Identifier: Apache-2.0
// numpy dtype strings to statepack dtypes.
#include "numpy_dtype.hpp"

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/strided_copy.hpp"
#include "statepack/tools/text/quote.hpp"

namespace statepack {

std::string npy_descr_text(std::string_view descr) {
  const std::string quoted = quote_for_message(descr, 40);
  return "'" + quoted.substr(1, quoted.size() - 2) + "'";
}

namespace {

[[noreturn]] void fail_unsupported(const std::string &where, std::string_view descr,
                                   const std::string &why) {
  fail_input(where, "dtype " + npy_descr_text(descr) + " is not supported: " + why);
}

}  // namespace

NpyType parse_npy_type(const std::string &where, std::string_view descr) {
  if (descr.size() < 2) fail_unsupported(where, descr, "not a numpy type string");
  const char order = descr[0];
  const char kind = descr[1];
  const std::string_view digits = descr.substr(2);
  if (order != '<' && order != '>' && order != '|') {
    fail_unsupported(where, descr, "it does not start with a byte order ('<', '>' or '|')");
  }
  if (kind == 'O') {
    fail_unsupported(where, descr,
                     "object arrays hold pickled Python objects, and statepack never runs "
                     "pickle");
  }
  if (kind == 'U' || kind == 'S' || kind == 'a') {
    fail_unsupported(where, descr, "string arrays are not tensors");
  }
  if (kind == 'M' || kind == 'm') {
    fail_unsupported(where, descr, "datetime and timedelta arrays are not tensors");
  }
  if (kind == 'V') {
    fail_unsupported(where, descr,
                     "raw void data has no element type (bfloat16 arrays from ml_dtypes are "
                     "saved this way: convert them to float32)");
  }
  uint64_t size = 0;
  if (digits.size() == 1 && digits[0] >= '1' && digits[0] <= '8') {
    size = static_cast<uint64_t>(digits[0] - '0');
  }
  NpyType type;
  type.item_size = size;
  switch (kind) {
    case 'f':
      type.dtype = size == 2   ? DType::kF16
                   : size == 4 ? DType::kF32
                   : size == 8 ? DType::kF64
                               : DType::kUnknown;
      break;
    case 'i':
      type.dtype = size == 1   ? DType::kI8
                   : size == 2 ? DType::kI16
                   : size == 4 ? DType::kI32
                   : size == 8 ? DType::kI64
                               : DType::kUnknown;
      break;
    case 'u':
      type.dtype = size == 1   ? DType::kU8
                   : size == 2 ? DType::kU16
                   : size == 4 ? DType::kU32
                   : size == 8 ? DType::kU64
                               : DType::kUnknown;
      break;
    case 'b':
      type.dtype = size == 1 ? DType::kBool : DType::kUnknown;
      break;
    case 'c':
      type.dtype = size == 8 ? DType::kC64 : DType::kUnknown;
      break;
    default:
      break;
  }
  if (type.dtype == DType::kUnknown) {
    fail_unsupported(where, descr,
                     "statepack reads f2, f4, f8, i1-i8, u1-u8, b1 and c8 (complex64); "
                     "extended floats and complex128 have no statepack dtype");
  }
  if (order == '|' && size != 1) {
    fail_unsupported(where, descr, "a multi-byte type needs a byte order, '<' or '>'");
  }
  type.big_endian = order == '>' && byte_swap_unit(type.dtype) > 1;
  return type;
}

}  // namespace statepack
