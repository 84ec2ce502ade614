// Turning a blob back into a checkpoint (what `statepack unpack` writes as safetensors).
#pragma once

#include <string>

#include "statepack/tools/blob_file.hpp"
#include "statepack/tools/tensor.hpp"

namespace statepack {

/// The blob's tensors as stored (views into the blob's mapping, which they keep alive) and its
/// metadata, minus the packer's own "statepack.*" provenance entries. Throws an input Error
/// for a tensor this build cannot return as stored (compressed, or quantized to integers).
Checkpoint blob_to_checkpoint(const BlobFile &blob);

}  // namespace statepack
