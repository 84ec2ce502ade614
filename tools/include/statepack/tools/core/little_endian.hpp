// SPDX-License-Identifier: Apache-2.0
// Little-endian loads and stores, byte by byte: every file format statepack reads or writes
// (blob, safetensors, zip, pickle, npy, zstd frames) is little-endian, and a big-endian host
// must read and write the same bytes. Compilers turn these loops into single loads and stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace statepack {

/// The unsigned little-endian integer of `bytes` bytes (at most 8) at `p`.
inline uint64_t load_le(const uint8_t *p, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = bytes; i > 0; --i) value = (value << 8) | p[i - 1];
  return value;
}

/// The little-endian u16 at `p`.
inline uint16_t load_le16(const uint8_t *p) {
  return static_cast<uint16_t>(load_le(p, 2));
}

/// The little-endian u32 at `p`.
inline uint32_t load_le32(const uint8_t *p) {
  return static_cast<uint32_t>(load_le(p, 4));
}

/// The little-endian u64 at `p`.
inline uint64_t load_le64(const uint8_t *p) {
  return load_le(p, 8);
}

/// Stores the low `bytes` bytes (at most 8) of `value` at `p`, least significant first.
inline void store_le(uint8_t *p, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(value >> (8 * i));
}

/// Stores `value` at `p` as a little-endian u16.
inline void store_le16(uint8_t *p, uint16_t value) {
  store_le(p, value, 2);
}

/// Stores `value` at `p` as a little-endian u32.
inline void store_le32(uint8_t *p, uint32_t value) {
  store_le(p, value, 4);
}

/// Stores `value` at `p` as a little-endian u64.
inline void store_le64(uint8_t *p, uint64_t value) {
  store_le(p, value, 8);
}

/// Appends the low `bytes` bytes (at most 8) of `value` to `out`, least significant first.
inline void append_le(std::vector<uint8_t> &out, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

}  // namespace statepack
