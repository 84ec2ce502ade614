// SPDX-License-Identifier: Apache-2.0
// PyTorch checkpoints (torch.save) in the zip format (torch >= 1.6), read without Python: the
// pickle goes through the restricted unpickler; nothing is ever executed.
#pragma once

#include <cstdint>
#include <string>

#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/io/zip_archive.hpp"

namespace statepack {

/// True when the archive's entries look like torch.save's (a "<prefix>/data.pkl" record).
bool is_torch_zip(const ZipArchive &archive);

/// Reads a zip-format torch.save file. Refuses TorchScript archives, storages whose records
/// are too small for their declared size, views outside their storage, and any pickle the
/// restricted unpickler refuses; every message names the file.
Checkpoint read_torch_zip(const std::string &path, const ZipArchive &archive);

}  // namespace statepack
