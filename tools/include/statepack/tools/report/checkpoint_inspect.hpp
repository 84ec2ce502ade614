// SPDX-License-Identifier: Apache-2.0
// Describing an input checkpoint (before packing), so users can see names and dtypes first.
#pragma once

#include <string>

#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// Summary line, tensor table (file order) and metadata.
std::string describe_checkpoint_table(const std::string &path, const std::string &format,
                                      const Checkpoint &checkpoint);

/// The same as JSON.
std::string describe_checkpoint_json(const std::string &path, const std::string &format,
                                     const Checkpoint &checkpoint);

}  // namespace statepack
