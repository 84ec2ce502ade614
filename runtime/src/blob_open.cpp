// SPDX-License-Identifier: Apache-2.0
// spk_open: the staged checks that make every later read safe. Preamble, header checksum,
// header structure (via the checked FlatBuffers reader), then the semantics of every segment,
// tensor and metadata entry. Only a blob that passes all of them is marked open.
#include <cstring>

#include "blob_internal.hpp"
#include "compiler.hpp"
#include "header_checks.hpp"
#include "preamble.hpp"
#include "statepack/format.h"

namespace statepack {
namespace rt {
namespace {

bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// Reads the root table's vectors and alignment into *blob. Out of line, like the functions
// below, so its locals are not on the stack while the records are checked.
SPK_NOINLINE spk_status read_header_root(spk_blob *blob) {
  const FbBuffer buf = header_buffer(blob);
  FbTable root{};
  if (!fb_root(buf, SPK_FILE_IDENTIFIER, &root)) return SPK_ERR_HEADER_MALFORMED;

  FbVector tensors{}, segments{}, metadata{};
  if (!fb_vector_field(buf, root, header_field::kTensors, 4, &tensors) ||
      !fb_vector_field(buf, root, header_field::kSegments, kSegmentRecordSize, &segments) ||
      !fb_vector_field(buf, root, header_field::kMetadata, 4, &metadata)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  // Segment structs hold u64 fields: FlatBuffers aligns them to 8 in the buffer.
  if (segments.count != 0 && segments.pos % 8 != 0) return SPK_ERR_HEADER_MALFORMED;
  if (tensors.count > SPK_MAX_TENSORS || segments.count > SPK_MAX_SEGMENTS ||
      metadata.count > SPK_MAX_METADATA) {
    return SPK_ERR_HEADER_LIMIT;
  }
  uint64_t alignment = 0;
  if (!fb_scalar(buf, root, header_field::kAlignment, 4, 64, &alignment)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (!is_power_of_two(alignment) || alignment > SPK_MAX_ALIGNMENT) return SPK_ERR_BAD_SEGMENT;

  blob->tensors = tensors.pos;
  blob->tensor_count = tensors.count;
  blob->segments = segments.pos;
  blob->segment_count = segments.count;
  blob->metadata = metadata.pos;
  blob->metadata_count = metadata.count;
  blob->alignment = static_cast<uint32_t>(alignment);
  return SPK_OK;
}

// Segments tile the blob after the header: each starts at the next aligned offset after the
// previous one ends, and the last ends at the blob's end. So every byte is either header,
// segment or padding, and padding is exactly the alignment gaps (checked to be zero by verify).
SPK_NOINLINE spk_status check_segment_layout(const spk_blob *blob, uint64_t header_end) {
  uint64_t end = header_end;
  for (uint32_t i = 0; i < blob->segment_count; ++i) {
    const Segment segment = read_segment(blob, i);
    if (segment.offset != align_up(end, blob->alignment)) return SPK_ERR_BAD_SEGMENT;
    if (segment.size > blob->size - segment.offset) return SPK_ERR_BAD_SEGMENT;
    end = segment.offset + segment.size;
  }
  return end == blob->size ? SPK_OK : SPK_ERR_BAD_SEGMENT;
}

// check_tensors and check_metadata each hold one record on the stack (a spk_tensor is ~200
// bytes on a Cortex-M); kept out of line so the two frames are never stacked in check_header
// on top of read_tensor's chain (the budget: 512 bytes of stack for any call on a Cortex-M4).
SPK_NOINLINE spk_status check_tensors(const spk_blob *blob) {
  const char *previous = nullptr;
  uint32_t previous_length = 0;
  for (uint32_t i = 0; i < blob->tensor_count; ++i) {
    spk_tensor tensor;
    const spk_status status = read_tensor(blob, i, &tensor);
    if (status != SPK_OK) return status;
    if (previous != nullptr &&
        compare_names(previous, previous_length, tensor.name, tensor.name_length) >= 0) {
      return SPK_ERR_NOT_SORTED;
    }
    previous = tensor.name;
    previous_length = tensor.name_length;
  }
  return SPK_OK;
}

SPK_NOINLINE spk_status check_metadata(const spk_blob *blob) {
  const char *previous = nullptr;
  uint32_t previous_length = 0;
  for (uint32_t i = 0; i < blob->metadata_count; ++i) {
    spk_meta meta;
    const spk_status status = read_metadata(blob, i, &meta);
    if (status != SPK_OK) return status;
    if (previous != nullptr &&
        compare_names(previous, previous_length, meta.key, meta.key_length) >= 0) {
      return SPK_ERR_NOT_SORTED;
    }
    previous = meta.key;
    previous_length = meta.key_length;
  }
  return SPK_OK;
}

// The preamble and the header checksum, then the fields of *blob they give. Out of line so
// the Preamble is off the stack while check_header runs. Fills *blob in place rather than
// through a second spk_blob (the device budget is 512 bytes for any call); spk_open sets
// `opened` last and clears the struct again on failure.
SPK_NOINLINE spk_status open_preamble(spk_blob *blob, const uint8_t *bytes, size_t size,
                                      uint64_t *header_end) {
  Preamble preamble{};
  const spk_status status = parse_preamble(bytes, size, &preamble);
  if (status != SPK_OK) return status;
  const uint8_t *header = bytes + preamble.header_offset;
  if (blob_checksum(preamble.checksum_algo, header, preamble.header_size) !=
      preamble.header_checksum) {
    return SPK_ERR_HEADER_CHECKSUM;
  }
  blob->data = bytes;
  blob->size = preamble.blob_size;
  blob->header = header;
  blob->header_size = static_cast<uint32_t>(preamble.header_size);
  blob->format_major = preamble.format_major;
  blob->format_minor = preamble.format_minor;
  blob->checksum = preamble.checksum_algo;
  *header_end = preamble.header_offset + preamble.header_size;
  return SPK_OK;
}

}  // namespace

spk_status check_header(spk_blob *candidate, uint64_t header_end) {
  spk_status status = read_header_root(candidate);
  if (status == SPK_OK) status = check_segment_layout(candidate, header_end);
  if (status == SPK_OK) status = check_tensors(candidate);
  if (status == SPK_OK) status = check_metadata(candidate);
  return status;
}

}  // namespace rt
}  // namespace statepack

using namespace statepack::rt;

extern "C" spk_status spk_open(spk_blob *blob, const void *data, size_t size, uint32_t flags) {
  if (blob == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  std::memset(blob, 0, sizeof(*blob));
  if (data == nullptr || (flags & ~static_cast<uint32_t>(SPK_OPEN_VERIFY_SEGMENTS)) != 0) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  const auto *bytes = static_cast<const uint8_t *>(data);

  uint64_t header_end = 0;
  spk_status status = open_preamble(blob, bytes, size, &header_end);
  if (status == SPK_OK) status = check_header(blob, header_end);
  if (status == SPK_OK) {
    blob->opened = 1;
    if ((flags & SPK_OPEN_VERIFY_SEGMENTS) != 0) status = spk_verify(blob);
  }
  if (status != SPK_OK) std::memset(blob, 0, sizeof(*blob));
  return status;
}

extern "C" uint32_t spk_tensor_count(const spk_blob *blob) {
  return is_open(blob) ? blob->tensor_count : 0;
}

extern "C" uint32_t spk_alignment(const spk_blob *blob) {
  return is_open(blob) ? blob->alignment : 0;
}

extern "C" spk_checksum spk_checksum_algo(const spk_blob *blob) {
  return is_open(blob) ? static_cast<spk_checksum>(blob->checksum) : SPK_CHECKSUM_XXH64;
}
