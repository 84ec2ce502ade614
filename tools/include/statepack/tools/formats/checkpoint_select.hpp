// SPDX-License-Identifier: Apache-2.0
// `--select KEY`: one sub-dictionary of a checkpoint (the model inside a training checkpoint).
#pragma once

#include <string>

#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// Keeps only the tensors and metadata under `key` (a dotted prefix such as "model" or
/// "model.encoder") and strips that prefix from their names. Throws a usage Error listing the
/// top-level keys when nothing matches.
Checkpoint select_subtree(Checkpoint checkpoint, const std::string &key, const std::string &path);

}  // namespace statepack
