// SPDX-License-Identifier: Apache-2.0
// Segment checksums and zero padding: the checks that cover the tensor bytes. Separate from
// spk_open because they read the whole blob; a device may run them once after an update.
#include "blob_internal.hpp"
#include "hash_xxh.hpp"

namespace statepack {
namespace rt {

uint64_t blob_checksum(uint8_t algo, const uint8_t *data, uint64_t size) {
  // Callers only hash ranges already proven to lie inside the caller's buffer, so size fits.
  const auto n = static_cast<size_t>(size);
  return algo == SPK_CHECKSUM_XXH32 ? xxh32(data, n, 0) : xxh64(data, n, 0);
}

namespace {

bool all_zero(const uint8_t *bytes, uint64_t count) {
  uint8_t any = 0;
  for (uint64_t i = 0; i < count; ++i) any |= bytes[i];
  return any == 0;
}

spk_status check_segment(const spk_blob *blob, uint32_t index) {
  const Segment segment = read_segment(blob, index);
  return blob_checksum(blob->checksum, blob->data + segment.offset, segment.size) ==
                 segment.checksum
             ? SPK_OK
             : SPK_ERR_SEGMENT_CHECKSUM;
}

}  // namespace
}  // namespace rt
}  // namespace statepack

using namespace statepack::rt;

extern "C" spk_status spk_verify_report(const spk_blob *blob, uint32_t *failed_segment) {
  if (failed_segment != nullptr) *failed_segment = SPK_NO_SEGMENT;
  if (!is_open(blob)) return SPK_ERR_INVALID_ARGUMENT;
  // spk_open proved the segments tile the blob in order, so the gaps are exactly the padding.
  uint64_t end = static_cast<uint64_t>(blob->header - blob->data) + blob->header_size;
  for (uint32_t i = 0; i < blob->segment_count; ++i) {
    const Segment segment = read_segment(blob, i);
    spk_status status = all_zero(blob->data + end, segment.offset - end) ? check_segment(blob, i)
                                                                         : SPK_ERR_PADDING_NOT_ZERO;
    if (status != SPK_OK) {
      if (failed_segment != nullptr) *failed_segment = i;
      return status;
    }
    end = segment.offset + segment.size;
  }
  return SPK_OK;
}

extern "C" spk_status spk_verify(const spk_blob *blob) {
  return spk_verify_report(blob, nullptr);
}

extern "C" spk_status spk_verify_tensor(const spk_blob *blob, const spk_tensor *t) {
  if (!is_open(blob) || t == nullptr || t->index >= blob->tensor_count) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  // Segments come from the record in the blob, not from the caller's copy of it.
  spk_tensor record;
  const spk_status status = read_tensor(blob, t->index, &record);
  if (status != SPK_OK) return status;
  const uint32_t segments[3] = {record.segment, record.quant.scale_segment,
                                record.quant.zero_point_segment};
  for (const uint32_t segment : segments) {
    if (segment == SPK_NO_SEGMENT) continue;
    const spk_status s = check_segment(blob, segment);
    if (s != SPK_OK) return s;
  }
  return SPK_OK;
}
