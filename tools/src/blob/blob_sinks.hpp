// SPDX-License-Identifier: Apache-2.0
// The two places write_blob writes into: a file (through AtomicOutput, so a failed write leaves
// no partial file) and a vector in memory. Separate from the writer, which sees only the
// BlobSink interface (declared in blob_writer.hpp). Not installed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "statepack/tools/blob/blob_writer.hpp"

namespace statepack {

class AtomicOutput;

/// A BlobSink over an AtomicOutput: writes append or overwrite, and raw bytes of an input
/// file are appended by the kernel (copy_from_file).
class FileSink : public BlobSink {
 public:
  /// A sink into `out`, which must outlive it.
  explicit FileSink(AtomicOutput &out) : out_(out) {}
  /// Overwrites what lies before the output's end and appends the rest.
  void write(uint64_t offset, const void *data, size_t size) override;
  /// Appends through the kernel when `offset` is the output's end; otherwise copies nothing.
  uint64_t copy_from_file(uint64_t offset, int fd, uint64_t file_offset, uint64_t size) override;
  /// The output's size so far.
  uint64_t size() const override;
  /// Cuts the output to `size` bytes.
  void truncate(uint64_t size) override;

 private:
  AtomicOutput &out_;
};

/// A BlobSink into memory.
class VectorSink : public BlobSink {
 public:
  /// A sink into `bytes`, which must outlive it.
  explicit VectorSink(std::vector<uint8_t> &bytes) : bytes_(bytes) {}
  /// Overwrites and grows `bytes`.
  void write(uint64_t offset, const void *data, size_t size) override;
  /// The vector's size.
  uint64_t size() const override { return bytes_.size(); }
  /// Shrinks the vector to `size` bytes.
  void truncate(uint64_t size) override { bytes_.resize(static_cast<size_t>(size)); }

 private:
  std::vector<uint8_t> &bytes_;
};

}  // namespace statepack
