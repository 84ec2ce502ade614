// SPDX-License-Identifier: Apache-2.0
// Reports as lines, for tests that check a table row by row.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace statepack::test {

/// `text` split at newlines (no trailing empty line for a final newline).
inline std::vector<std::string> lines_of(const std::string &text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace statepack::test
