// SPDX-License-Identifier: Apache-2.0
// statepack._core.BlobFile: an open blob, read through the host library and the runtime the
// CLI uses (BlobFile, blob_to_checkpoint, describe_blob_json). statepack.Blob wraps it.
#pragma once

#include <pybind11/pybind11.h>

namespace statepack::python {

/// Adds the BlobFile class to `module`.
void register_blob(pybind11::module_ &module);

}  // namespace statepack::python
