// SPDX-License-Identifier: Apache-2.0
// Keeps the packer's resident memory small on models larger than RAM: input tensors are views
// into read-only file mappings, and every page touched would otherwise stay counted in the
// process's resident set until exit. Once a range has been hashed or written, its pages are
// dropped from this process (they stay in the page cache and fault back in if touched again).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace statepack {

/// Releases consumed input pages. Only pages inside read-only private file mappings (what
/// MappedFile creates) are released, since for those dropping a page loses nothing; owned
/// buffers (quantized tensors, inflated zip entries) are never touched.
class InputPages {
 public:
  /// Reads this process's mappings (Linux: /proc/self/maps); elsewhere, or when `enabled` is
  /// false (inputs small enough to stay resident), releases nothing.
  explicit InputPages(bool enabled = true);
  /// Drops the whole pages inside [data, data + size) if they belong to one such mapping.
  /// Thread-safe; a no-op for anything else.
  void release(const void *data, uint64_t size) const;

 private:
  std::vector<std::pair<uintptr_t, uintptr_t>> file_ranges_;  // read-only private file maps
};

}  // namespace statepack
