// SPDX-License-Identifier: Apache-2.0
// NumPy arrays without Python: .npy files (np.save) and .npz archives (np.savez,
// np.savez_compressed). Only plain numeric dtypes are read; object arrays, which would need
// pickle, structured and string dtypes are refused, and nothing is ever executed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// Longest .npy header read, the same default numpy's own reader enforces (max_header_size);
/// the dictionary of a plain array needs a tenth of it.
inline constexpr uint64_t kNpyMaxHeaderSize = 10000;

/// True if `data` starts with the .npy magic string "\x93NUMPY". A sniff, not a validation.
bool looks_like_npy(const uint8_t *data, uint64_t size);

/// Parses the .npy file held in `data` (`size` bytes) into a tensor called `tensor_name`.
///
/// Accepts format versions 1.0, 2.0 and 3.0 with a header dictionary of exactly the keys
/// 'descr', 'fortran_order' and 'shape', and the descrs of F16, F32, F64, I8-I64, U8-U64, bool
/// and complex64 ('<f4', '|u1', '|b1', '<c8', ...) in either byte order. The data must be
/// exactly shape x itemsize bytes (no more, no less, computed without overflow) and at most
/// SPK_MAX_RANK dimensions.
///
/// Little-endian C-order arrays come back as zero-copy views into `data`, kept alive by `owner`;
/// big-endian arrays are byte-swapped and Fortran-order arrays transposed into an owned buffer,
/// so the tensor is always little-endian and C-contiguous.
///
/// Throws an input Error "<where>: <problem>": `where` names the file (or "x.npz: zip entry
/// \"a.npy\"") for the user.
Tensor read_npy(const std::string &where, std::string tensor_name, const uint8_t *data,
                uint64_t size, std::shared_ptr<const void> owner);

/// Reads a .npy file as a checkpoint of one tensor named after the file's stem ("w.npy" -> "w").
Checkpoint read_npy_file(const std::string &path);

/// Reads a .npz archive (stored or deflated entries) through the strict zip reader: every entry
/// must be a ".npy" file, and becomes a tensor named after the entry without ".npy", in
/// central-directory order. Deflated entries are inflated into owned buffers within ZipLimits.
Checkpoint read_npz_file(const std::string &path);

}  // namespace statepack
