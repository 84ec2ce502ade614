// SPDX-License-Identifier: Apache-2.0
#include "errors.hpp"

namespace statepack::python {

void register_errors(pybind11::module_ &module) {
  namespace py = pybind11;
  // Never freed: the translator below refers to them for the life of the interpreter.
  static auto *error = new py::exception<Error>(module, "Error");
  error->doc() = "Base of every statepack failure; the message is the CLI's.";
  static auto *invalid_input = new py::exception<Error>(module, "InvalidInput", error->ptr());
  invalid_input->doc() = "An input is missing, unreadable, invalid or hostile.";
  static auto *damaged_blob = new py::exception<Error>(module, "DamagedBlob", invalid_input->ptr());
  damaged_blob->doc() = "A blob failed the runtime's checks (structure, checksums, padding).";
  static auto *usage_error = new py::exception<Error>(module, "UsageError", error->ptr());
  usage_error->doc() = "An option or argument is wrong (the CLI's exit code 2).";
  static auto *output_error = new py::exception<Error>(module, "OutputError", error->ptr());
  output_error->doc() = "The output could not be written.";
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const BlobDamage &e) {
      PyErr_SetString(damaged_blob->ptr(), e.what());
    } catch (const Error &e) {
      switch (e.kind()) {
        case ErrorKind::kInput:
          PyErr_SetString(invalid_input->ptr(), e.what());
          break;
        case ErrorKind::kUsage:
          PyErr_SetString(usage_error->ptr(), e.what());
          break;
        case ErrorKind::kOutput:
          PyErr_SetString(output_error->ptr(), e.what());
          break;
      }
    }
  });
}

}  // namespace statepack::python
