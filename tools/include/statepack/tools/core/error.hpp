// SPDX-License-Identifier: Apache-2.0
// The host tools' one error type: a message that names the file and says what is wrong.
// Readers and writers throw it; the CLI turns it into a line on stderr and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace statepack {

/// What kind of failure an Error is; the CLI maps it to an exit code.
enum class ErrorKind {
  kInput,   ///< invalid, damaged or hostile input, or a failed verification (exit 1)
  kOutput,  ///< the output could not be written (exit 1)
  kUsage,   ///< the command line is wrong (exit 2)
};

/// A failure of the host tools, with a message fit to show a user.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string &message) : std::runtime_error(message), kind_(kind) {}
  /// Which kind of failure this is.
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

/// Throws an input Error "<file>: <problem>".
[[noreturn]] inline void fail_input(const std::string &file, const std::string &problem) {
  throw Error(ErrorKind::kInput, file + ": " + problem);
}

/// Throws an output Error "<file>: <problem>".
[[noreturn]] inline void fail_output(const std::string &file, const std::string &problem) {
  throw Error(ErrorKind::kOutput, file + ": " + problem);
}

/// Throws the one input Error every command gives for a file of 0 bytes, whatever it expected.
[[noreturn]] inline void fail_empty_file(const std::string &file) {
  fail_input(file, "empty file (0 bytes), neither a checkpoint nor a statepack blob");
}

/// Throws a usage Error.
[[noreturn]] inline void fail_usage(const std::string &problem) {
  throw Error(ErrorKind::kUsage, problem);
}

}  // namespace statepack
