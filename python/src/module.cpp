// SPDX-License-Identifier: Apache-2.0
// statepack._core: the CPython extension behind the statepack package (python/statepack),
// over the host library and runtime the CLI uses.
#include <pybind11/pybind11.h>

#include "errors.hpp"
#include "native_blob.hpp"
#include "native_pack.hpp"

PYBIND11_MODULE(_core, module) {
  module.doc() = "statepack's native core; use the statepack package, not this module.";
  module.attr("__version__") = STATEPACK_VERSION;
  statepack::python::register_errors(module);
  statepack::python::register_blob(module);
  statepack::python::register_pack(module);
}
