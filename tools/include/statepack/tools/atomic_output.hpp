// Crash-safe output: bytes go to a temporary file beside the target, which replaces the target
// only after everything is written and synced. A failed or killed run leaves the old file (or
// nothing) under the target name, never a half-written one.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace statepack {

/// The signature of copy_file_range(2): how AtomicOutput::copy_from copies inside the kernel.
/// Tests pass a stand-in that fails the way some filesystems and kernels do.
using CopyRangeCall = ssize_t (*)(int in_fd, off64_t *in_offset, int out_fd, off64_t *out_offset,
                                  size_t size, unsigned flags);

/// A file being written atomically. Throws Error (kOutput, naming `path`) on any failure.
class AtomicOutput {
 public:
  /// Creates a temporary file in the directory of `path` (the same filesystem, so the final
  /// rename is atomic). Fails if that directory is missing or not writable, or `path` is a
  /// directory.
  explicit AtomicOutput(std::string path, CopyRangeCall copy_range = &::copy_file_range);
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicOutput();  // defined where Writeback is complete
  AtomicOutput(const AtomicOutput &) = delete;
  AtomicOutput &operator=(const AtomicOutput &) = delete;

  /// Appends `size` bytes at the current position.
  void write(const void *data, size_t size);
  /// Appends up to `size` bytes of the file `in_fd` from `in_offset` on, copied inside the
  /// kernel (copy_file_range: no copy through this process, and a reflink where the
  /// filesystem shares blocks). Returns how many were appended: fewer than `size` when the
  /// kernel cannot copy between these two files (ENOSYS, EXDEV, EINVAL, EOPNOTSUPP, EPERM) or
  /// the input ends early; the caller writes the rest itself. Other failures throw.
  uint64_t copy_from(int in_fd, uint64_t in_offset, uint64_t size);
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
  void start_writeback();
  class Writeback;

  std::string path_;
  CopyRangeCall copy_range_;
  std::unique_ptr<Writeback> writeback_;  // started by the first batch of written bytes
  uint64_t writeback_requested_ = 0;      // bytes before this are on their way to the disk
  std::string temp_path_;
  int fd_ = -1;
  uint64_t position_ = 0;
  bool committed_ = false;
};

}  // namespace statepack
