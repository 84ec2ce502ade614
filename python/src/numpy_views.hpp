// SPDX-License-Identifier: Apache-2.0
// NumPy arrays over bytes the host tools produced, without copying them: the array's base is a
// capsule that owns what keeps the bytes alive (the blob's mapping, or a decoded buffer).
#pragma once

#include <pybind11/numpy.h>

#include <optional>
#include <string>
#include <vector>

#include "statepack/tools/core/dtype.hpp"
#include "statepack/tools/core/tensor.hpp"

namespace statepack::python {

/// The NumPy dtype holding `dtype`'s elements: F32 f4, BF16 as its bits (u2), F8 types as
/// their bytes (u1), ...; nullopt for the sub-byte types (F6, F4, I4, U4).
std::optional<pybind11::dtype> numpy_dtype(DType dtype);

/// The DType named `name` ("F32", "BF16", "BOOL"), or a usage Error.
DType dtype_from_name(const std::string &name);

/// A read-only array of `dtype` and `shape` over `bytes`, whose base keeps `bytes.owner`.
/// `what` names the tensor for the error a sub-byte dtype gets.
pybind11::array read_only_array(const LoadedBytes &bytes, DType dtype,
                                const std::vector<uint64_t> &shape, const std::string &what);

}  // namespace statepack::python
