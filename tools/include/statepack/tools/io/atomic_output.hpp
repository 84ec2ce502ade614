// SPDX-License-Identifier: Apache-2.0
// Crash-safe output: bytes go to a temporary file beside the target, which replaces the target
// only after everything is written and synced. A failed or killed run leaves the old file (or
// nothing) under the target name, never a half-written one.
//
// Atomicity is for regular files. A symlink is followed to the file it names (the link stays a
// link); an existing file's replacement keeps its mode, and its owner and group where the
// process may set them. Devices, FIFOs and standard output ("-") are never replaced: their
// bytes are written straight into them (a device from offset 0, in place; what it held beyond
// the written bytes stays), so a failed run can leave them partly written.
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

/// How a writer uses its output: what a target that cannot seek (a FIFO, a pipe) needs.
enum class OutputAccess {
  /// write_at and truncate may change bytes already written (the blob writer, which writes its
  /// header last). A stream target gets the bytes only at commit(), from a temporary file in
  /// $TMPDIR (or /tmp) that holds the whole output until then.
  kRandom,
  /// Appends only: a stream target gets the bytes as they are written.
  kSequential,
};

/// A file being written atomically. Throws Error (kOutput, naming `path`) on any failure.
class AtomicOutput {
 public:
  /// Opens the output `path`: "-" is standard output; a symlink is resolved to its final
  /// target. A regular file (new or existing) is written to a temporary file in its directory
  /// (the same filesystem, so the final rename is atomic). Fails if that directory is missing
  /// or not writable, or `path` is a directory, a socket or a symlink loop.
  explicit AtomicOutput(std::string path, CopyRangeCall copy_range = &::copy_file_range,
                        OutputAccess access = OutputAccess::kRandom);
  /// As above, for a writer that only appends (see OutputAccess).
  AtomicOutput(std::string path, OutputAccess access)
      : AtomicOutput(std::move(path), &::copy_file_range, access) {}
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
  /// append position; used to fill in a header once the data behind it is hashed. Not for an
  /// output opened with OutputAccess::kSequential.
  void write_at(uint64_t offset, const void *data, size_t size);
  /// Cuts the file to `size` bytes (at most position()) and appends from there on; used by the
  /// blob writer when a segment written compressed is written again, shorter, as raw bytes.
  /// On a device the bytes behind `size` stay as they are (a device has no length to cut).
  void truncate(uint64_t size);
  /// Bytes appended so far.
  uint64_t position() const { return position_; }
  /// A file: flushes, fsyncs, renames onto the target and fsyncs the directory. A device:
  /// fsyncs it. A stream: sends it what a kRandom output kept in its temporary file.
  void commit();
  /// The path as given, or "standard output" for "-": the name error messages use.
  const std::string &path() const { return path_; }
  /// Whether the target is a regular file (which a reader can open afterwards by its path).
  bool is_file() const { return file_; }

 private:
  void open_temporary(const std::string &directory, bool named_fallback);
  void copy_spool_to_stream();
  void write_fully(uint64_t offset, const void *data, size_t size);
  void start_writeback();
  class Writeback;

  std::string path_;    // as given, for messages
  std::string target_;  // the regular file to replace, after symlinks (empty otherwise)
  CopyRangeCall copy_range_;
  bool file_ = false;                     // the target is a regular file
  bool streaming_ = false;                // fd_ is a stream written with write(), not pwrite()
  bool device_ = false;                   // fd_ is a device written in place
  int stream_fd_ = -1;                    // a kRandom stream's target while fd_ is the temporary
  std::unique_ptr<Writeback> writeback_;  // started by the first batch of written bytes
  uint64_t writeback_requested_ = 0;      // bytes before this are on their way to the disk
  std::string temp_path_;
  int fd_ = -1;
  uint64_t position_ = 0;
  bool committed_ = false;
};

}  // namespace statepack
