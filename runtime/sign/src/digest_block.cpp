// SPDX-License-Identifier: Apache-2.0
// The digest block's rules (schemas/FORMAT.md, "Digests and signatures"), shared by the blob
// and stream checks.
#include <cstring>

#include "blob_internal.hpp"
#include "sign_internal.hpp"
#include "spk_crypto.hpp"
#include "statepack/format.h"

namespace statepack {
namespace sign {

bool same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n) {
  uint8_t diff = 0;
  for (uint32_t i = 0; i < n; ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

spk_status check_digest_block(const uint8_t *p, const uint8_t public_key[32]) {
  if (rt::load_u16(p + SPK_PRE_FORMAT_MINOR) < SPK_FORMAT_MINOR_DIGESTS)
    return SPK_ERR_BAD_PREAMBLE;
  uint8_t reserved = 0;
  for (uint32_t i = SPK_PRE_RESERVED; i < SPK_PRE_HEADER_CHECKSUM; ++i) reserved |= p[i];
  for (uint32_t i = SPK_PRE_DIGEST_RESERVED; i < SPK_PRE_HEADER_DIGEST; ++i) reserved |= p[i];
  if (reserved != 0 || p[SPK_PRE_DIGEST_ALGO] != SPK_DIGEST_SHA256) return SPK_ERR_BAD_PREAMBLE;
  const uint8_t algo = p[SPK_PRE_SIGNATURE_ALGO];
  if (algo == SPK_SIGNATURE_NONE) {
    // An unsigned block must be all zero after the digest; otherwise it is malformed.
    uint8_t any = 0;
    for (uint32_t i = SPK_PRE_KEY_ID; i < SPK_PREAMBLE_SIZE_DIGESTS - 8; ++i) any |= p[i];
    return any != 0 ? SPK_ERR_BAD_PREAMBLE : SPK_ERR_UNSIGNED;
  }
  if (algo != SPK_SIGNATURE_ED25519) return SPK_ERR_BAD_PREAMBLE;
  uint8_t id[32];
  crypto::sha256(public_key, 32, id);
  return same_bytes(id, p + SPK_PRE_KEY_ID, 8) ? SPK_OK : SPK_ERR_SIGNATURE;
}

void blob_digest(const uint8_t *preamble, uint8_t digest[32]) {
  crypto::Sha256 ctx;
  crypto::sha256_init(&ctx);
  crypto::sha256_update(&ctx, reinterpret_cast<const uint8_t *>(SPK_SIGNING_DOMAIN),
                        SPK_SIGNING_DOMAIN_SIZE);
  crypto::sha256_update(&ctx, preamble, SPK_PRE_SIGNATURE);
  crypto::sha256_final(&ctx, digest);
}

spk_status find_segment_digests(const spk_blob *view, uint32_t *first) {
  constexpr uint32_t kFieldSegmentDigests = 4;  // statepack.fbs, table Header
  const rt::FbBuffer buf = rt::header_buffer(view);
  rt::FbTable root;
  rt::FbVector digests;
  if (!rt::fb_root(buf, SPK_FILE_IDENTIFIER, &root) ||
      rt::fb_field_offset(buf, root, kFieldSegmentDigests) == 0 ||
      !rt::fb_vector_field(buf, root, kFieldSegmentDigests, 32, &digests) ||
      digests.count != view->segment_count) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  *first = digests.pos;
  return SPK_OK;
}

spk_status check_signature(const uint8_t *preamble, const uint8_t digest[32],
                           const uint8_t public_key[32], spk_signature_verifier verifier,
                           void *context) {
  if (verifier == nullptr) verifier = spk_ed25519_verifier;
  return verifier(digest, public_key, preamble + SPK_PRE_SIGNATURE, context);
}

}  // namespace sign
}  // namespace statepack

extern "C" spk_status spk_ed25519_verifier(const uint8_t digest[32], const uint8_t public_key[32],
                                           const uint8_t signature[64], void *context) {
  (void)context;
  if (digest == nullptr || public_key == nullptr || signature == nullptr) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  return statepack::crypto::ed25519_verify(signature, digest, 32, public_key) ? SPK_OK
                                                                              : SPK_ERR_SIGNATURE;
}

extern "C" const char *spk_sign_status_str(spk_status status) {
  if (status == SPK_ERR_UNSIGNED) return "blob not signed";
  if (status == SPK_ERR_SIGNATURE) return "signature invalid or by another key";
  return spk_status_str(status);
}
