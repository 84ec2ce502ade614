// SPDX-License-Identifier: Apache-2.0
// Signature and digest checks of a blob in memory (statepack_sign.h).
#include <cstring>

#include "blob_internal.hpp"
#include "sign_internal.hpp"
#include "spk_crypto.hpp"
#include "statepack/format.h"

using namespace statepack;

namespace {

// The preamble size of an opened blob: the header starts right behind it.
uint64_t preamble_size(const spk_blob *blob) {
  return static_cast<uint64_t>(blob->header - blob->data);
}

spk_status check_segment(const spk_blob *blob, uint32_t digests, uint32_t index) {
  const rt::Segment s = rt::read_segment(blob, index);
  uint8_t digest[32];
  crypto::sha256(blob->data + s.offset, static_cast<size_t>(s.size), digest);
  return sign::same_bytes(digest, blob->header + digests + 32u * index, 32)
             ? SPK_OK
             : SPK_ERR_SEGMENT_CHECKSUM;
}

// Header SHA-256 and signature; *digests gets the segment digests' place.
spk_status check_header_and_signature(const spk_blob *blob, const uint8_t public_key[32],
                                      spk_signature_verifier verifier, void *context,
                                      uint32_t *digests) {
  const uint8_t *p = blob->data;
  if (preamble_size(blob) == SPK_PREAMBLE_SIZE_V1) return SPK_ERR_UNSIGNED;
  if (preamble_size(blob) != SPK_PREAMBLE_SIZE_DIGESTS) return SPK_ERR_BAD_PREAMBLE;
  spk_status status = sign::check_digest_block(p, public_key);
  if (status != SPK_OK) return status;
  uint8_t digest[32];
  crypto::sha256(blob->header, blob->header_size, digest);
  if (!sign::same_bytes(digest, p + SPK_PRE_HEADER_DIGEST, 32)) return SPK_ERR_HEADER_CHECKSUM;
  status = sign::find_segment_digests(blob, digests);
  if (status != SPK_OK) return status;
  sign::blob_digest(p, digest);
  return sign::check_signature(p, digest, public_key, verifier, context);
}

}  // namespace

extern "C" spk_status spk_verify_signature_with(const spk_blob *blob, const uint8_t public_key[32],
                                                uint32_t flags, spk_signature_verifier verifier,
                                                void *context) {
  if (!rt::is_open(blob) || public_key == nullptr || (flags & ~SPK_SIGN_HEADER_ONLY) != 0) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  uint32_t digests = 0;
  const spk_status status =
      check_header_and_signature(blob, public_key, verifier, context, &digests);
  if (status != SPK_OK || (flags & SPK_SIGN_HEADER_ONLY) != 0) return status;
  for (uint32_t i = 0; i < blob->segment_count; ++i) {
    if (check_segment(blob, digests, i) != SPK_OK) return SPK_ERR_SEGMENT_CHECKSUM;
  }
  return SPK_OK;
}

extern "C" spk_status spk_verify_signature(const spk_blob *blob, const uint8_t public_key[32]) {
  return spk_verify_signature_with(blob, public_key, 0, nullptr, nullptr);
}

extern "C" spk_status spk_verify_segment_digest(const spk_blob *blob, uint32_t segment) {
  if (!rt::is_open(blob)) return SPK_ERR_INVALID_ARGUMENT;
  if (preamble_size(blob) != SPK_PREAMBLE_SIZE_DIGESTS) return SPK_ERR_UNSIGNED;
  if (segment >= blob->segment_count) return SPK_ERR_OUT_OF_RANGE;
  uint32_t digests = 0;
  const spk_status status = sign::find_segment_digests(blob, &digests);
  return status != SPK_OK ? status : check_segment(blob, digests, segment);
}

extern "C" spk_status spk_signature_info_get(const spk_blob *blob, spk_signature_info *info) {
  if (!rt::is_open(blob) || info == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  std::memset(info, 0, sizeof *info);
  if (preamble_size(blob) == SPK_PREAMBLE_SIZE_V1) return SPK_OK;
  const uint8_t *p = blob->data;
  if (preamble_size(blob) != SPK_PREAMBLE_SIZE_DIGESTS ||
      p[SPK_PRE_DIGEST_ALGO] != SPK_DIGEST_SHA256 ||
      p[SPK_PRE_SIGNATURE_ALGO] > SPK_SIGNATURE_ED25519) {
    return SPK_ERR_BAD_PREAMBLE;
  }
  info->digest_algo = p[SPK_PRE_DIGEST_ALGO];
  info->signature_algo = p[SPK_PRE_SIGNATURE_ALGO];
  std::memcpy(info->key_id, p + SPK_PRE_KEY_ID, 8);
  return SPK_OK;
}
