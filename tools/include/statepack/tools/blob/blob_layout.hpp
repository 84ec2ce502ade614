// SPDX-License-Identifier: Apache-2.0
// Plans where tensor bytes go: name order, one segment per distinct byte string (tied weights
// share), each with its checksum and, with compression, how it will be encoded. Offsets and
// stored sizes are filled in by the writer as it writes (compressed sizes are known only then).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "statepack/tools/codec/segment_codec.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/tensor.hpp"

namespace statepack {

class InputPages;

/// One segment of the blob: the raw bytes it stores and, once written, where and how.
struct PlannedSegment {
  const uint8_t *data = nullptr;  ///< raw (decoded) bytes
  uint64_t size = 0;              ///< raw size
  uint64_t raw_checksum = 0;      ///< blob checksum of the raw bytes, once known
  /// False for bytes that cannot have a twin: planning did not hash them, the writer does.
  bool raw_checksum_known = false;
  SegmentEncoding encoding;  ///< encoding.compress false: always stored raw

  // Set by the writer (a plan's segments start out raw: stored = raw):
  bool compressed = false;   ///< stored as a zstd chunk sequence
  bool chunk_kinds = false;  ///< some chunk is not a plain filtered frame: codec ZstdAdaptive
  uint64_t stored_size = 0;
  uint64_t checksum = 0;  ///< of the stored bytes
  uint64_t offset = 0;
};

/// "No segment" (the runtime's SPK_NO_SEGMENT).
inline constexpr uint32_t kNoSegment = 0xFFFFFFFFu;

/// The segments one tensor uses.
struct TensorSegments {
  uint32_t data = kNoSegment;
  uint32_t scales = kNoSegment;       ///< quantized tensors only
  uint32_t zero_points = kNoSegment;  ///< asymmetric schemes only
};

/// Tensors in blob order and the segments each uses.
struct BlobLayout {
  std::vector<const Tensor *> tensors;          ///< sorted by name (bytewise)
  std::vector<TensorSegments> tensor_segments;  ///< parallel to tensors
  std::vector<PlannedSegment> segments;         ///< in first-use order
};

/// What plan_segments needs besides the checkpoint.
struct PlanOptions {
  ChecksumAlgo checksum = ChecksumAlgo::kXxh64;
  bool compress = false;                  ///< give tensor data an encoding (parameters stay raw)
  uint32_t max_chunk = kDefaultMaxChunk;  ///< with compress: the largest chunk (chunk_size_for)
  unsigned threads = 1;                   ///< hash this many tensors at a time
  const InputPages *pages = nullptr;      ///< releases input pages once hashed (may be null)
};

/// Sorts the tensors, refuses duplicate names, and gives identical bytes one segment (tensor
/// data and quantization parameters alike; with compression, only bytes that are also encoded
/// the same way). Hashes, on `threads` threads, the byte ranges that may have a twin (same
/// size, encoding and sampled bytes as another); the others' raw_checksum is left unknown.
BlobLayout plan_segments(const Checkpoint &checkpoint, const PlanOptions &options);

/// Bytes to hash.
struct ByteRange {
  const uint8_t *data = nullptr;
  uint64_t size = 0;
};

/// The checksum (`algo`) of each range, in order, releasing input pages once hashed; stops
/// early, returning fewer, once `stop` is set. For the checksums planning left unknown.
std::vector<uint64_t> hash_unknown_checksums(const std::vector<ByteRange> &ranges,
                                             ChecksumAlgo algo, const InputPages *pages,
                                             const std::atomic<bool> &stop);

/// `value` rounded up to a multiple of `alignment` (a power of two).
inline uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace statepack
