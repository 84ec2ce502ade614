// SPDX-License-Identifier: Apache-2.0
// Test fixtures: small checkpoints with owned bytes, covering dtypes, scalars, empty and tied
// tensors, and typed metadata.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "statepack/tools/core/tensor.hpp"

namespace statepack::test {

/// A tensor whose bytes are a copy of `bytes`, kept alive by the tensor itself.
inline Tensor owned_tensor(std::string name, DType dtype, std::vector<uint64_t> shape,
                           std::vector<uint8_t> bytes) {
  auto storage = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  Tensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.data = storage->data();
  t.size = storage->size();
  t.owner = storage;
  return t;
}

/// `count` bytes of a deterministic pseudo-random pattern.
inline std::vector<uint8_t> pattern_bytes(size_t count, uint32_t seed) {
  std::vector<uint8_t> out(count);
  uint32_t x = seed * 2654435761u + 1u;
  for (auto &b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return out;
}

/// f32 values as little-endian bytes.
inline std::vector<uint8_t> f32_bytes(const std::vector<float> &values) {
  std::vector<uint8_t> out(values.size() * 4);
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

/// A checkpoint with one tensor of several dtypes, a scalar, an empty tensor, two tied
/// tensors and metadata of every kind.
inline Checkpoint sample_checkpoint() {
  Checkpoint c;
  c.tensors.push_back(owned_tensor("layer.weight", DType::kF32, {3, 4},
                                   f32_bytes({1, -2, 3, -4, 5, -6, 7, -8, 0.5f, 0.25f, 0, -0.f})));
  c.tensors.push_back(owned_tensor("layer.bias", DType::kF16, {3}, {0x00, 0x3C, 0x00, 0xC0, 0, 0}));
  c.tensors.push_back(owned_tensor("embed", DType::kBF16, {2, 2}, pattern_bytes(8, 1)));
  c.tensors.push_back(owned_tensor("head.weight", DType::kBF16, {2, 2}, pattern_bytes(8, 1)));
  c.tensors.push_back(owned_tensor("steps", DType::kI64, {}, {7, 0, 0, 0, 0, 0, 0, 0}));
  c.tensors.push_back(owned_tensor("empty", DType::kF32, {0, 5}, {}));
  c.tensors.push_back(owned_tensor("mask", DType::kBool, {4}, {1, 0, 1, 1}));
  c.tensors.push_back(owned_tensor("codes", DType::kU8, {5}, {0, 1, 2, 254, 255}));
  c.tensors.push_back(owned_tensor("fp8", DType::kF8_E4M3, {2}, {0x38, 0xB8}));
  c.metadata["epoch"] = MetaValue::of_int(3);
  c.metadata["loss"] = MetaValue::of_float(0.125);
  c.metadata["finetuned"] = MetaValue::of_bool(true);
  c.metadata["arch"] = MetaValue::of_string("tiny");
  return c;
}

}  // namespace statepack::test
