// Blob -> Checkpoint, so any checkpoint writer can emit a blob's tensors.
#include "statepack/tools/blob_unpack.hpp"

#include "statepack/tools/error.hpp"

namespace statepack {

Checkpoint blob_to_checkpoint(const BlobFile &blob) {
  Checkpoint out;
  for (const spk_tensor &t : blob.tensors()) {
    const std::string name(t.name, t.name_length);
    if (t.codec != SPK_CODEC_RAW) {
      fail_input(blob.path(), "tensor \"" + name + "\" is compressed; this build cannot decode it");
    }
    const bool plain = t.quant.scheme == SPK_QUANT_NONE || t.quant.scheme == SPK_QUANT_F16_CAST ||
                       t.quant.scheme == SPK_QUANT_BF16_CAST;
    if (!plain) {
      fail_input(blob.path(), "tensor \"" + name +
                                  "\" is integer-quantized and cannot be "
                                  "written as stored; this build does not dequantize");
    }
    Tensor tensor;
    tensor.name = name;
    tensor.dtype = static_cast<DType>(t.dtype);
    tensor.shape.assign(t.shape, t.shape + t.rank);
    tensor.owner = blob.mapping();
    tensor.data = static_cast<const uint8_t *>(t.data);
    tensor.size = t.stored_size;
    out.tensors.push_back(std::move(tensor));
  }
  for (auto &[key, value] : blob.metadata()) {
    if (key.rfind("statepack.", 0) == 0) continue;
    out.metadata.emplace(key, value);
  }
  return out;
}

}  // namespace statepack
