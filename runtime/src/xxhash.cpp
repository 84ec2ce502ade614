// SPDX-License-Identifier: Apache-2.0
// XXH32 and XXH64 (one-shot and streaming) for the device runtime, and the public spk_xxh32 /
// spk_xxh64. The algorithm is xxHash's: four independent lanes consume 16-byte (XXH32) or
// 32-byte (XXH64) stripes, then the lanes are merged, the tail is mixed in and the result is
// avalanched. Constants and rotation counts are those of the xxHash specification.
#include "hash_xxh.hpp"

#include <cstring>
#include <type_traits>

#include "compiler.hpp"
#include "statepack/statepack.h"

// How input words are read. xxHash reads them little-endian on every platform. memcpy into a
// word lets the compiler emit one unaligned load (the input may start at any address); on a
// big-endian target one byte swap follows. Without __BYTE_ORDER__ we cannot know the order at
// compile time, so the words are assembled from bytes, which is correct everywhere.
#if !defined(SPK_XXHASH_PORTABLE_READS) && defined(__BYTE_ORDER__) && \
    defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SPK_XXHASH_READ_LE 1
#elif !defined(SPK_XXHASH_PORTABLE_READS) && defined(__BYTE_ORDER__) && \
    defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SPK_XXHASH_READ_BE 1
#endif

