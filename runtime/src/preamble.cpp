// SPDX-License-Identifier: Apache-2.0
// Preamble checks, cheapest first: magic, version, preamble checksum, then field ranges.
// Truncation is found in O(1) from the recorded blob size.
#include "preamble.hpp"

#include <cstring>

#include "blob_internal.hpp"
#include "statepack/format.h"

namespace statepack {
namespace rt {
namespace {

constexpr uint8_t kMagic[8] = {SPK_MAGIC_0, SPK_MAGIC_1, SPK_MAGIC_2, SPK_MAGIC_3,
                               SPK_MAGIC_4, SPK_MAGIC_5, SPK_MAGIC_6, SPK_MAGIC_7};
// Larger preambles (future minor versions) are allowed up to this size.
constexpr uint32_t kMaxPreambleSize = 4096;

}  // namespace

spk_status parse_preamble(const uint8_t *data, size_t size, Preamble *out) {
  // A short buffer that does not even start like a blob is "not a blob", not "truncated".
  const size_t magic_bytes = size < sizeof(kMagic) ? size : sizeof(kMagic);
  if (std::memcmp(data, kMagic, magic_bytes) != 0) return SPK_ERR_BAD_MAGIC;
  if (size < SPK_PREAMBLE_SIZE_V1) return SPK_ERR_TRUNCATED;

  out->format_major = load_u16(data + SPK_PRE_FORMAT_MAJOR);
  out->format_minor = load_u16(data + SPK_PRE_FORMAT_MINOR);
  if (out->format_major != SPK_FORMAT_MAJOR) return SPK_ERR_UNSUPPORTED_VERSION;

  out->preamble_size = load_u32(data + SPK_PRE_PREAMBLE_SIZE);
  if (out->preamble_size < SPK_PREAMBLE_SIZE_V1 || out->preamble_size > kMaxPreambleSize ||
      out->preamble_size % 8 != 0) {
    return SPK_ERR_BAD_PREAMBLE;
  }
  if (size < out->preamble_size) return SPK_ERR_TRUNCATED;

  out->checksum_algo = data[SPK_PRE_CHECKSUM_ALGO];
  if (out->checksum_algo != SPK_CHECKSUM_XXH64 && out->checksum_algo != SPK_CHECKSUM_XXH32) {
    return SPK_ERR_BAD_PREAMBLE;
  }
  const uint32_t checked = out->preamble_size - 8;
  if (blob_checksum(out->checksum_algo, data, checked) != load_u64(data + checked)) {
    return SPK_ERR_PREAMBLE_CHECKSUM;
  }

  // From here the fields are what the writer wrote; check they describe a possible blob.
  if (out->format_minor == 0) {
    for (uint32_t i = SPK_PRE_RESERVED; i < SPK_PRE_HEADER_CHECKSUM; ++i) {
      if (data[i] != 0) return SPK_ERR_BAD_PREAMBLE;
    }
  }
  out->blob_size = load_u64(data + SPK_PRE_BLOB_SIZE);
  out->header_offset = load_u64(data + SPK_PRE_HEADER_OFFSET);
  out->header_size = load_u64(data + SPK_PRE_HEADER_SIZE);
  out->header_checksum = load_u64(data + SPK_PRE_HEADER_CHECKSUM);
  if (out->header_offset != out->preamble_size) return SPK_ERR_BAD_PREAMBLE;
  if (out->header_size < 8 || out->header_size > SPK_MAX_HEADER_SIZE) return SPK_ERR_BAD_PREAMBLE;
  if (out->blob_size < out->header_offset + out->header_size) return SPK_ERR_BAD_PREAMBLE;
  if (out->blob_size > size) return SPK_ERR_TRUNCATED;
  return SPK_OK;
}

}  // namespace rt
}  // namespace statepack
