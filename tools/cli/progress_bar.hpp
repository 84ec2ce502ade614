// SPDX-License-Identifier: Apache-2.0
// A progress line on stderr for long operations (quantizing, writing, verifying, unpacking,
// embedding): what is being done, a bar, bytes done, rate and time left. Drawn only when stderr
// is a terminal, and only once an operation has run for a second (short runs stay silent);
// redrawn at most ten times a second, as wide as the terminal (TIOCGWINSZ on stderr, else
// $COLUMNS, else 80), and erased (carriage return + erase to end of line) when done, so the
// next line starts clean. STATEPACK_PROGRESS_DELAY_MS overrides the one-second delay.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace statepack::cli {

class ProgressBar {
 public:
  /// `enabled` false (e.g. --quiet) draws nothing; so does a stderr that is not a terminal.
  /// `label` starts the line ("writing", "verifying").
  ProgressBar(bool enabled, std::string label);
  /// Clears the line if one was drawn.
  ~ProgressBar();
  ProgressBar(const ProgressBar &) = delete;
  ProgressBar &operator=(const ProgressBar &) = delete;

  /// Reports `done` of `total` bytes.
  void update(uint64_t done, uint64_t total);
  /// Clears the line (idempotent).
  void finish();

  /// The line for `done` of `total` bytes after `elapsed` seconds, at most `columns` - 1
  /// columns wide (the last column would make some terminals wrap). Exposed for tests.
  static std::string render(const std::string &label, uint64_t done, uint64_t total, double elapsed,
                            int columns);

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::duration delay_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace statepack::cli
