// SPDX-License-Identifier: Apache-2.0
// How torch.save's pickles map onto statepack's model: the exact globals we allow, what each
// allowed call builds (symbolically), and how a tensor's bytes are cut from its storage.
// Shared by the zip and the legacy reader. Private to tools/src.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "statepack/tools/core/dtype.hpp"
#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/formats/torch/pickle_reader.hpp"

namespace statepack::torch_model {

/// Extension tags of pickle::Value for torch objects.
enum Tag : int { kStorage = 1, kTensor = 2 };

/// A storage as a persistent id names it; bytes are attached by the reader.
struct Storage {
  std::string key;
  DType dtype = DType::kUnknown;
  bool untyped = false;  ///< numel counts bytes (torch.UntypedStorage)
  uint64_t numel = 0;    ///< as declared in the persistent id
  // Legacy format views: this storage is [view_offset, +numel) elements of `root_key`.
  std::string root_key;
  uint64_t view_offset = 0;
  // Filled in by the reader once the record is located:
  const uint8_t *data = nullptr;
  uint64_t size = 0;  ///< bytes available for this storage
  std::shared_ptr<const void> owner;
};

/// A tensor as _rebuild_tensor_v2/v3 describes it: a strided view of a storage.
struct TensorView {
  std::shared_ptr<Storage> storage;
  DType dtype = DType::kUnknown;
  uint64_t offset = 0;  ///< in elements
  std::vector<uint64_t> shape;
  std::vector<uint64_t> stride;  ///< in elements
};

/// Parses a persistent id tuple into a Storage (the reader decides which form it expects).
using StorageLoader = std::function<std::shared_ptr<Storage>(const pickle::Value &pid)>;

/// The allowlist and handlers for torch.save pickles. `load_storage` turns persistent ids
/// into storages; the same key must give the same Storage object.
pickle::Handlers make_handlers(StorageLoader load_storage);

/// The dtype a storage class global (torch.FloatStorage, ...) stands for, or kUnknown.
DType dtype_of_storage_class(const std::string &module, const std::string &name);

/// Materialises a tensor: checks the view lies inside its storage (overflow-checked), and
/// returns a zero-copy view when it is contiguous and little-endian, else a gathered copy
/// (byte-swapped when `big_endian`). `where` prefixes error messages.
Tensor materialise(const std::string &where, const std::string &name, const TensorView &view,
                   bool big_endian);

/// Flattens the object tree: nested dicts/lists become dotted names, tensors become tensors,
/// ints/floats/strings/bools become typed metadata, None is skipped. Opaque objects
/// (torch_pickle_flatten.cpp): a torch.nn.Module becomes exactly its state_dict() under its
/// path, a numpy scalar a typed number, and any other object contributes its contents (dict
/// items, list items, attributes) the way a dict would, the tensors in its call arguments by
/// path ("<path>.args.0"), and an entry in Checkpoint::opaque_objects. A file without tensors is
/// refused, saying what it holds. Errors name `where`.
Checkpoint flatten(const std::string &where, const pickle::ValuePtr &root, bool big_endian);

}  // namespace statepack::torch_model
