// SPDX-License-Identifier: Apache-2.0
// The compiler features the runtime relies on, named once. The runtime targets GCC and Clang
// (host and arm-none-eabi); keeping the builtins here means a port to another compiler changes
// this file alone.
#pragma once

#include <cstdint>

// Keeps a function out of its callers, so its frame is never stacked on theirs: the stack
// budget of every API call (512 bytes on a Cortex-M4) is met by splitting deep call chains
// into stages whose frames come and go one after another.
#define SPK_NOINLINE __attribute__((noinline))

namespace statepack {
namespace rt {

/// a * b into *product; true if the exact product does not fit in 64 bits.
inline bool mul_overflows(uint64_t a, uint64_t b, uint64_t *product) {
  return __builtin_mul_overflow(a, b, product);
}

/// The bytes of `v` in reverse order.
inline uint32_t byte_swap32(uint32_t v) {
  return __builtin_bswap32(v);
}

/// The bytes of `v` in reverse order.
inline uint64_t byte_swap64(uint64_t v) {
  return __builtin_bswap64(v);
}

}  // namespace rt
}  // namespace statepack
