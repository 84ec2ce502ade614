// SPDX-License-Identifier: Apache-2.0
#include "numpy_views.hpp"

#include <memory>

#include "statepack/tools/core/error.hpp"

namespace statepack::python {

namespace py = pybind11;

std::optional<py::dtype> numpy_dtype(DType dtype) {
  const char *format = nullptr;
  switch (dtype) {
    case DType::kF32:
      format = "<f4";
      break;
    case DType::kF64:
      format = "<f8";
      break;
    case DType::kF16:
      format = "<f2";
      break;
    case DType::kBF16:
      format = "<u2";
      break;
    case DType::kF8_E4M3:
    case DType::kF8_E5M2:
    case DType::kF8_E8M0:
    case DType::kU8:
      format = "u1";
      break;
    case DType::kI8:
      format = "i1";
      break;
    case DType::kI16:
      format = "<i2";
      break;
    case DType::kI32:
      format = "<i4";
      break;
    case DType::kI64:
      format = "<i8";
      break;
    case DType::kU16:
      format = "<u2";
      break;
    case DType::kU32:
      format = "<u4";
      break;
    case DType::kU64:
      format = "<u8";
      break;
    case DType::kBool:
      format = "?";
      break;
    case DType::kC64:
      format = "<c8";
      break;
    default:
      return std::nullopt;
  }
  return py::dtype(format);
}

DType dtype_from_name(const std::string &name) {
  for (int value = 1; value <= 22; ++value) {
    const auto dtype = static_cast<DType>(value);
    if (dtype_name(dtype) == name) return dtype;
  }
  fail_usage("unknown dtype \"" + name + "\"");
}

py::array read_only_array(const LoadedBytes &bytes, DType dtype, const std::vector<uint64_t> &shape,
                          const std::string &what) {
  const auto type = numpy_dtype(dtype);
  if (!type) {
    fail_usage("tensor \"" + what + "\" holds sub-byte " + std::string(dtype_name(dtype)) +
               " values, which NumPy has no type for; use dequantize()");
  }
  std::vector<py::ssize_t> extents(shape.begin(), shape.end());
  // The capsule owns one reference to whatever keeps the bytes alive.
  auto *owner = new std::shared_ptr<const void>(bytes.owner);
  py::capsule base(owner, [](void *p) { delete static_cast<std::shared_ptr<const void> *>(p); });
  // A tensor of no elements may have no bytes at all; NumPy still wants an address.
  static const uint8_t empty = 0;
  const void *data = bytes.data != nullptr ? bytes.data : &empty;
  py::array array(*type, extents, std::vector<py::ssize_t>{}, data, base);
  array.attr("flags").attr("writeable") = false;
  return array;
}

}  // namespace statepack::python
