// SPDX-License-Identifier: Apache-2.0
// Whether two paths name the same file (through any spelling, symlink or hard link), so a
// command never writes its output over one of its own inputs.
#pragma once

#include <string>

namespace statepack {

/// True when both paths exist and are the same file (same device and inode).
bool same_file(const std::string &a, const std::string &b);

}  // namespace statepack
