// SPDX-License-Identifier: Apache-2.0
// The progress line (see progress_bar.hpp).
#include "progress_bar.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "statepack/tools/text/text_cell.hpp"

namespace statepack::cli {
namespace {

// The terminal's width: asked of stderr's terminal each time (it may be resized), else
// $COLUMNS, else 80.
int terminal_columns() {
  struct winsize size {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char *columns = std::getenv("COLUMNS")) {
    const long n = std::strtol(columns, nullptr, 10);
    if (n > 0 && n < 10000) return static_cast<int>(n);
  }
  return 80;
}

std::chrono::steady_clock::duration delay_from_environment() {
  if (const char *text = std::getenv("STATEPACK_PROGRESS_DELAY_MS")) {
    char *end = nullptr;
    const long ms = std::strtol(text, &end, 10);
    if (end != text && *end == '\0' && ms >= 0) return std::chrono::milliseconds(ms);
  }
  return std::chrono::seconds(1);
}

}  // namespace

ProgressBar::ProgressBar(bool enabled, std::string label)
    : enabled_(enabled && ::isatty(STDERR_FILENO) == 1),
      label_(std::move(label)),
      delay_(delay_from_environment()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  finish();
}

std::string ProgressBar::render(const std::string &label, uint64_t done, uint64_t total,
                                double elapsed, int columns) {
  if (done > total) done = total;
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double left = rate > 0 ? static_cast<double>(total - done) / rate : 0;
  const auto seconds = static_cast<long>(left + 0.5);
  const std::string figures = std::to_string(static_cast<int>(fraction * 100)) + "% " +
                              human_bytes(static_cast<double>(done)) + " / " +
                              human_bytes(static_cast<double>(total));
  char eta[32];
  std::snprintf(eta, sizeof(eta), "ETA %ld:%02ld", seconds / 60, seconds % 60);
  const std::string full = " " + figures + "  " + human_bytes(rate) + "/s  " + eta;
  const std::string brief = " " + figures + "  " + eta;
  const int usable = columns - 1;
  std::string line = label + " ";
  // The widest line that keeps a bar of 10 or more: all figures, else without the rate.
  std::string tail = full;
  int bar = usable - static_cast<int>(line.size() + tail.size()) - 2;
  if (bar < 10) {
    tail = brief;
    bar = usable - static_cast<int>(line.size() + tail.size()) - 2;
  }
  if (bar >= 10) {
    const int filled = static_cast<int>(fraction * bar);
    line += "[" + std::string(static_cast<size_t>(filled), '#') +
            std::string(static_cast<size_t>(bar - filled), '.') + "]";
  } else {
    tail = full;
  }
  line += tail;
  // A narrow terminal: the bar went first, the end of the figures goes next.
  if (usable > 0 && line.size() > static_cast<size_t>(usable))
    line.resize(static_cast<size_t>(usable));
  if (usable <= 0) line.clear();
  return line;
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < delay_ || (drawn_ && now - last_draw_ < std::chrono::milliseconds(100))) {
    return;
  }
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const std::string line = render(label_, done, total, elapsed, terminal_columns());
  // Erase to the end of the line after the text: a shorter line leaves nothing of a longer one.
  std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace statepack::cli
