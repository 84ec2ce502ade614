// SPDX-License-Identifier: Apache-2.0
// XXH32 and XXH64 for the device runtime, written from the xxHash specification. Blob headers
// and segments are checked with these. The streaming form lets a verifier hash a blob while it
// arrives in chunks of any size (an over-the-air update) without keeping it all in memory.
// The runtime has its own copy rather than including xxhash.h so that it keeps its rules: no
// heap, no third-party headers, any byte order, 32-bit targets. Results equal libxxhash's
// XXH32/XXH64 (tests/runtime/xxhash_test.cpp checks every length up to 4 KiB against it).
//
// Build switch: define SPK_XXHASH_PORTABLE_READS to assemble every input word from bytes with
// shifts instead of memcpy (for compilers that define no __BYTE_ORDER__ it is the default).
#pragma once

#include <cstddef>
#include <cstdint>

namespace statepack::rt {

/// XXH32 of size bytes at data; data may be null only when size is 0.
uint32_t xxh32(const void *data, size_t size, uint32_t seed);

/// XXH64 of size bytes at data; data may be null only when size is 0.
uint64_t xxh64(const void *data, size_t size, uint64_t seed);

/// Streaming XXH32: plain data of fixed size, so it can live on the stack or in static memory.
/// Fill it with xxh32_reset before use; the fields are private to xxhash.cpp.
struct Xxh32State {
  uint32_t acc[4];     // the four lanes; acc[2] still holds the seed until 16 bytes arrive
  uint64_t total;      // bytes fed so far (decides whether the lanes are used at all)
  uint8_t buffer[16];  // the start of a stripe that an update left incomplete
  uint32_t buffered;   // bytes in buffer, always < 16
};

/// Streaming XXH64; as Xxh32State, with 32-byte stripes.
struct Xxh64State {
  uint64_t acc[4];  // acc[2] still holds the seed until 32 bytes arrive
  uint64_t total;
  uint8_t buffer[32];
  uint32_t buffered;  // always < 32
};

/// Starts an XXH32 computation afresh with a seed, discarding whatever *state held.
void xxh32_reset(Xxh32State *state, uint32_t seed);

/// Feeds size more bytes (any size, 0 included; data may be null only when size is 0).
void xxh32_update(Xxh32State *state, const void *data, size_t size);

/// XXH32 of every byte fed since the reset. Does not change *state: more bytes may follow.
uint32_t xxh32_digest(const Xxh32State *state);

/// Starts an XXH64 computation afresh with a seed, discarding whatever *state held.
void xxh64_reset(Xxh64State *state, uint64_t seed);

/// Feeds size more bytes (any size, 0 included; data may be null only when size is 0).
void xxh64_update(Xxh64State *state, const void *data, size_t size);

/// XXH64 of every byte fed since the reset. Does not change *state: more bytes may follow.
uint64_t xxh64_digest(const Xxh64State *state);

}  // namespace statepack::rt
