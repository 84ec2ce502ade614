// Plans where tensor bytes go: name order, one segment per distinct byte string (tied weights
// share), each with its checksum, at aligned offsets after the header.
#pragma once

#include <cstdint>
#include <vector>

#include "statepack/tools/checksum.hpp"
#include "statepack/tools/tensor.hpp"

namespace statepack {

/// One segment of the blob: bytes to copy and their checksum.
struct PlannedSegment {
  const uint8_t *data = nullptr;
  uint64_t size = 0;
  uint64_t checksum = 0;
  uint64_t offset = 0;  ///< set by place_segments
};

/// Tensors in blob order and the segment each uses.
struct BlobLayout {
  std::vector<const Tensor *> tensors;   ///< sorted by name (bytewise)
  std::vector<uint32_t> tensor_segment;  ///< parallel to tensors
  std::vector<PlannedSegment> segments;  ///< in first-use order
};

/// Sorts the tensors, refuses duplicate names, and gives identical bytes one segment.
BlobLayout plan_segments(const Checkpoint &checkpoint, ChecksumAlgo algo);

/// Assigns offsets: the first segment at the first aligned offset at or after `data_start`,
/// each next one at the first aligned offset after the previous one ends. Returns the blob end.
uint64_t place_segments(BlobLayout &layout, uint64_t data_start, uint32_t alignment);

/// `value` rounded up to a multiple of `alignment` (a power of two).
inline uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace statepack
