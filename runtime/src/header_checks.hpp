// SPDX-License-Identifier: Apache-2.0
// The checks spk_open runs on a header whose checksum matched, shared with the stream verifier
// (stream_verify.cpp) so that a blob checked as it arrives gets exactly spk_open's verdict.
#pragma once

#include <cstdint>

#include "statepack/statepack.h"

namespace statepack {
namespace rt {

/// Header structure (root table, vectors, limits, alignment), segment tiling from `header_end`
/// to candidate->size, every tensor record and every metadata entry, in spk_open's order.
/// `candidate` must have header, header_size, size, data and checksum set; on success its
/// vector positions, counts and alignment are filled. Reads only the header bytes.
spk_status check_header(spk_blob *candidate, uint64_t header_end);

}  // namespace rt
}  // namespace statepack
