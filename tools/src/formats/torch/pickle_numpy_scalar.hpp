// SPDX-License-Identifier: Apache-2.0
// NumPy scalars as pickles hold them (numpy.core.multiarray.scalar(dtype, bytes), numpy 2's
// numpy._core.multiarray.scalar), decoded without NumPy: metrics and losses saved as
// np.float64 become typed metadata. Private to the tools library.
#pragma once

#include <optional>

#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/formats/torch/pickle_reader.hpp"

namespace statepack::pickle {

/// True when `object` (a kObject) is a call of numpy's scalar reconstructor.
bool is_numpy_scalar(const Value &object);

/// The value of a numpy scalar object: bool (b1), int (i1-i8, u1-u4, and u8 when it fits),
/// float (f2, f4, f8), in either byte order; nullopt for any other dtype (complex, strings,
/// dates, u8 beyond int64) or a malformed one, which then stays an opaque object.
std::optional<MetaValue> decode_numpy_scalar(const Value &object);

}  // namespace statepack::pickle
