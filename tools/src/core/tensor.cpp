// SPDX-License-Identifier: Apache-2.0
// The checkpoint model's few behaviours: element counts and metadata values as text.
#include "statepack/tools/core/tensor.hpp"

#include <charconv>
#include <system_error>
#include <utility>

namespace statepack {

uint64_t Tensor::element_count() const {
  uint64_t count = 1;
  for (uint64_t dim : shape) count *= dim;
  return count;
}

MetaValue MetaValue::of_string(std::string value) {
  MetaValue meta;
  meta.kind = Kind::kString;
  meta.string_value = std::move(value);
  return meta;
}

MetaValue MetaValue::of_int(int64_t value) {
  MetaValue meta;
  meta.kind = Kind::kInt;
  meta.int_value = value;
  return meta;
}

MetaValue MetaValue::of_float(double value) {
  MetaValue meta;
  meta.kind = Kind::kFloat;
  meta.float_value = value;
  return meta;
}

MetaValue MetaValue::of_bool(bool value) {
  MetaValue meta;
  meta.kind = Kind::kBool;
  meta.bool_value = value;
  return meta;
}

std::string MetaValue::to_text() const {
  switch (kind) {
    case Kind::kString:
      return string_value;
    case Kind::kInt:
      return std::to_string(int_value);
    case Kind::kFloat: {
      // The shortest text that parses back to the same double ("0.1", not "0.100000").
      char buffer[64];
      const std::to_chars_result result =
          std::to_chars(buffer, buffer + sizeof(buffer), float_value);
      // 64 bytes always suffice (the longest shortest form is 24 characters).
      if (result.ec != std::errc()) return std::string();
      return std::string(buffer, result.ptr);
    }
    case Kind::kBool:
      return bool_value ? "true" : "false";
  }
  return std::string();
}

}  // namespace statepack
