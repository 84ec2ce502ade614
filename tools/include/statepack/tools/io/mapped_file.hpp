// SPDX-License-Identifier: Apache-2.0
// Read-only memory mapping of an input file, so readers hand out views instead of copies and
// multi-GB checkpoints need no more RAM than the pages being touched.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace statepack {

/// Where bytes of a live mapping come from: a file, named by its path and identified by its
/// device and inode (the path may have been renamed or replaced since it was mapped), and the
/// offset of the first byte in it.
struct MappedRange {
  std::string path;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t offset = 0;
};

/// A whole file mapped read-only. Empty files are valid (data() is then nullptr).
class MappedFile {
 public:
  /// Maps `path`; throws an input Error naming the file if it is missing, a directory or
  /// unreadable.
  static std::shared_ptr<const MappedFile> open(const std::string &path);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string &path() const { return path_; }

  /// The file behind [data, data + size) when that range lies inside one live mapping made by
  /// open(); nullopt for any other memory (owned buffers, inflated zip entries). Thread-safe.
  static std::optional<MappedRange> locate(const void *data, uint64_t size);

  /// Drops from this process the whole pages of [data, data + size) when that range lies in a
  /// live mapping made by open() (they stay in the page cache and fault back in if touched
  /// again), so that a pass over a large input does not leave it all resident. A no-op for any
  /// other memory. Thread-safe.
  static void release(const void *data, uint64_t size);

 private:
  MappedFile(std::string path, const uint8_t *data, uint64_t size, uint64_t device, uint64_t inode);
  std::string path_;
  const uint8_t *data_;
  uint64_t size_;
  uint64_t device_;
  uint64_t inode_;
};

}  // namespace statepack
