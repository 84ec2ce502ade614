// SPDX-License-Identifier: Apache-2.0
// Writes a Checkpoint as a statepack blob: preamble, FlatBuffers header, aligned segments.
// The output depends only on the tensors, metadata and options (never on time, input order or
// thread count). Memory stays bounded whatever the model's size: segments are written in order
// as they are encoded, at most a window of chunks is in flight, and the header (whose size does
// not depend on the encoded sizes) is written last into space reserved for it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "statepack/tools/codec/segment_codec.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/progress.hpp"
#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// Blob-wide choices.
struct BlobOptions {
  ChecksumAlgo checksum = ChecksumAlgo::kXxh64;
  uint32_t alignment = 64;  ///< power of two in [8, 65536]
  Compression compression;  ///< default: none
  unsigned threads = 0;     ///< hashing and compression threads; 0 = every core
  /// Called from the writing thread with bytes of tensor data done so far and in total.
  ProgressCallback progress;
  /// Metadata computed while the segments are written; added to the checkpoint's (and
  /// replacing entries of the same key) in the header, which is written last.
  PendingMetadata pending;
};

/// Throws a usage Error for options the format does not allow (alignment, checksum, level).
void check_blob_options(const BlobOptions &options);

/// Where a blob is written: random access, because the header goes in last.
class BlobSink {
 public:
  virtual ~BlobSink() = default;
  /// Writes `size` bytes at `offset`, which is at most size(): overwriting, appending or both.
  virtual void write(uint64_t offset, const void *data, size_t size) = 0;
  /// Appends up to `size` bytes of the file `fd` from `file_offset` on, at `offset` (which is
  /// size()), without passing them through memory; returns how many it appended. The caller
  /// writes the rest. By default nothing: sinks that are not files take every byte by write().
  virtual uint64_t copy_from_file(uint64_t /*offset*/, int /*fd*/, uint64_t /*file_offset*/,
                                  uint64_t /*size*/) {
    return 0;
  }
  /// Bytes written so far (the end of the furthest write).
  virtual uint64_t size() const = 0;
  /// Cuts the output to `size` bytes (at most size()).
  virtual void truncate(uint64_t size) = 0;
};

/// Writes the blob for `checkpoint` to `sink`. Throws a usage Error for bad options and an
/// input Error for tensors the format cannot hold (duplicate names, rank > 8, size mismatch).
/// Tensors with identical bytes share one segment. The header is put through the runtime's
/// own checks before it is written (check_header_with_runtime). Returns the blob's size.
uint64_t write_blob(const Checkpoint &checkpoint, const BlobOptions &options, BlobSink &sink);

/// Runs spk_open's header checks (through the runtime's stream verifier, which needs only these
/// bytes) on a preamble and the header after it; throws an output Error naming the runtime's
/// verdict if it refuses them. So the packer never publishes a blob its own runtime would not
/// open, whatever bug let the header through.
void check_header_with_runtime(const std::vector<uint8_t> &preamble,
                               const std::vector<uint8_t> &header);

/// Writes the blob to `path` atomically (temp file + rename): on any failure the previous file
/// at `path`, if any, is untouched and no partial file remains. A device, a FIFO or "-"
/// (standard output) is written into, not replaced (see AtomicOutput). Returns the blob's size.
uint64_t write_blob_file(const std::string &path, const Checkpoint &checkpoint,
                         const BlobOptions &options);

/// The blob as bytes in memory (for tests and small models).
std::vector<uint8_t> build_blob(const Checkpoint &checkpoint, const BlobOptions &options);

}  // namespace statepack
