// SPDX-License-Identifier: Apache-2.0
// SHA-256 on the host, from Debian's libsodium (crypto_hash_sha256): the digests of format
// 1.1's digest block (schemas/FORMAT.md, "Digests and signatures"). The device computes them
// with its own code (runtime/sign); tests hold the two to the same results.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace statepack {

/// A SHA-256 digest.
using Digest256 = std::array<uint8_t, 32>;

/// SHA-256 of size bytes at data (which may be null only when size is 0).
Digest256 sha256(const void *data, size_t size);

/// SHA-256 over bytes that arrive in pieces; equal to sha256() of their concatenation.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256 &) = delete;
  Sha256 &operator=(const Sha256 &) = delete;
  /// Feeds size more bytes.
  void update(const void *data, size_t size);
  /// The digest of everything fed; the object may not be fed afterwards.
  Digest256 final();

 private:
  struct State;  // libsodium's state, kept out of this header
  std::unique_ptr<State> state_;
};

/// Lower-case hex of `size` bytes.
std::string hex_bytes(const uint8_t *data, size_t size);

}  // namespace statepack
