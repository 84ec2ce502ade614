// SPDX-License-Identifier: Apache-2.0
// The argument parser's (CLI11's) errors as statepack's own usage messages: one line that
// starts with "statepack:", names the command and the word that is wrong, and points at --help,
// instead of CLI11's "A subcommand is required" or "inputs is required".
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace statepack::cli {

/// The message (without the "statepack: " prefix) for a parse error other than --help and
/// --version. `app` is the root app after the failed parse, `args` the command line without
/// the program name.
std::string usage_error_message(const CLI::App &app, const CLI::ParseError &error,
                                const std::vector<std::string> &args);

}  // namespace statepack::cli
