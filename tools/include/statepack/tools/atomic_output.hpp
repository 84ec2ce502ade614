// Crash-safe output: bytes go to a temporary file beside the target, which replaces the target
// only after everything is written and synced. A failed or killed run leaves the old file (or
// nothing) under the target name, never a half-written one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace statepack {

/// A file being written atomically. Throws Error (kOutput, naming `path`) on any failure.
class AtomicOutput {
 public:
  /// Creates a temporary file in the directory of `path` (the same filesystem, so the final
  /// rename is atomic). Fails if that directory is missing or not writable, or `path` is a
  /// directory.
  explicit AtomicOutput(std::string path);
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput &) = delete;
  AtomicOutput &operator=(const AtomicOutput &) = delete;

  /// Appends `size` bytes at the current position.
  void write(const void *data, size_t size);
  /// Appends `count` zero bytes (padding).
  void write_zeros(uint64_t count);
  /// Overwrites bytes at `offset` (which must already have been written) without moving the
  /// append position; used to fill in a header once the data behind it is hashed.
  void write_at(uint64_t offset, const void *data, size_t size);
  /// Cuts the file to `size` bytes (at most position()) and appends from there on; used by the
  /// blob writer when a segment written compressed is written again, shorter, as raw bytes.
  void truncate(uint64_t size);
  /// Bytes appended so far.
  uint64_t position() const { return position_; }
  /// Flushes, fsyncs, renames onto the target and fsyncs the directory.
  void commit();
  /// The target path.
  const std::string &path() const { return path_; }

 private:
  void write_fully(uint64_t offset, const void *data, size_t size);

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  uint64_t position_ = 0;
  bool committed_ = false;
};

}  // namespace statepack
