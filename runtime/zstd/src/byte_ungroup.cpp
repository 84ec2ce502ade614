// Byte ungrouping, one loop per element width so the compiler keeps the element in a register.
// Elements are assembled byte by byte, so the result is the same on big-endian hosts.
#include "byte_ungroup.hpp"

#include <type_traits>

namespace statepack {
namespace zstd_addon {
namespace {

template <uint32_t W, bool Rotate>
void ungroup(const uint8_t *streams, size_t count, uint8_t *out) {
  using U =
      typename std::conditional<W == 2, uint16_t,
                                typename std::conditional<W == 4, uint32_t, uint64_t>::type>::type;
  for (size_t i = 0; i < count; ++i) {
    U x = 0;
    for (uint32_t k = 0; k < W; ++k)
      x = static_cast<U>(x | static_cast<U>(streams[k * count + i]) << (8 * k));
    if (Rotate) x = static_cast<U>((x >> 1) | static_cast<U>(x << (8 * W - 1)));
    for (uint32_t k = 0; k < W; ++k) out[i * W + k] = static_cast<uint8_t>(x >> (8 * k));
  }
}

}  // namespace

bool byte_ungroup(const uint8_t *streams, size_t count, uint32_t width, bool rotate, uint8_t *out) {
  switch (width) {
    case 2:
      rotate ? ungroup<2, true>(streams, count, out) : ungroup<2, false>(streams, count, out);
      return true;
    case 4:
      rotate ? ungroup<4, true>(streams, count, out) : ungroup<4, false>(streams, count, out);
      return true;
    case 8:
      rotate ? ungroup<8, true>(streams, count, out) : ungroup<8, false>(streams, count, out);
      return true;
    default:
      return false;
  }
}

}  // namespace zstd_addon
}  // namespace statepack
