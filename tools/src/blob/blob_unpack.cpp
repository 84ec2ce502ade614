// SPDX-License-Identifier: Apache-2.0
// Blob -> Checkpoint, so any checkpoint writer can emit a blob's tensors. Quantized tensors are
// decoded by the runtime itself, so what users check in Python is what the device computes.
#include "statepack/tools/blob/blob_unpack.hpp"

#include <cstring>

#include "statepack/statepack_zstd.h"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/float_convert.hpp"

namespace statepack {
namespace {

// Drops the pages of the blob's mapping that decoding `t` read: every tensor is decoded once.
void release_stored(const spk_tensor &t) {
  MappedFile::release(t.data, t.stored_size);
}

// A compressed tensor's raw stored bytes, decoded by the runtime's zstd add-on.
LoadedBytes decompressed_bytes(const std::string &path, const spk_tensor &t) {
  std::vector<uint8_t> workspace(spk_zstd_workspace_size(&t));
  auto out = std::make_shared<std::vector<uint8_t>>(t.decoded_size);
  check_status(path,
               spk_zstd_decode(&t, workspace.data(), workspace.size(), out->data(), out->size()),
               "tensor \"" + std::string(t.name, t.name_length) + "\"");
  release_stored(t);
  return LoadedBytes{out->data(), out};
}

// spk_dequantize, through the zstd add-on for a compressed tensor.
spk_status dequantize_any(const spk_tensor &t, float *out, size_t count) {
  if (t.codec == SPK_CODEC_RAW) return spk_dequantize(&t, out, count);
  std::vector<uint8_t> workspace(spk_zstd_dequantize_workspace_size(&t));
  return spk_zstd_dequantize(&t, workspace.data(), workspace.size(), out, count);
}

// Values decoded by the runtime, stored as F32 or narrowed to the source dtype.
LoadedBytes decoded_bytes(const std::string &path, const spk_tensor &t, DType target) {
  auto values = std::make_shared<std::vector<float>>(t.element_count);
  check_status(path, dequantize_any(t, values->data(), values->size()),
               "tensor \"" + std::string(t.name, t.name_length) + "\"");
  release_stored(t);
  if (target == DType::kF32) {
    // The floats' bytes as they are, with no second copy of the tensor.
    return LoadedBytes{reinterpret_cast<const uint8_t *>(values->data()), values};
  }
  auto out = std::make_shared<std::vector<uint8_t>>();
  if (target == DType::kF16 || target == DType::kBF16) {
    out->resize(values->size() * 2);
    for (size_t i = 0; i < values->size(); ++i) {
      const float v = (*values)[i];
      const uint16_t h = target == DType::kF16 ? f32_to_f16(v) : f32_to_bf16(v);
      (*out)[2 * i] = static_cast<uint8_t>(h);
      (*out)[2 * i + 1] = static_cast<uint8_t>(h >> 8);
    }
  } else {  // F64
    out->resize(values->size() * 8);
    for (size_t i = 0; i < values->size(); ++i) {
      const double d = (*values)[i];
      std::memcpy(out->data() + 8 * i, &d, 8);
    }
  }
  return LoadedBytes{out->data(), out};
}

}  // namespace

Checkpoint blob_to_checkpoint(const BlobFile &blob, const UnpackOptions &options) {
  Checkpoint out;
  for (const spk_tensor &t : blob.tensors()) {
    const std::string name(t.name, t.name_length);
    Tensor tensor;
    tensor.name = name;
    tensor.shape.assign(t.shape, t.shape + t.rank);
    const bool stored_as_is =
        t.quant.scheme == SPK_QUANT_NONE ||
        ((t.quant.scheme == SPK_QUANT_F16_CAST || t.quant.scheme == SPK_QUANT_BF16_CAST) &&
         !options.dequantize);
    uint8_t lossless = 0;
    check_status(blob.path(), spk_quant_lossless(&blob.blob(), &t, &lossless),
                 "tensor \"" + name + "\"");
    const auto source = static_cast<DType>(t.source_dtype);
    if (lossless != 0 && (!options.dequantize || options.lossless_source) &&
        (source == DType::kF32 || source == DType::kF16 || source == DType::kBF16)) {
      // A lossless grid: the decoded floats are the source's values, so the source dtype comes
      // back bit for bit (f16/bf16 values narrow exactly).
      tensor.dtype = source;
      tensor.size = t.element_count * (dtype_bits(tensor.dtype) / 8);
      tensor.load = [blob, t, target = tensor.dtype] {
        return decoded_bytes(blob.path(), t, target);
      };
    } else if (stored_as_is) {
      tensor.dtype = static_cast<DType>(t.dtype);
      if (t.codec == SPK_CODEC_RAW) {
        tensor.owner = blob.mapping();
        tensor.data = static_cast<const uint8_t *>(t.data);
        tensor.size = t.stored_size;
      } else {
        // Decoded when the writer gets to it, so one decoded tensor is in memory at a time.
        tensor.size = t.decoded_size;
        tensor.load = [blob, t] { return decompressed_bytes(blob.path(), t); };
      }
    } else {
      if (!options.dequantize) {
        fail_input(blob.path(), "tensor \"" + name +
                                    "\" is quantized; use --dequantize to write "
                                    "its values as floats");
      }
      const bool narrow = options.source_dtype && (source == DType::kF16 ||
                                                   source == DType::kBF16 || source == DType::kF64);
      tensor.dtype = narrow ? source : DType::kF32;
      tensor.size = t.element_count * (dtype_bits(tensor.dtype) / 8);
      tensor.load = [blob, t, target = tensor.dtype] {
        return decoded_bytes(blob.path(), t, target);
      };
    }
    out.tensors.push_back(std::move(tensor));
  }
  for (auto &[key, value] : blob.metadata()) {
    if (key.rfind("statepack.", 0) == 0) continue;
    out.metadata.emplace(key, value);
  }
  return out;
}

}  // namespace statepack

namespace statepack {

LoadedBytes dequantized_f32(const BlobFile &blob, const spk_tensor &t) {
  return decoded_bytes(blob.path(), t, DType::kF32);
}

LoadedBytes stored_bytes(const BlobFile &blob, const spk_tensor &t) {
  if (t.codec != SPK_CODEC_RAW) return decompressed_bytes(blob.path(), t);
  return LoadedBytes{static_cast<const uint8_t *>(t.data), blob.mapping()};
}

}  // namespace statepack
