// SPDX-License-Identifier: Apache-2.0
// The host's in-memory model of a checkpoint: named tensors whose bytes stay where a reader
// found them (an mmap'd file or an owned buffer), plus typed metadata.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "statepack/tools/core/dtype.hpp"
#include "statepack/tools/core/parallel.hpp"

namespace statepack {

struct QuantizedTensor;

/// Bytes produced on demand: `data` stays valid while `owner` lives.
struct LoadedBytes {
  const uint8_t *data = nullptr;
  std::shared_ptr<const void> owner;
};

/// One tensor. `data` points at `size` bytes in little-endian, C-contiguous order, kept alive by
/// `owner` (a mapped file or a buffer), so tensors can be moved without copying their bytes.
struct Tensor {
  std::string name;
  DType dtype = DType::kUnknown;
  std::vector<uint64_t> shape;
  std::shared_ptr<const void> owner;
  const uint8_t *data = nullptr;
  uint64_t size = 0;
  /// Set when the packer quantized (or cast) the tensor: `dtype`, `data` and `size` then
  /// describe the stored form, and this holds the parameters and measured quality.
  std::shared_ptr<const QuantizedTensor> quant;
  /// The dtype in the checkpoint the tensor came from; kUnknown means `dtype`.
  DType source_dtype = DType::kUnknown;
  /// Bytes computed on demand (a blob's compressed or quantized tensors, decoded for
  /// `unpack`): when set, `data` is null and this returns the tensor's `size` bytes, so that a
  /// writer holds one decoded tensor at a time instead of the whole model. Only the safetensors
  /// writer accepts such tensors.
  std::function<LoadedBytes()> load;

  /// Product of the shape (1 for a scalar); the caller has checked it does not overflow.
  uint64_t element_count() const;
};

/// A typed metadata value (the blob's MetaEntry).
struct MetaValue {
  enum class Kind : uint8_t { kString = 0, kInt = 1, kFloat = 2, kBool = 3 };
  Kind kind = Kind::kString;
  std::string string_value;
  int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;

  static MetaValue of_string(std::string value);
  static MetaValue of_int(int64_t value);
  static MetaValue of_float(double value);
  static MetaValue of_bool(bool value);
  /// The value as text (strings as they are, numbers in shortest round-trip form).
  std::string to_text() const;
};

/// Metadata whose values are still being computed when writing starts (the hashes of the input
/// files, computed on another thread while the segments are written). Each final value has its
/// placeholder's kind and size, so the header can be laid out before the values arrive.
struct PendingMetadata {
  std::map<std::string, MetaValue> placeholders;
  /// The final values, computed in the background; null: none pending. The last copy to go
  /// stops the computation early when the values were never asked for (a write that failed).
  std::shared_ptr<const BackgroundTask<std::map<std::string, MetaValue>>> values;
};

/// An object a reader recorded without running it (a class outside a pickle's allowlist):
/// where it sits in the checkpoint's tree, its class, and what was made of it, if anything.
struct OpaqueObject {
  std::string path;        ///< dotted, like tensor names; empty for the saved object itself
  std::string class_name;  ///< "module.name"
  std::string note;        ///< e.g. "torch.nn.Module, 62 tensors as in state_dict()"; may be empty
};

/// What a reader produces: tensors in file order and metadata by key.
struct Checkpoint {
  std::vector<Tensor> tensors;
  std::map<std::string, MetaValue> metadata;
  /// Opaque objects met while reading, in file order (for `inspect`; at most 10000 listed).
  std::vector<OpaqueObject> opaque_objects;
};

}  // namespace statepack
