// SPDX-License-Identifier: Apache-2.0
// What the benchmark binaries share: a file mapped read-only with its pages already in memory
// (so a timing never includes page faults of the first touch), and a wall-clock stopwatch.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace statepack::bench {

/// Maps `path` whole (MAP_POPULATE); null if it cannot be opened or mapped. Never unmapped:
/// a benchmark keeps its inputs until it exits.
inline const uint8_t *map_file(const char *path, size_t *size) {
  const int fd = open(path, O_RDONLY);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    if (fd >= 0) close(fd);
    return nullptr;
  }
  *size = static_cast<size_t>(st.st_size);
  void *p = mmap(nullptr, *size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<const uint8_t *>(p);
}

/// Seconds of wall clock since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace statepack::bench
