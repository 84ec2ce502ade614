// Writes a Checkpoint as a statepack blob: preamble, FlatBuffers header, aligned segments.
// The output depends only on the tensors, metadata and options (never on time or input order).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "statepack/tools/checksum.hpp"
#include "statepack/tools/tensor.hpp"

namespace statepack {

/// Blob-wide choices.
struct BlobOptions {
  ChecksumAlgo checksum = ChecksumAlgo::kXxh64;
  uint32_t alignment = 64;  ///< power of two in [8, 65536]
};

/// Throws a usage Error for options the format does not allow (alignment, checksum).
void check_blob_options(const BlobOptions &options);

/// Receives the blob's bytes in order.
using ByteSink = std::function<void(const void *data, size_t size)>;

/// Streams the blob for `checkpoint` to `sink`. Throws a usage Error for bad options and an
/// input Error for tensors the format cannot hold (duplicate names, rank > 8, size mismatch).
/// Tensors with identical bytes share one segment. Returns the blob's size.
uint64_t write_blob(const Checkpoint &checkpoint, const BlobOptions &options, const ByteSink &sink);

/// Writes the blob to `path` atomically (temp file + rename): on any failure the previous file
/// at `path`, if any, is untouched and no partial file remains.
void write_blob_file(const std::string &path, const Checkpoint &checkpoint,
                     const BlobOptions &options);

/// The blob as bytes in memory (for tests and small models).
std::vector<uint8_t> build_blob(const Checkpoint &checkpoint, const BlobOptions &options);

}  // namespace statepack
