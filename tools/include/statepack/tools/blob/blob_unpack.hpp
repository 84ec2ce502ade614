// Turning a blob back into a checkpoint (what `statepack unpack` writes as safetensors).
#pragma once

#include <string>

#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// How quantized tensors come out of `unpack`.
struct UnpackOptions {
  /// Decode quantized tensors through the runtime's spk_dequantize; otherwise they are refused.
  bool dequantize = false;
  /// With `dequantize`: write the source dtype (F16, BF16, F64) instead of F32.
  bool source_dtype = false;
};

/// The blob's tensors (views into the blob's mapping, which they keep alive, or tensors whose
/// `load` decodes them when a writer asks: compressed tensors through the runtime's zstd
/// add-on, quantized ones through spk_dequantize) and its metadata, minus the packer's own
/// "statepack.*" provenance entries. Throws an input Error for a quantized tensor without
/// `dequantize`; `load` throws one for a segment that does not decode.
Checkpoint blob_to_checkpoint(const BlobFile &blob, const UnpackOptions &options = {});

}  // namespace statepack
