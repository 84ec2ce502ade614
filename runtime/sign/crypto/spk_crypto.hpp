// SPDX-License-Identifier: Apache-2.0
// SHA-256, SHA-512 and Ed25519 signature verification for the device add-on
// statepack::runtime_sign. Written for statepack (FIPS 180-4, RFC 8032), held to the runtime's
// rules: no heap, no exceptions, no RTTI, no OS, bounded stack, nothing but <cstddef>/<cstdint>.
// Internal to the add-on: the public C API is statepack/statepack_sign.h.
//
// Ed25519 verification policy (docs/ed25519-policy.md says the same, with the reasons):
//  * RFC 8032 section 5.1.7, cofactorless: the signature (R, S) on message M under key A is
//    accepted only if the encoding of [S]B - [k]A equals the 32 bytes R, k = SHA-512(R || A || M)
//    reduced mod L. The equation is never multiplied by the cofactor 8.
//  * S must be canonical: S < L (a signature with S + L, which the equation alone would accept,
//    is refused: signatures are not malleable).
//  * A must decode: its y coordinate must be canonical (y < p), x must exist, and x = 0 with the
//    sign bit set is refused (RFC 8032 5.1.3).
//  * A and R must not be of small order: an encoding whose y (sign bit ignored) is that of one of
//    the 8 points of order 1, 2, 4 or 8, or one of their non-canonical forms y = p and y = p + 1,
//    is refused. A small-order A would let one signature verify for every message.
//  * R is never decoded: comparing encodings refuses any R that is not the canonical encoding of
//    a point (non-canonical y, no x, negative zero).
// These are exactly the decisions of libsodium 1.0.18's crypto_sign_verify_detached (the
// differential tests in tests/sign_crypto and tests/fuzz/ed25519_fuzz.cpp demand equality on
// every input, with no allowed difference). Verification reads public data only, so it is not
// written to be constant-time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace statepack {
namespace crypto {

/// A SHA-256 computation in progress (FIPS 180-4). Plain data: copying it forks the computation.
struct Sha256 {
  uint32_t state[8];
  uint64_t length;    // bytes hashed so far
  uint8_t block[64];  // the partial block, length % 64 bytes of it
};

/// Starts a SHA-256 computation.
void sha256_init(Sha256 *ctx);
/// Hashes `size` more bytes; `data` may be null when `size` is 0. Any split of a message into
/// updates gives the same digest.
void sha256_update(Sha256 *ctx, const uint8_t *data, size_t size);
/// Writes the 32-byte digest of everything hashed; the context must be initialised again
/// before reuse.
void sha256_final(Sha256 *ctx, uint8_t digest[32]);
/// SHA-256 of one buffer.
void sha256(const uint8_t *data, size_t size, uint8_t digest[32]);

/// A SHA-512 computation in progress (FIPS 180-4). Plain data: copying it forks the computation.
struct Sha512 {
  uint64_t state[8];
  uint64_t length;     // bytes hashed so far (messages up to 2^64 - 1 bytes)
  uint8_t block[128];  // the partial block, length % 128 bytes of it
};

/// Starts a SHA-512 computation.
void sha512_init(Sha512 *ctx);
/// Hashes `size` more bytes; `data` may be null when `size` is 0.
void sha512_update(Sha512 *ctx, const uint8_t *data, size_t size);
/// Writes the 64-byte digest of everything hashed; the context must be initialised again
/// before reuse.
void sha512_final(Sha512 *ctx, uint8_t digest[64]);
/// SHA-512 of one buffer.
void sha512(const uint8_t *data, size_t size, uint8_t digest[64]);

/// True if `signature` (R || S, 64 bytes) is a valid Ed25519 signature of the `message_size`
/// bytes at `message` (null allowed when the size is 0) under `public_key`, by the policy at the
/// top of this file; false for anything else (any byte pattern is safe to pass). Uses about
/// 1.5 KiB of stack on a Cortex-M4 and no other memory.
bool ed25519_verify(const uint8_t signature[64], const uint8_t *message, size_t message_size,
                    const uint8_t public_key[32]);

}  // namespace crypto
}  // namespace statepack
