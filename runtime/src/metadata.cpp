// SPDX-License-Identifier: Apache-2.0
// Typed metadata entries: checked reads and lookup by key (binary search, keys are sorted).
#include <cstring>

#include "blob_internal.hpp"
#include "statepack/format.h"

namespace statepack {
namespace rt {

namespace {

// The entry's 1-byte fields, read in one call (smaller code; see fb_scalars32).
enum MetaValue { kKindValue, kBoolValue, kMetaValueCount };
constexpr FbScalarField kMetaFields[kMetaValueCount] = {
    {meta_field::kKind, 1, 0},
    {meta_field::kBoolValue, 1, 0},
};

}  // namespace

spk_status read_metadata(const spk_blob *blob, uint32_t index, spk_meta *out) {
  const FbBuffer buf = header_buffer(blob);
  FbTable table{};
  if (!fb_vector_table(buf, FbVector{blob->metadata, blob->metadata_count}, index, &table)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  // Filled in place (no second spk_meta on the stack); on failure *out is unspecified.
  FbVector key{}, text{};
  bool has_key = false, has_text = false;
  uint32_t f[kMetaValueCount];
  uint64_t int_bits = 0, float_bits = 0;
  if (!fb_string_field(buf, table, meta_field::kKey, &has_key, &key) ||
      !fb_string_field(buf, table, meta_field::kStringValue, &has_text, &text) ||
      !fb_scalars32(buf, table, kMetaFields, kMetaValueCount, f) ||
      !fb_scalar(buf, table, meta_field::kIntValue, 8, 0, &int_bits) ||
      !fb_scalar(buf, table, meta_field::kFloatValue, 8, 0, &float_bits)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (!has_key || key.count == 0 || f[kKindValue] > SPK_META_BOOL || f[kBoolValue] > 1) {
    return SPK_ERR_BAD_METADATA;
  }
  if (key.count > SPK_MAX_NAME_LENGTH) return SPK_ERR_HEADER_LIMIT;
  out->key = reinterpret_cast<const char *>(buf.data + key.pos);
  out->key_length = key.count;
  out->kind = static_cast<uint8_t>(f[kKindValue]);
  // An absent string reads as "": the header's final byte is never part of a string body, but
  // a string literal is always available.
  out->string_value = has_text ? reinterpret_cast<const char *>(buf.data + text.pos) : "";
  out->string_length = has_text ? text.count : 0;
  out->int_value = static_cast<int64_t>(int_bits);
  std::memcpy(&out->float_value, &float_bits, sizeof(double));
  out->bool_value = static_cast<int>(f[kBoolValue]);
  return SPK_OK;
}

}  // namespace rt
}  // namespace statepack

using namespace statepack::rt;

extern "C" uint32_t spk_metadata_count(const spk_blob *blob) {
  return is_open(blob) ? blob->metadata_count : 0;
}

extern "C" spk_status spk_metadata_at(const spk_blob *blob, uint32_t index, spk_meta *out) {
  if (!is_open(blob) || out == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  if (index >= blob->metadata_count) return SPK_ERR_OUT_OF_RANGE;
  return read_metadata(blob, index, out);
}

extern "C" spk_status spk_metadata_find(const spk_blob *blob, const char *key, spk_meta *out) {
  if (!is_open(blob) || key == nullptr || out == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  const size_t length = std::strlen(key);
  if (length > SPK_MAX_NAME_LENGTH) return SPK_ERR_NOT_FOUND;
  uint32_t low = 0, high = blob->metadata_count;
  while (low < high) {
    const uint32_t mid = low + (high - low) / 2;
    // Candidates are read into *out itself: the last one read is the answer when keys match.
    const spk_status status = read_metadata(blob, mid, out);
    if (status != SPK_OK) return status;
    const int c = compare_names(out->key, out->key_length, key, static_cast<uint32_t>(length));
    if (c == 0) return SPK_OK;
    if (c < 0) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return SPK_ERR_NOT_FOUND;
}
