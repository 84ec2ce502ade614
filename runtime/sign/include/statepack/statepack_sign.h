/* SPDX-License-Identifier: Apache-2.0 */
/* statepack signed-blob add-on (statepack::runtime_sign): checks format 1.1's SHA-256 digests
 * and Ed25519 signature (schemas/FORMAT.md, "Digests and signatures") on the device, in memory
 * (spk_verify_signature) or while an update arrives (spk_signed_stream_*). Like the core: no
 * heap, no OS, bounded stack; SHA-256 and Ed25519 are the add-on's own (runtime/sign/crypto),
 * or the platform's through a spk_signature_verifier hook (e.g. PSA Crypto).
 *
 * Policy: a blob passes only if it carries the digest block, is signed (Ed25519), names the
 * key given (key id), its header matches its SHA-256, the signature over its blob digest
 * verifies (RFC 8032, cofactorless, canonical S, small-order keys and R refused: libsodium's
 * decisions) and, unless only the header is asked for, every segment matches its SHA-256.
 * An unsigned blob is always refused (SPK_ERR_UNSIGNED): there is no "signature optional" mode.
 * Call spk_open first: the core's checks (xxHash, structure) are not repeated here. */
#ifndef STATEPACK_STATEPACK_SIGN_H
#define STATEPACK_STATEPACK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "statepack/statepack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The add-on's own failures, numbered after the core's (500: authenticity). spk_status_str
 * does not know them ("unknown status"; the core has no room for the strings):
 * spk_sign_status_str does, and every other code it passes to spk_status_str. The digest
 * mismatches use the core's codes: SPK_ERR_HEADER_CHECKSUM for the header's SHA-256,
 * SPK_ERR_SEGMENT_CHECKSUM for a segment's; a malformed digest block is SPK_ERR_BAD_PREAMBLE,
 * missing or miscounted segment digests SPK_ERR_HEADER_MALFORMED. */
#define SPK_ERR_UNSIGNED ((spk_status)500)  /* no digest block, or signature algorithm "none" */
#define SPK_ERR_SIGNATURE ((spk_status)501) /* another key's id, or the signature is invalid */

/* Flags of spk_verify_signature_with. */
#define SPK_SIGN_HEADER_ONLY 0x1u /* skip the segments' SHA-256 (check them later, one by one) */

/* A signature check the platform provides instead of the built-in Ed25519 (e.g. PSA Crypto's
 * psa_verify_message with PSA_ALG_PURE_EDDSA over the 32-byte digest as the message). Gets the
 * blob digest (the signed message), the key given to the verify call, the blob's signature
 * and the caller's context; returns SPK_OK if the signature is valid, any failure otherwise
 * (which the verify call returns unchanged). */
typedef spk_status (*spk_signature_verifier)(const uint8_t digest[32], const uint8_t public_key[32],
                                             const uint8_t signature[64], void *context);

/* The built-in verifier: Ed25519 (RFC 8032) of `digest` as the message. SPK_OK or
 * SPK_ERR_SIGNATURE; `context` is unused. */
spk_status spk_ed25519_verifier(const uint8_t digest[32], const uint8_t public_key[32],
                                const uint8_t signature[64], void *context);

/* Checks an opened blob (spk_open) against `public_key` (32 bytes, RFC 8032 encoding; statepack
 * pubkey prints it as a C array): digest block, key id, header SHA-256, Ed25519 signature, then
 * every segment's SHA-256. SPK_OK, or the first failure (see the codes above). Reads the whole
 * blob once; stack: the Ed25519 verification's (see README's table), no other memory. */
spk_status spk_verify_signature(const spk_blob *blob, const uint8_t public_key[32]);

/* spk_verify_signature with `flags` (SPK_SIGN_HEADER_ONLY: stop after the signature, so
 * authenticity costs O(header) and segments are checked by spk_verify_segment_digest when
 * used) and a platform `verifier` (NULL: spk_ed25519_verifier) called with `context`. */
spk_status spk_verify_signature_with(const spk_blob *blob, const uint8_t public_key[32],
                                     uint32_t flags, spk_signature_verifier verifier,
                                     void *context);

/* Checks one segment's SHA-256 against the header's segment_digests: SPK_OK,
 * SPK_ERR_SEGMENT_CHECKSUM, SPK_ERR_OUT_OF_RANGE past the last segment, SPK_ERR_UNSIGNED for
 * a blob without digests. Trust it after spk_verify_signature_with(..., SPK_SIGN_HEADER_ONLY)
 * returned SPK_OK for the same blob (the signature binds the digests). */
