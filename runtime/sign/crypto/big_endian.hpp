// SPDX-License-Identifier: Apache-2.0
// Big-endian loads and stores, the byte order of SHA-2's words and lengths (FIPS 180-4), written
// byte by byte so they are right on any host and any alignment.
#pragma once

#include <cstdint>

namespace statepack {
namespace crypto {

inline uint32_t load_be32(const uint8_t *p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

inline uint64_t load_be64(const uint8_t *p) {
  return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}

inline void store_be32(uint8_t *p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

inline void store_be64(uint8_t *p, uint64_t v) {
  store_be32(p, static_cast<uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<uint32_t>(v));
}

}  // namespace crypto
}  // namespace statepack