namespace statepack::rt {
namespace {

// The states are copied, zeroed and stored as raw memory by callers (e.g. a verifier that
// snapshots its progress), which is only sound for trivially copyable types.
static_assert(std::is_trivially_copyable<Xxh32State>::value, "Xxh32State must be plain data");
static_assert(std::is_trivially_copyable<Xxh64State>::value, "Xxh64State must be plain data");

constexpr uint32_t kP32_1 = 0x9E3779B1u;
constexpr uint32_t kP32_2 = 0x85EBCA77u;
constexpr uint32_t kP32_3 = 0xC2B2AE3Du;
constexpr uint32_t kP32_4 = 0x27D4EB2Fu;
constexpr uint32_t kP32_5 = 0x165667B1u;

constexpr uint64_t kP64_1 = 0x9E3779B185EBCA87u;
constexpr uint64_t kP64_2 = 0xC2B2AE3D27D4EB4Fu;
constexpr uint64_t kP64_3 = 0x165667B19E3779F9u;
constexpr uint64_t kP64_4 = 0x85EBCA77C2B2AE63u;
constexpr uint64_t kP64_5 = 0x27D4EB2F165667C5u;

constexpr size_t kStripe32 = 16;
constexpr size_t kStripe64 = 32;

// r is always a constant in 1..31 (1..63), so neither shift is by the full width.
inline uint32_t rotl32(uint32_t x, unsigned r) {
  return (x << r) | (x >> (32u - r));
}
inline uint64_t rotl64(uint64_t x, unsigned r) {
  return (x << r) | (x >> (64u - r));
}

inline uint32_t read32(const uint8_t *p) {
#if defined(SPK_XXHASH_READ_LE) || defined(SPK_XXHASH_READ_BE)
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
#if defined(SPK_XXHASH_READ_BE)
  v = byte_swap32(v);
#endif
  return v;
#else
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
#endif
}

inline uint64_t read64(const uint8_t *p) {
#if defined(SPK_XXHASH_READ_LE) || defined(SPK_XXHASH_READ_BE)
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
#if defined(SPK_XXHASH_READ_BE)
  v = byte_swap64(v);
#endif
  return v;
#else
  return uint64_t{read32(p)} | uint64_t{read32(p + 4)} << 32;
#endif
}

// ---- XXH32 ---------------------------------------------------------------------------------

// GCC's SLP vectorizer turns the four independent XXH32 lanes into SSE2 code that emulates the
// 32-bit multiply and runs at half the scalar speed (xxHash guards against the same thing). An
// empty asm that claims to change the lane hides it from the vectorizer and emits no instruction.
inline uint32_t keep_scalar(uint32_t lane) {
#if defined(__GNUC__)
  __asm__("" : "+r"(lane));
#endif
  return lane;
}

inline uint32_t round32(uint32_t acc, uint32_t input) {
  acc += input * kP32_2;
  acc = rotl32(acc, 13);
  return keep_scalar(acc * kP32_1);
}

inline void init32(uint32_t acc[4], uint32_t seed) {
  acc[0] = seed + kP32_1 + kP32_2;
  acc[1] = seed + kP32_2;
  acc[2] = seed;
  acc[3] = seed - kP32_1;
}

// Consumes `count` (>= 1) whole stripes and returns the first byte after them. The lanes live
// in locals during the loop so that they stay in registers rather than going through memory.
const uint8_t *stripes32(uint32_t acc[4], const uint8_t *p, size_t count) {
  uint32_t v1 = acc[0], v2 = acc[1], v3 = acc[2], v4 = acc[3];
  do {
    v1 = round32(v1, read32(p));
    v2 = round32(v2, read32(p + 4));
    v3 = round32(v3, read32(p + 8));
    v4 = round32(v4, read32(p + 12));
    p += kStripe32;
  } while (--count != 0);
  acc[0] = v1;
  acc[1] = v2;
  acc[2] = v3;
  acc[3] = v4;
  return p;
}

inline uint32_t merge32(const uint32_t acc[4]) {
  return rotl32(acc[0], 1) + rotl32(acc[1], 7) + rotl32(acc[2], 12) + rotl32(acc[3], 18);
}

// Mixes in the last size (< 16) bytes and avalanches, so every input bit reaches every output bit.
uint32_t finalize32(uint32_t h, const uint8_t *p, size_t size) {
  for (; size >= 4; size -= 4, p += 4) {
    h += read32(p) * kP32_3;
    h = rotl32(h, 17) * kP32_4;
  }
  for (; size > 0; --size, ++p) {
    h += uint32_t{*p} * kP32_5;
    h = rotl32(h, 11) * kP32_1;
  }
  h ^= h >> 15;
  h *= kP32_2;
  h ^= h >> 13;
  h *= kP32_3;
  h ^= h >> 16;
  return h;
}

// ---- XXH64 ---------------------------------------------------------------------------------

inline uint64_t round64(uint64_t acc, uint64_t input) {
  acc += input * kP64_2;
  acc = rotl64(acc, 31);
  return acc * kP64_1;
}

inline void init64(uint64_t acc[4], uint64_t seed) {
  acc[0] = seed + kP64_1 + kP64_2;
  acc[1] = seed + kP64_2;
  acc[2] = seed;
  acc[3] = seed - kP64_1;
}

// As stripes32, for 32-byte stripes.
const uint8_t *stripes64(uint64_t acc[4], const uint8_t *p, size_t count) {
  uint64_t v1 = acc[0], v2 = acc[1], v3 = acc[2], v4 = acc[3];
  do {
    v1 = round64(v1, read64(p));
    v2 = round64(v2, read64(p + 8));
    v3 = round64(v3, read64(p + 16));
    v4 = round64(v4, read64(p + 24));
    p += kStripe64;
  } while (--count != 0);
  acc[0] = v1;
  acc[1] = v2;
  acc[2] = v3;
  acc[3] = v4;
  return p;
}

// XXH64, unlike XXH32, passes each lane through one more round when merging.
inline uint64_t merge_lane64(uint64_t h, uint64_t lane) {
  h ^= round64(0, lane);
  return h * kP64_1 + kP64_4;
}

uint64_t merge64(const uint64_t acc[4]) {
  uint64_t h = rotl64(acc[0], 1) + rotl64(acc[1], 7) + rotl64(acc[2], 12) + rotl64(acc[3], 18);
  // A loop rather than four inlined copies: each copy is a chain of 64-bit multiplies, about
  // 100 bytes of Thumb-2 code, and this runs once per hash (the size budget is 8 KB).
  for (int i = 0; i < 4; ++i) h = merge_lane64(h, acc[i]);
  return h;
}

// Mixes in the last size (< 32) bytes and avalanches.
uint64_t finalize64(uint64_t h, const uint8_t *p, size_t size) {
  for (; size >= 8; size -= 8, p += 8) {
    h ^= round64(0, read64(p));
    h = rotl64(h, 27) * kP64_1 + kP64_4;
  }
  if (size >= 4) {
    h ^= uint64_t{read32(p)} * kP64_1;
    h = rotl64(h, 23) * kP64_2 + kP64_3;
    size -= 4;
    p += 4;
  }
  for (; size > 0; --size, ++p) {
    h ^= uint64_t{*p} * kP64_5;
    h = rotl64(h, 11) * kP64_1;
  }
  h ^= h >> 33;
  h *= kP64_2;
  h ^= h >> 29;
  h *= kP64_3;
  h ^= h >> 32;
  return h;
}

}  // namespace

uint32_t xxh32(const void *data, size_t size, uint32_t seed) {
  const uint8_t *p = static_cast<const uint8_t *>(data);
  uint32_t h;
  if (size >= kStripe32) {
    uint32_t acc[4];
    init32(acc, seed);
    p = stripes32(acc, p, size / kStripe32);
    h = merge32(acc);
  } else {
    h = seed + kP32_5;
  }
  // The length enters modulo 2^32, as in xxHash.
  h += static_cast<uint32_t>(size);
  return finalize32(h, p, size % kStripe32);
}

uint64_t xxh64(const void *data, size_t size, uint64_t seed) {
  const uint8_t *p = static_cast<const uint8_t *>(data);
  uint64_t h;
  if (size >= kStripe64) {
    uint64_t acc[4];
    init64(acc, seed);
    p = stripes64(acc, p, size / kStripe64);
    h = merge64(acc);
  } else {
    h = seed + kP64_5;
  }
  h += static_cast<uint64_t>(size);
  return finalize64(h, p, size % kStripe64);
}

void xxh32_reset(Xxh32State *state, uint32_t seed) {
  std::memset(state, 0, sizeof *state);
  init32(state->acc, seed);
}

// Bytes are carried in state->buffer only while a stripe is incomplete; whole stripes of the
// input are consumed straight from the caller's memory, so big chunks cost no extra copy.
void xxh32_update(Xxh32State *state, const void *data, size_t size) {
  if (size == 0) return;  // data may be null then, and memcpy must not see a null pointer
  const uint8_t *p = static_cast<const uint8_t *>(data);
  state->total += size;
  const size_t room = kStripe32 - state->buffered;
  if (size < room) {
    std::memcpy(state->buffer + state->buffered, p, size);
    state->buffered += static_cast<uint32_t>(size);
    return;
  }
  if (state->buffered != 0) {
    std::memcpy(state->buffer + state->buffered, p, room);
    stripes32(state->acc, state->buffer, 1);
    p += room;
    size -= room;
    state->buffered = 0;
  }
  if (size >= kStripe32) {
    p = stripes32(state->acc, p, size / kStripe32);
    size %= kStripe32;
  }
  if (size != 0) {
    std::memcpy(state->buffer, p, size);
    state->buffered = static_cast<uint32_t>(size);
  }
}

uint32_t xxh32_digest(const Xxh32State *state) {
  // Below one stripe the lanes were never used, and acc[2] is still the seed.
  uint32_t h = state->total >= kStripe32 ? merge32(state->acc) : state->acc[2] + kP32_5;
  h += static_cast<uint32_t>(state->total);
  return finalize32(h, state->buffer, state->buffered);
}

void xxh64_reset(Xxh64State *state, uint64_t seed) {
  std::memset(state, 0, sizeof *state);
  init64(state->acc, seed);
}

// Same scheme as xxh32_update, with 32-byte stripes.
void xxh64_update(Xxh64State *state, const void *data, size_t size) {
  if (size == 0) return;
  const uint8_t *p = static_cast<const uint8_t *>(data);
  state->total += size;
  const size_t room = kStripe64 - state->buffered;
  if (size < room) {
    std::memcpy(state->buffer + state->buffered, p, size);
    state->buffered += static_cast<uint32_t>(size);
    return;
  }
  if (state->buffered != 0) {
    std::memcpy(state->buffer + state->buffered, p, room);
    stripes64(state->acc, state->buffer, 1);
    p += room;
    size -= room;
    state->buffered = 0;
  }
  if (size >= kStripe64) {
    p = stripes64(state->acc, p, size / kStripe64);
    size %= kStripe64;
  }
  if (size != 0) {
    std::memcpy(state->buffer, p, size);
    state->buffered = static_cast<uint32_t>(size);
  }
}

uint64_t xxh64_digest(const Xxh64State *state) {
  uint64_t h = state->total >= kStripe64 ? merge64(state->acc) : state->acc[2] + kP64_5;
  h += state->total;
  return finalize64(h, state->buffer, state->buffered);
}

}  // namespace statepack::rt

extern "C" uint32_t spk_xxh32(const void *data, size_t size, uint32_t seed) {
  return statepack::rt::xxh32(data, size, seed);
}

extern "C" uint64_t spk_xxh64(const void *data, size_t size, uint64_t seed) {
  return statepack::rt::xxh64(data, size, seed);
}