spk_status spk_verify_segment_digest(const spk_blob *blob, uint32_t segment);

/* What the digest block says, without checking the signature (for logs). */
typedef struct spk_signature_info {
  uint8_t digest_algo;    /* 0: no digest block; 1: SHA-256 */
  uint8_t signature_algo; /* 0: unsigned; 1: Ed25519 */
  uint8_t key_id[8];      /* first 8 bytes of SHA-256 of the signer's public key */
} spk_signature_info;

/* Fills *info from an opened blob (a blob without the block gives zeros). SPK_ERR_BAD_PREAMBLE
 * for a malformed block. */
spk_status spk_signature_info_get(const spk_blob *blob, spk_signature_info *info);

/* spk_status_str for the add-on's codes too. */
const char *spk_sign_status_str(spk_status status);

/* ---- over-the-air (stream) ------------------------------------------------------------- */

/* spk_stream (statepack.h) plus the signature: the same bytes go through the core's checks,
 * and through SHA-256 here. A forged update fails on the byte that completes the header,
 * before any segment byte is accepted: the signature is checked then, and a chunk that holds
 * the header's end and segment bytes is checked up to the header's end first. A changed
 * segment byte fails at the segment's last byte (its SHA-256). So firmware that writes each
 * chunk only after spk_signed_stream_feed accepted it never stores a byte of a forged update's
 * segments, and switches to the update only after spk_signed_stream_finish returned SPK_OK:
 *
 *   spk_signed_stream st;
 *   static uint8_t header[2048];
 *   spk_signed_stream_begin(&st, header, sizeof header, public_key, NULL, NULL);
 *   while (receive(chunk, &n)) {
 *     if (spk_signed_stream_feed(&st, chunk, n) != SPK_OK) abandon_update();
 *     stage(chunk, n);                        // into the inactive slot
 *   }
 *   if (spk_signed_stream_finish(&st) == SPK_OK) switch_to_update();
 *
 * A segment's bytes are staged before its digest is known (the digest is checked at its end):
 * stage, then commit. Memory: this struct (fixed size: 608 bytes on Cortex-M) and the header
 * buffer, as for spk_stream. The fields are private. */
typedef struct spk_signed_stream {
  spk_stream core;
  spk_signature_verifier verifier; /* NULL: built-in Ed25519 */
  void *context;
  uint64_t position;       /* blob bytes accepted */
  uint64_t header_end;     /* known once the preamble checked out */
  uint64_t segment_offset; /* current segment's start and end */
  uint64_t segment_end;
  uint64_t sha_state[14]; /* SHA-256 in progress (header, then each segment) */
  uint8_t public_key[32];
  uint8_t preamble[176]; /* the digest preamble as it passes */
  uint32_t digests;      /* header offset of segment_digests' first entry */
  uint32_t segment;      /* current segment */
  uint32_t failed_segment;
  uint16_t status; /* first failure, sticky */
  uint8_t phase;
  uint8_t begun;
} spk_signed_stream;

/* Starts checking another blob against `public_key` (copied) with `verifier` (NULL: built-in)
 * and `context`; header_buffer as for spk_stream_begin. SPK_ERR_INVALID_ARGUMENT for NULL
 * arguments. */
spk_status spk_signed_stream_begin(spk_signed_stream *stream, void *header_buffer,
                                   size_t header_capacity, const uint8_t public_key[32],
                                   spk_signature_verifier verifier, void *context);

/* Feeds the next `size` bytes: SPK_OK while nothing is wrong, else the first failure, from
 * then on again without reading (as spk_stream_feed). */
spk_status spk_signed_stream_feed(spk_signed_stream *stream, const void *chunk, size_t size);

/* SPK_OK only if the whole blob arrived and every check passed, signature included. */
spk_status spk_signed_stream_finish(spk_signed_stream *stream);

/* 1 once the header is authenticated (signature valid): every later byte the stream accepts
 * is checked against a signed digest at its segment's end. 0 before, and after a failure. */
int spk_signed_stream_authenticated(const spk_signed_stream *stream);

/* Bytes accepted; after a failure, how many had arrived when it became certain (the header's
 * end for a bad signature, a segment's end for its SHA-256). */
uint64_t spk_signed_stream_offset(const spk_signed_stream *stream);

/* The segment a SPK_ERR_SEGMENT_CHECKSUM or SPK_ERR_PADDING_NOT_ZERO concerns; else
 * SPK_NO_SEGMENT. */
uint32_t spk_signed_stream_failed_segment(const spk_signed_stream *stream);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STATEPACK_STATEPACK_SIGN_H */
