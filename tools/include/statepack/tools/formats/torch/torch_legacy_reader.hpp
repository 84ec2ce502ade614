// SPDX-License-Identifier: Apache-2.0
// PyTorch checkpoints (torch.save) in the legacy format (before 1.6, or saved with
// `_use_new_zipfile_serialization=False`): a sequence of pickles followed by raw storages, read
// without Python through the restricted unpickler.
#pragma once

#include <cstdint>
#include <string>

#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// True when the data starts with the legacy format's pickled magic number.
bool looks_like_torch_legacy(const uint8_t *data, uint64_t size);

/// Reads a legacy (pre-1.6, `_use_new_zipfile_serialization=False`) torch.save file.
Checkpoint read_torch_legacy(const std::string &path);

}  // namespace statepack
