// The packer's byte-grouping filter: the exponent bytes of floats end up side by side, where
// an entropy coder can exploit how few exponents a tensor uses. Inverse: runtime/zstd.
#include <type_traits>

#include "statepack/tools/segment_codec.hpp"

namespace statepack {
namespace {

template <uint32_t W, bool Rotate>
void group(const uint8_t *in, size_t count, uint8_t *out) {
  using U = std::conditional_t<W == 2, uint16_t, std::conditional_t<W == 4, uint32_t, uint64_t>>;
  for (size_t i = 0; i < count; ++i) {
    U x = 0;
    for (uint32_t k = 0; k < W; ++k)
      x = static_cast<U>(x | static_cast<U>(in[i * W + k]) << (8 * k));
    if (Rotate) x = static_cast<U>(static_cast<U>(x << 1) | (x >> (8 * W - 1)));
    for (uint32_t k = 0; k < W; ++k) out[k * count + i] = static_cast<uint8_t>(x >> (8 * k));
  }
}

}  // namespace

void byte_group(const uint8_t *in, size_t count, uint32_t width, bool rotate, uint8_t *out) {
  switch (width) {
    case 2:
      rotate ? group<2, true>(in, count, out) : group<2, false>(in, count, out);
      break;
    case 4:
      rotate ? group<4, true>(in, count, out) : group<4, false>(in, count, out);
      break;
    case 8:
      rotate ? group<8, true>(in, count, out) : group<8, false>(in, count, out);
      break;
    default:
      break;
  }
}

}  // namespace statepack
