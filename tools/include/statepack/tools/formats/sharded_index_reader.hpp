// SPDX-License-Identifier: Apache-2.0
// Hugging Face sharded checkpoints: "*.index.json" = {"metadata": {...}, "weight_map":
// {tensor name: shard file}}; the shards are safetensors or torch.save files beside it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "statepack/tools/core/input_limits.hpp"
#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// Caps on a sharded index, checked before the index is parsed (size) and before any shard is
/// opened (tensors, shards), so a hostile index costs neither memory nor a walk over thousands
/// of files. Every one can be raised through its environment variable (input_limits.hpp).
struct IndexLimits {
  /// Bytes of the index JSON. An index holds about 100 bytes per tensor, so the default of
  /// 128 MiB fits an index of as many tensors as a blob can hold; the JSON tree nlohmann builds
  /// is several times the text, which is why the text is capped at all.
  uint64_t max_bytes = configured_limit(kEnvIndexMaxBytes, uint64_t{128} << 20);
  /// weight_map entries; the default is the blob's tensor limit (more could only be packed
  /// after --select narrows them, hence configurable).
  uint64_t max_tensors = configured_limit(kEnvIndexMaxTensors, 1'000'000);
  /// Distinct shard files. Every shard stays mapped while the blob is written (its tensors
  /// point into it), so the shard count is also the count of mappings and open files.
  uint64_t max_shards = configured_limit(kEnvIndexMaxShards, 10'000);
};

/// True when the file name ends in ".index.json" and the content starts like a JSON object.
bool looks_like_sharded_index(const std::string &path, const uint8_t *data, uint64_t size);

/// Reads every shard the index names (with `read_shard`) and returns exactly the tensors of
/// the weight map. Refuses shard names with path separators or "..", tensors missing from
/// their shard, and shard tensors the map does not list. The index's "metadata" entries
/// become blob metadata. An index past `limits` is an input Error naming the file, the limit
/// and the variable that raises it.
Checkpoint read_sharded_index(const std::string &path,
                              const std::function<Checkpoint(const std::string &)> &read_shard,
                              const IndexLimits &limits = {});

}  // namespace statepack
