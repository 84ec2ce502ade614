// SPDX-License-Identifier: Apache-2.0
// safetensors, read: the Hugging Face checkpoint format. A u64 little-endian header length N, N
// bytes of JSON ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// space-padded), then the tensor bytes, offsets relative to the end of the header.
#pragma once

#include <cstdint>
#include <string>

#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// The largest header the reference implementation reads (and so the largest we read or write).
inline constexpr uint64_t kSafetensorsMaxHeaderSize = 100'000'000;

/// Reads `path` as safetensors, checking it as strictly as the reference reader does and a
/// little more (duplicate keys, unknown fields, rank at most SPK_MAX_RANK, NUL in names):
/// every byte after the header belongs to exactly one tensor, and each tensor's offsets hold
/// exactly shape x dtype bytes, computed without overflow.
///
/// The tensors are views into a read-only mapping of the file (each Tensor::owner keeps it
/// alive), in file order (by data offset). Metadata values come back as strings, keys as they
/// are. Throws an input Error "<path>: <what is wrong>" naming the tensor where there is one.
Checkpoint read_safetensors(const std::string &path);

/// True if `data` starts like a safetensors file: a header length that fits the limit and the
/// buffer, followed by '{'. A cheap sniff for choosing a reader, not a validation.
bool looks_like_safetensors(const uint8_t *data, uint64_t size);

}  // namespace statepack
