// A progress line on stderr for long packs: bytes done, rate and time left. Drawn only when
// stderr is a terminal, and only once an operation has run for a second (short packs stay
// silent); redrawn at most ten times a second.
#pragma once

#include <chrono>
#include <cstdint>

namespace statepack::cli {

class ProgressBar {
 public:
  /// `enabled` false (e.g. --quiet) draws nothing; so does a stderr that is not a terminal.
  explicit ProgressBar(bool enabled);
  /// Clears the line if one was drawn.
  ~ProgressBar();
  ProgressBar(const ProgressBar &) = delete;
  ProgressBar &operator=(const ProgressBar &) = delete;

  /// Reports `done` of `total` bytes.
  void update(uint64_t done, uint64_t total);
  /// Clears the line (idempotent).
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace statepack::cli
