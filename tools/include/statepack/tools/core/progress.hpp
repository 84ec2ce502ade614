// SPDX-License-Identifier: Apache-2.0
// How long-running host operations (writing, quantizing, verifying) report how far they are.
#pragma once

#include <cstdint>
#include <functional>

namespace statepack {

/// Called with units (bytes, unless the caller says otherwise) done so far and in total.
using ProgressCallback = std::function<void(uint64_t done, uint64_t total)>;

}  // namespace statepack
