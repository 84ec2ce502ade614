// SPDX-License-Identifier: Apache-2.0
// What the runtime's source files share: the header's field ids (from schemas/statepack.fbs),
// checksum dispatch, and the checked readers of tensor, segment and metadata records.
#pragma once

#include <cstdint>

#include "flatbuffer_reader.hpp"
#include "statepack/statepack.h"

namespace statepack {
namespace rt {

// Field ids: the declaration order of each table in statepack.fbs.
namespace header_field {
constexpr uint32_t kTensors = 0, kSegments = 1, kMetadata = 2, kAlignment = 3;
}
namespace tensor_field {
constexpr uint32_t kName = 0, kDtype = 1, kShape = 2, kDataSegment = 3, kStoredSize = 4,
                   kDecodedSize = 5, kCodec = 6, kFilter = 7, kSourceDtype = 8, kQuant = 9;
}
namespace quant_field {
constexpr uint32_t kScheme = 0, kAxis = 1, kGroupSize = 2, kScaleDtype = 3, kScaleSegment = 4,
                   kZeroPointDtype = 5, kZeroPointSegment = 6, kSqnrDb = 7, kMaxAbsError = 8,
                   kOverflowCount = 9, kLossless = 10;
}
namespace meta_field {
constexpr uint32_t kKey = 0, kKind = 1, kStringValue = 2, kIntValue = 3, kFloatValue = 4,
                   kBoolValue = 5;
}

/// The Segment struct: offset, size, checksum (u64 each).
constexpr uint32_t kSegmentRecordSize = 24;

struct Segment {
  uint64_t offset;
  uint64_t size;
  uint64_t checksum;
};

inline FbBuffer header_buffer(const spk_blob *blob) {
  return FbBuffer{blob->header, blob->header_size};
}

/// The blob's bytes at `offset` (range-checked by the caller), or null in the stream
/// verifier's header-only view, which has no blob in memory to point into.
inline const uint8_t *blob_bytes_at(const spk_blob *blob, uint64_t offset) {
  return blob->data != nullptr ? blob->data + offset : nullptr;
}

/// True when the blob was filled by a successful spk_open.
inline bool is_open(const spk_blob *blob) {
  return blob != nullptr && blob->opened == 1;
}

/// The blob's checksum of a byte range (XXH32 zero-extended to 64 bits).
uint64_t blob_checksum(uint8_t algo, const uint8_t *data, uint64_t size);

/// Reads segment `index` (range-checked against the segment vector only).
Segment read_segment(const spk_blob *blob, uint32_t index);

/// Reads and checks tensor record `index`: structure, dtype, shape, sizes, segment and
/// quantization. Used by spk_open for every tensor and by every accessor.
spk_status read_tensor(const spk_blob *blob, uint32_t index, spk_tensor *out);

/// Reads only the name of tensor `index` (for binary search).
bool read_tensor_name(const spk_blob *blob, uint32_t index, const char **name, uint32_t *length);

/// Reads and checks metadata entry `index`.
spk_status read_metadata(const spk_blob *blob, uint32_t index, spk_meta *out);

/// memcmp-then-length order (the order FlatBuffers' sorted vectors use).
int compare_names(const char *a, uint32_t a_length, const char *b, uint32_t b_length);

/// Bytes of `count` elements of `dtype`, rounded up to whole bytes; false on overflow.
bool dtype_byte_size(spk_dtype dtype, uint64_t count, uint64_t *bytes);

}  // namespace rt
}  // namespace statepack
