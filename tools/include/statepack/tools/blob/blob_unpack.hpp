// SPDX-License-Identifier: Apache-2.0
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
  /// With `dequantize`: lossless grids still come back in their source dtype, bit for bit.
  bool lossless_source = false;
};

/// The blob's tensors (views into the blob's mapping, which they keep alive, or tensors whose
/// `load` decodes them when a writer asks: compressed tensors through the runtime's zstd
/// add-on, quantized ones through spk_dequantize) and its metadata, minus the packer's own
/// "statepack.*" provenance entries. Throws an input Error for a quantized tensor without
/// `dequantize`; `load` throws one for a segment that does not decode.
Checkpoint blob_to_checkpoint(const BlobFile &blob, const UnpackOptions &options = {});

}  // namespace statepack

namespace statepack {

/// The tensor's values as F32, decoded by the runtime (spk_dequantize, through the zstd add-on
/// for a compressed tensor): any quantized tensor and any real numeric dtype stored raw. Throws
/// an input Error naming the blob and the tensor if the runtime refuses (C64, damaged data).
LoadedBytes dequantized_f32(const BlobFile &blob, const spk_tensor &t);

/// The tensor's bytes in its stored dtype: a view into the mapping for a raw tensor, decoded
/// by the zstd add-on for a compressed one.
LoadedBytes stored_bytes(const BlobFile &blob, const spk_tensor &t);

}  // namespace statepack
