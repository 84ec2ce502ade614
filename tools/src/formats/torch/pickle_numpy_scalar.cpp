// SPDX-License-Identifier: Apache-2.0
// Decoding of pickled numpy scalars (see pickle_numpy_scalar.hpp). The dtype is itself an
// opaque object: numpy.dtype called with ('f8', False, True) and built with a state tuple whose
// second item is the byte order ('<', '>', '|' or '=').
#include "pickle_numpy_scalar.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace statepack::pickle {
namespace {

bool is_string(const ValuePtr &value) {
  return value && value->kind == Kind::kString;
}

// f16 bits as a double (exact: every half is a double).
double half_to_double(uint16_t bits) {
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  const double sign = (bits & 0x8000) != 0 ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) return mantissa == 0 ? sign * HUGE_VAL : std::nan("");
  return sign * std::ldexp(mantissa + 1024, exponent - 25);
}

}  // namespace

bool is_numpy_scalar(const Value &object) {
  return object.kind == Kind::kObject && object.name == "scalar" &&
         (object.module == "numpy.core.multiarray" || object.module == "numpy._core.multiarray");
}

std::optional<MetaValue> decode_numpy_scalar(const Value &object) {
  if (!is_numpy_scalar(object)) return std::nullopt;
  const Value &args = *object.items[kObjectArgs];
  if (args.items.size() != 2 || args.items[1]->kind != Kind::kBytes) return std::nullopt;
  const Value &dtype = *args.items[0];
  if (dtype.kind != Kind::kObject || dtype.name != "dtype" ||
      (dtype.module != "numpy" && dtype.module != "numpy.core.multiarray" &&
       dtype.module != "numpy._core.multiarray")) {
    return std::nullopt;
  }
  const Value &dtype_args = *dtype.items[kObjectArgs];
  if (dtype_args.items.empty() || !is_string(dtype_args.items[0])) return std::nullopt;
  const std::string &code = dtype_args.items[0]->text;  // "f8", "i4", "b1", ...
  if (code.size() != 2 || code[1] < '1' || code[1] > '8') return std::nullopt;
  const size_t size = static_cast<size_t>(code[1] - '0');
  const std::string &bytes = args.items[1]->text;
  if (bytes.size() != size) return std::nullopt;

  // Byte order from the dtype's state; a missing state means native order, little-endian on
  // every machine numpy writes checkpoints on.
  bool big_endian = false;
  const Value &state = *dtype.items[kObjectState];
  if (state.kind == Kind::kTuple && state.items.size() >= 2 && is_string(state.items[1])) {
    big_endian = state.items[1]->text == ">";
  }
  uint64_t bits = 0;
  for (size_t i = 0; i < size; ++i) {
    const auto byte = static_cast<uint8_t>(bytes[big_endian ? i : size - 1 - i]);
    bits = (bits << 8) | byte;
  }
  switch (code[0]) {
    case 'b':
      if (size != 1 || bits > 1) return std::nullopt;
      return MetaValue::of_bool(bits != 0);
    case 'i': {
      if (size != 1 && size != 2 && size != 4 && size != 8) return std::nullopt;
      if (size < 8 && (bits >> (8 * size - 1)) != 0) bits |= ~uint64_t{0} << (8 * size);
      int64_t value = 0;
      std::memcpy(&value, &bits, sizeof value);
      return MetaValue::of_int(value);
    }
    case 'u':
      if (size != 1 && size != 2 && size != 4 && size != 8) return std::nullopt;
      if (bits > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return MetaValue::of_int(static_cast<int64_t>(bits));
    case 'f':
      if (size == 2) return MetaValue::of_float(half_to_double(static_cast<uint16_t>(bits)));
      if (size == 4) {
        float value = 0;
        const auto narrow = static_cast<uint32_t>(bits);
        std::memcpy(&value, &narrow, sizeof value);
        return MetaValue::of_float(value);
      }
      if (size == 8) {
        double value = 0;
        std::memcpy(&value, &bits, sizeof value);
        return MetaValue::of_float(value);
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

}  // namespace statepack::pickle
