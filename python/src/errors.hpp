// SPDX-License-Identifier: Apache-2.0
// statepack's exceptions in Python: statepack.Error and its subclasses, raised from the host
// tools' Errors with their messages (the CLI's).
#pragma once

#include <pybind11/pybind11.h>

#include "statepack/tools/core/error.hpp"

namespace statepack::python {

/// An input Error about a blob that was opened: raised as statepack.DamagedBlob.
class BlobDamage : public Error {
 public:
  explicit BlobDamage(const Error &e) : Error(e.kind(), e.what()) {}
};

/// Creates statepack.Error, InvalidInput, DamagedBlob, UsageError and OutputError in `module`
/// and translates the host tools' Errors into them.
void register_errors(pybind11::module_ &module);

/// Runs `body`, turning an input Error into a BlobDamage.
template <typename Body>
auto on_blob(Body &&body) -> decltype(body()) {
  try {
    return body();
  } catch (const BlobDamage &) {
    throw;
  } catch (const Error &e) {
    if (e.kind() == ErrorKind::kInput) throw BlobDamage(e);
    throw;
  }
}

}  // namespace statepack::python
