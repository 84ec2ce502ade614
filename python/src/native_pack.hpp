// SPDX-License-Identifier: Apache-2.0
// statepack._core.save and statepack._core.pack: the CLI's pack pipeline (pack_pipeline.hpp)
// over tensors from Python buffers or over checkpoint files, returning what it reported.
#pragma once

#include <pybind11/pybind11.h>

namespace statepack::python {

/// Adds save() and pack() to `module`.
void register_pack(pybind11::module_ &module);

}  // namespace statepack::python
