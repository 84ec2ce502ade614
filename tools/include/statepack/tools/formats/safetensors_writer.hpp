// SPDX-License-Identifier: Apache-2.0
// safetensors, written: what `unpack` produces, readable by the reference implementation.
#pragma once

#include <string>

#include "statepack/tools/core/progress.hpp"
#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/formats/safetensors_reader.hpp"

namespace statepack {

/// Writes `checkpoint` to `path` as safetensors, atomically (the file appears complete or not at
/// all). Tensors are laid out sorted by name, the header is compact JSON with sorted keys padded
/// with spaces to a multiple of 8 bytes, and `__metadata__` holds each value's to_text() (left
/// out when there is none), so equal checkpoints give identical files.
///
/// Throws an output Error naming the tensor for what safetensors cannot hold (dtypes without a
/// safetensors name: I4, U4), and for an inconsistent checkpoint (duplicate or empty names, a
/// size that does not match shape and dtype, invalid UTF-8); nothing is written then.
/// `progress` (if set) gets tensor bytes written so far.
void write_safetensors(const std::string &path, const Checkpoint &checkpoint,
                       const ProgressCallback &progress = {});

}  // namespace statepack
