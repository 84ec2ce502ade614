// SPDX-License-Identifier: Apache-2.0
// The legacy torch.save format (before 1.6, or _use_new_zipfile_serialization=False): five
// pickles back to back (magic number, protocol version, sys_info, the object, the sorted list
// of storage keys), then each storage's element count (int64) and little-endian bytes.
#include <cstring>
#include <map>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/formats/torch/torch_legacy_reader.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "torch_pickle_model.hpp"

namespace statepack {
namespace {

using pickle::Kind;
using torch_model::Storage;

// pickle.dumps(0x1950a86a20f9469cfc6c, protocol=p): PROTO p, for p >= 4 a FRAME of 13 bytes,
// then LONG1 of 10 bytes and STOP (the body below). torch.save writes p = 2 unless its
// pickle_protocol says otherwise. Compared as bytes because the number does not fit the
// unpickler's 64-bit integers.
constexpr uint8_t kMagicBody[13] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                    0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
constexpr uint8_t kMagicFrame[9] = {0x95, 0x0d, 0, 0, 0, 0, 0, 0, 0};
constexpr int64_t kProtocolVersion = 1001;

struct LegacyStorages {
  std::map<std::string, std::shared_ptr<Storage>> roots;
  std::map<std::string, std::shared_ptr<Storage>> views;
};

std::shared_ptr<Storage> load_legacy_storage(LegacyStorages &all, const pickle::Value &pid) {
  // ('storage', StorageClass, root_key, location, numel, view_metadata)
  if (pid.kind != Kind::kTuple || pid.items.size() != 6 || pid.items[0]->kind != Kind::kString ||
      pid.items[0]->text != "storage" || pid.items[1]->kind != Kind::kGlobal ||
      pid.items[2]->kind != Kind::kString || pid.items[4]->kind != Kind::kInt ||
      pid.items[4]->int_value < 0) {
    throw Error(ErrorKind::kInput, "unexpected persistent id (not a legacy torch storage)");
  }
  const DType dtype = torch_model::dtype_of_storage_class(pid.items[1]->module, pid.items[1]->name);
  if (dtype == DType::kUnknown || pid.items[1]->name == "UntypedStorage") {
    throw Error(ErrorKind::kInput, "storage class " + pid.items[1]->module + "." +
                                       pid.items[1]->name + " is not supported");
  }
  const std::string &root_key = pid.items[2]->text;
  auto &root = all.roots[root_key];
  if (!root) {
    root = std::make_shared<Storage>();
    root->key = root_key;
    root->dtype = dtype;
    root->numel = static_cast<uint64_t>(pid.items[4]->int_value);
  } else if (root->dtype != dtype ||
             root->numel != static_cast<uint64_t>(pid.items[4]->int_value)) {
    throw Error(ErrorKind::kInput, "storage \"" + root_key + "\" is described two ways");
  }
  const pickle::Value &view = *pid.items[5];
  if (view.kind == Kind::kNone) return root;
  // view_metadata = (view_key, offset, size): a slice of the root storage, in elements.
  if (view.kind != Kind::kTuple || view.items.size() != 3 || view.items[0]->kind != Kind::kString ||
      view.items[1]->kind != Kind::kInt || view.items[2]->kind != Kind::kInt ||
      view.items[1]->int_value < 0 || view.items[2]->int_value < 0) {
    throw Error(ErrorKind::kInput, "malformed storage view metadata");
  }
  auto &slice = all.views[view.items[0]->text];
  if (!slice) {
    slice = std::make_shared<Storage>();
    slice->key = view.items[0]->text;
    slice->dtype = dtype;
    slice->root_key = root_key;
    slice->view_offset = static_cast<uint64_t>(view.items[1]->int_value);
    slice->numel = static_cast<uint64_t>(view.items[2]->int_value);
  }
  return slice;
}

uint64_t read_i64(const std::string &path, const MappedFile &file, uint64_t &offset) {
  if (file.size() - offset < 8)
    fail_input(path, "truncated: storage size missing at offset " + std::to_string(offset));
  const uint64_t v = load_le64(file.data() + offset);
  offset += 8;
  return v;
}

// The length of the magic number pickle at the start of `data`, or 0 if there is none.
uint64_t magic_length(const uint8_t *data, uint64_t size) {
  if (size < 2 + sizeof kMagicBody || data[0] != 0x80 || data[1] < 2 || data[1] > 5) return 0;
  uint64_t at = 2;
  if (data[1] >= 4 && size >= at + sizeof kMagicFrame + sizeof kMagicBody &&
      std::memcmp(data + at, kMagicFrame, sizeof kMagicFrame) == 0) {
    at += sizeof kMagicFrame;
  }
  return std::memcmp(data + at, kMagicBody, sizeof kMagicBody) == 0 ? at + sizeof kMagicBody : 0;
}

}  // namespace

bool looks_like_torch_legacy(const uint8_t *data, uint64_t size) {
  return magic_length(data, size) != 0;
}

Checkpoint read_torch_legacy(const std::string &path) {
  const auto file = MappedFile::open(path);
  if (!looks_like_torch_legacy(file->data(), file->size())) {
    fail_input(path, "not a legacy torch.save file (magic number missing)");
  }
  uint64_t offset = magic_length(file->data(), file->size());
  LegacyStorages storages;
  pickle::ValuePtr root, keys;
  const char *stage = "protocol version";
  try {
    auto next = [&](const pickle::Handlers &handlers) {
      auto [value, end] =
          pickle::read_pickle(file->data() + offset, file->size() - offset, handlers);
      offset += end;
      return value;
    };
    const pickle::Handlers plain;  // no globals, no calls: plain data only
    const pickle::ValuePtr version = next(plain);
    if (version->kind != Kind::kInt || version->int_value != kProtocolVersion) {
      throw Error(ErrorKind::kInput, "unsupported legacy protocol version");
    }
    stage = "sys_info";
    next(plain);
    stage = "object";
    root = next(torch_model::make_handlers(
        [&storages](const pickle::Value &pid) { return load_legacy_storage(storages, pid); }));
    stage = "storage keys";
    keys = next(plain);
  } catch (const Error &e) {
    fail_input(path, std::string("legacy ") + stage + " pickle at offset " +
                         std::to_string(offset) + ": " + e.what());
  }
  if (keys->kind != Kind::kList) fail_input(path, "storage key list is not a list");

  for (const pickle::ValuePtr &key : keys->items) {
    if (key->kind != Kind::kString) fail_input(path, "a storage key is not a string");
    auto found = storages.roots.find(key->text);
    if (found == storages.roots.end()) {
      fail_input(path, "storage \"" + key->text + "\" is listed but never used");
    }
    Storage &s = *found->second;
    if (s.data != nullptr) fail_input(path, "storage \"" + key->text + "\" is listed twice");
    const uint64_t numel = read_i64(path, *file, offset);
    const uint64_t itemsize = dtype_bits(s.dtype) / 8;
    uint64_t bytes = 0;
    if (numel != s.numel) {
      fail_input(path, "storage \"" + key->text + "\" declares " + std::to_string(s.numel) +
                           " elements but its record says " + std::to_string(numel));
    }
    if (__builtin_mul_overflow(numel, itemsize, &bytes) || bytes > file->size() - offset) {
      fail_input(path, "truncated: storage \"" + key->text + "\" needs " + std::to_string(numel) +
                           " elements of " + std::to_string(itemsize) + " bytes but only " +
                           std::to_string(file->size() - offset) + " bytes remain");
    }
    s.data = file->data() + offset;
    s.size = bytes;
    s.owner = file;
    offset += bytes;
  }
  if (offset != file->size())
    fail_input(path, std::to_string(file->size() - offset) + " unexpected bytes at the end");
  for (const auto &[key, s] : storages.roots) {
    if (s->data == nullptr && s->numel != 0)
      fail_input(path, "storage \"" + key + "\" has no data");
  }
  for (auto &[key, view] : storages.views) {
    const Storage &base = *storages.roots.at(view->root_key);
    uint64_t end = 0;
    if (__builtin_add_overflow(view->view_offset, view->numel, &end) || end > base.numel) {
      fail_input(path, "storage view \"" + key + "\" lies outside storage \"" + base.key + "\"");
    }
    const uint64_t itemsize = dtype_bits(base.dtype) / 8;
    view->data = base.data + view->view_offset * itemsize;
    view->size = view->numel * itemsize;
    view->owner = file;
  }
  // Data is little-endian in this format whatever the writer's byte order.
  return torch_model::flatten(path, root, false);
}

}  // namespace statepack
