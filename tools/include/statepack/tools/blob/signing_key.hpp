// SPDX-License-Identifier: Apache-2.0
// Ed25519 keys for signed blobs (schemas/FORMAT.md, "Digests and signatures"), in the PEM
// forms OpenSSL writes: a secret key is PKCS#8 "PRIVATE KEY" (RFC 8410: the 32-byte seed), a
// public key SubjectPublicKeyInfo "PUBLIC KEY". Both have fixed DER prefixes, so keys from
// `openssl genpkey -algorithm ed25519` / `openssl pkey -pubout` are read as they are and ours
// are readable by openssl. Signing and verification are libsodium's (never our own code).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "statepack/tools/core/sha256.hpp"

namespace statepack {

/// An Ed25519 public key (RFC 8032 encoding).
struct PublicKey {
  std::array<uint8_t, 32> bytes{};
};

/// An Ed25519 secret key: its seed and the public key derived from it. Wiped on destruction.
struct SecretKey {
  std::array<uint8_t, 32> seed{};
  PublicKey public_key;
  ~SecretKey();
};

/// The first 8 bytes of SHA-256 of the public key (the blob's key_id field).
using KeyId = std::array<uint8_t, 8>;
/// An Ed25519 signature.
using Signature = std::array<uint8_t, 64>;

/// A new key from the system's random source (libsodium's randombytes).
SecretKey generate_key();
/// The key for a 32-byte seed.
SecretKey key_from_seed(const std::array<uint8_t, 32> &seed);

/// Reads a PEM "PRIVATE KEY" file (PKCS#8 Ed25519). Throws an input Error naming the file for
/// anything else (another algorithm, a public key, bad base64, trailing bytes).
SecretKey read_secret_key(const std::string &path);
/// Reads a PEM "PUBLIC KEY" file (Ed25519 SubjectPublicKeyInfo), strictly, like read_secret_key.
PublicKey read_public_key(const std::string &path);

/// The PEM text of a secret key (what `openssl genpkey -algorithm ed25519` writes).
std::string secret_key_pem(const SecretKey &key);
/// The PEM text of a public key (what `openssl pkey -pubout` writes).
std::string public_key_pem(const PublicKey &key);
/// The public key as a C array definition: `static const uint8_t SYMBOL[32] = {0x.., ...};`.
std::string public_key_c_array(const PublicKey &key, const std::string &symbol);

/// The blob key id of `key`.
KeyId key_id(const PublicKey &key);

/// Signs a 32-byte blob digest (the signed message, FORMAT.md) with libsodium.
Signature sign_digest(const SecretKey &key, const Digest256 &digest);
/// libsodium's crypto_sign_verify_detached of `signature` over the digest.
bool verify_digest(const PublicKey &key, const Digest256 &digest, const Signature &signature);

/// Writes NAME.key (mode 0600 from its creation) and NAME.pub. Each is written to a temporary
/// file in its directory first; without `force` it is then linked in only if nothing is at its
/// name (an existing file is never touched), with `force` it replaces a regular file. A
/// symlink, FIFO, device or directory at either name is refused. Throws an output Error.
void write_key_files(const std::string &name, const SecretKey &key, bool force);

}  // namespace statepack
