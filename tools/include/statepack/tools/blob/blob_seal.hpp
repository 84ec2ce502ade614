// SPDX-License-Identifier: Apache-2.0
// Format 1.1's digest block on the host (schemas/FORMAT.md, "Digests and signatures"): reading
// it, checking every SHA-256 and the Ed25519 signature (libsodium), sealing a blob (adding the
// digests) and signing it. Every output is written atomically (AtomicOutput).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/signing_key.hpp"
#include "statepack/tools/core/sha256.hpp"

namespace statepack {

/// The digest block of a 1.1 preamble.
struct DigestBlock {
  uint8_t signature_algo = 0;  ///< SPK_SIGNATURE_NONE or SPK_SIGNATURE_ED25519
  Digest256 header_digest{};
  KeyId key_id{};
  Signature signature{};
};

/// The blob's digest block, nullopt for a blob without one (a 64-byte preamble). Throws an
/// input Error naming the file for a block that breaks FORMAT.md's rules (unknown algorithm,
/// nonzero reserved bytes, an unsigned blob with a key id or signature, a preamble size other
/// than 64 or 176, missing or miscounted segment_digests).
std::optional<DigestBlock> read_digest_block(const BlobFile &blob);

/// The signed message of a 1.1 preamble: SHA-256 of the domain string and preamble[0, 104).
Digest256 blob_digest(const uint8_t *preamble);

/// Checks the header's and every segment's SHA-256 (on up to `threads` threads, 0 = every
/// core); throws an input Error naming the file and the failed segment's tensors.
void verify_digests(const BlobFile &blob, const DigestBlock &block, unsigned threads = 0);

/// Checks that the blob is signed by `key`: signed at all, with this key's id, and a valid
/// signature over its blob digest (libsodium). Does not check the digests (verify_digests).
/// Throws an input Error naming the file: "not signed", "signed by another key", "signature
/// does not verify".
void check_signature(const BlobFile &blob, const DigestBlock &block, const PublicKey &key,
                     const std::string &key_path);

/// Writes `blob` (opened, and verified by the caller) with the digest block to `output`
/// atomically, signed with `key` if given: a new preamble, its header with segment_digests
/// added, the segments at their new offsets. Returns the size written. `blob` may be the file
/// at `output` (it stays mapped while the new file replaces it).
uint64_t seal_blob(const BlobFile &blob, const SecretKey *key, const std::string &output);

/// Signs `blob` into `output` (atomically; may be the same file): a blob with the digest block
/// keeps its layout and gets its signature fields and preamble checksum, one without is sealed
/// first. Checks the blob (every checksum and digest) before signing it. Returns the size.
uint64_t sign_blob(const BlobFile &blob, const SecretKey &key, const std::string &output,
                   unsigned threads = 0);

}  // namespace statepack
