// SPDX-License-Identifier: Apache-2.0
// Host-side checksums of blob headers and segments, computed with Debian's libxxhash. The device
// recomputes them with its own implementation (runtime/src/xxhash.cpp); tests/runtime checks
// that the two agree. The blob format always hashes with seed 0 (schemas/statepack.fbs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace statepack {

/// Checksum algorithm; values equal the schema's ChecksumAlgo and the runtime's spk_checksum.
enum class ChecksumAlgo : uint8_t { kXxh64 = 1, kXxh32 = 2 };

/// Checksum (seed 0) of size bytes at data, which may be null only when size is 0; an XXH32
/// result is zero-extended. Throws an input Error for an algorithm value not listed above.
uint64_t checksum(ChecksumAlgo algo, const void *data, size_t size);

/// A checksum computed over bytes that arrive in pieces; equal to checksum() of their
/// concatenation. Copying a Hasher copies its progress; a moved-from Hasher may only be
/// assigned to or destroyed.
class Hasher {
 public:
  /// Starts an empty computation; throws an input Error for an unknown algorithm value.
  explicit Hasher(ChecksumAlgo algo);
  ~Hasher();
  Hasher(const Hasher &other);
  Hasher &operator=(const Hasher &other);
  Hasher(Hasher &&other) noexcept;
  Hasher &operator=(Hasher &&other) noexcept;

  /// Feeds size more bytes (any size; data may be null only when size is 0).
  void update(const void *data, size_t size);
  /// Checksum of everything fed so far (XXH32 zero-extended); more bytes may follow.
  uint64_t digest() const;
  /// The algorithm this Hasher computes.
  ChecksumAlgo algo() const { return algo_; }

 private:
  struct State;  // the libxxhash state, kept out of this header so includers need no xxhash.h
  ChecksumAlgo algo_;
  std::unique_ptr<State> state_;
};

/// The lower-case name of an algorithm ("xxh64", "xxh32"); "unknown" for any other value.
std::string checksum_name(ChecksumAlgo algo);

/// The algorithm named exactly "xxh64" or "xxh32" (lower case), nullopt for anything else.
std::optional<ChecksumAlgo> checksum_from_name(std::string_view name);

/// A 64-bit value as exactly 16 lower-case hex digits, zero-padded ("00000000deadbeef").
std::string hex64(uint64_t value);

}  // namespace statepack
