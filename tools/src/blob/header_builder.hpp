// SPDX-License-Identifier: Apache-2.0
// Builds the bytes in front of a blob's segments: the FlatBuffers header and the preamble.
// Kept apart from the writer because the header is built twice, from the plan (to reserve its
// space) and after the segments are written (with their sizes and checksums), and both builds
// must have the same size: everything that makes that so lives here. Not installed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "statepack/tools/blob/blob_layout.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// The FlatBuffers header for `layout` with `metadata_entries` and `alignment`.
/// `explicit_codec`: write codec and filter even when they equal their defaults, so the
/// header's size cannot depend on which segments end up compressed.
std::vector<uint8_t> build_header(const std::map<std::string, MetaValue> &metadata_entries,
                                  const BlobLayout &layout, uint32_t alignment,
                                  bool explicit_codec);

/// The checkpoint's metadata plus the pending entries: their placeholders while the layout is
/// planned (`final` false), their values (which must have the placeholders' sizes; throws an
/// output Error otherwise) for the final header (`final` true).
std::map<std::string, MetaValue> header_metadata(const Checkpoint &checkpoint,
                                                 const PendingMetadata &pending, bool final);

/// The preamble of a blob of `blob_size` bytes whose header, right behind the preamble, is
/// `header`: magic, format version, sizes and the checksums (`algo`) of header and preamble.
std::vector<uint8_t> build_preamble(ChecksumAlgo algo, uint64_t blob_size,
                                    const std::vector<uint8_t> &header);

}  // namespace statepack
