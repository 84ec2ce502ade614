// SPDX-License-Identifier: Apache-2.0
// Dropping consumed pages of read-only input mappings (see input_pages.hpp).
#include "statepack/tools/io/input_pages.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace statepack {

InputPages::InputPages(bool enabled) {
#ifdef __linux__
  if (!enabled) return;
  std::FILE *maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return;
  char line[4096];
  while (std::fgets(line, sizeof(line), maps) != nullptr) {
    unsigned long start = 0, end = 0, inode = 0;
    char perms[8] = {};
    char device[32] = {};
    unsigned long long offset = 0;
    // "start-end perms offset major:minor inode path"
    if (std::sscanf(line, "%lx-%lx %7s %llx %31s %lu", &start, &end, perms, &offset, device,
                    &inode) != 6) {
      continue;
    }
    // Read-only and private: no page can differ from the file, so dropping one is lossless.
    if (inode != 0 && std::strcmp(perms, "r--p") == 0) file_ranges_.emplace_back(start, end);
  }
  std::fclose(maps);
#endif
}

void InputPages::release(const void *data, uint64_t size) const {
#ifdef __linux__
  if (data == nullptr || size == 0 || file_ranges_.empty()) return;
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t end = begin + size;
  for (const auto &[first, last] : file_ranges_) {
    if (begin < first || end > last) continue;
    // Whole pages only: a partial page at either end may hold a neighbour's bytes still to come.
    const uintptr_t from = (begin + page - 1) & ~(page - 1);
    const uintptr_t to = end & ~(page - 1);
    if (from < to) ::madvise(reinterpret_cast<void *>(from), to - from, MADV_DONTNEED);
    return;
  }
#else
  (void)data;
  (void)size;
#endif
}

}  // namespace statepack
