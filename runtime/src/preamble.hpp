// SPDX-License-Identifier: Apache-2.0
// The blob's fixed-size preamble: parsed and checked before anything else is read.
#pragma once

#include <cstddef>
#include <cstdint>

#include "statepack/statepack.h"

namespace statepack {
namespace rt {

struct Preamble {
  uint16_t format_major;
  uint16_t format_minor;
  uint32_t preamble_size;
  uint64_t blob_size;
  uint64_t header_offset;
  uint64_t header_size;
  uint8_t checksum_algo;
  uint64_t header_checksum;
};

/// Checks magic, version, the preamble's own checksum, field ranges and that `size` bytes hold
/// the whole blob. Does not look at the header.
spk_status parse_preamble(const uint8_t *data, size_t size, Preamble *out);

}  // namespace rt
}  // namespace statepack
