// Hugging Face sharded checkpoints: "*.index.json" = {"metadata": {...}, "weight_map":
// {tensor name: shard file}}; the shards are safetensors or torch.save files beside it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "statepack/tools/tensor.hpp"

namespace statepack {

/// True when the file name ends in ".index.json" and the content starts like a JSON object.
bool looks_like_sharded_index(const std::string &path, const uint8_t *data, uint64_t size);

/// Reads every shard the index names (with `read_shard`) and returns exactly the tensors of
/// the weight map. Refuses shard names with path separators or "..", tensors missing from
/// their shard, and shard tensors the map does not list. The index's "metadata" entries
/// become blob metadata.
Checkpoint read_sharded_index(const std::string &path,
                              const std::function<Checkpoint(const std::string &)> &read_shard);

}  // namespace statepack
