// SPDX-License-Identifier: Apache-2.0
// What the add-on's blob and stream checks share: the digest block's rules, the blob digest,
// the header's segment_digests and the signature call. Not installed.
#pragma once

#include <cstdint>

#include "statepack/statepack_sign.h"

namespace statepack {
namespace sign {

/// Checks a 176-byte digest preamble's block against FORMAT.md and `public_key`'s id: format
/// minor, reserved bytes, digest algorithm (SPK_ERR_BAD_PREAMBLE), signature algorithm
/// (SPK_ERR_UNSIGNED for none), key id (SPK_ERR_SIGNATURE).
spk_status check_digest_block(const uint8_t *preamble, const uint8_t public_key[32]);

/// The blob digest: SHA-256 of the domain string (with its NUL) and preamble[0, 104).
void blob_digest(const uint8_t *preamble, uint8_t digest[32]);

/// Finds the header's segment_digests (required, one per segment); *first is the header offset
/// of entry 0. SPK_ERR_HEADER_MALFORMED if absent, malformed or miscounted.
spk_status find_segment_digests(const spk_blob *header_view, uint32_t *first);

/// Runs `verifier` (NULL: the built-in Ed25519) on the preamble's signature over `digest`.
spk_status check_signature(const uint8_t *preamble, const uint8_t digest[32],
                           const uint8_t public_key[32], spk_signature_verifier verifier,
                           void *context);

/// Constant-length comparison of n bytes (digests are public; this just avoids early exits
/// that would make timing depend on where a forgery differs).
bool same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n);

}  // namespace sign
}  // namespace statepack
