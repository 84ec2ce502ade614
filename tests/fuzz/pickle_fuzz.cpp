// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the restricted unpickler. Byte 0 picks the handlers: 0 = none (every REDUCE,
// BUILD, persistent id and GLOBAL refused), 1 = torch.save's
// (tools/src/formats/torch/torch_pickle_model.hpp: opaque objects on, so any global that is not
// dangerous becomes a class reference and calls, BUILD, SETITEMS, APPENDS and sets on it build
// opaque objects) with storages made up from their persistent ids and the object tree flattened
// into a checkpoint (modules as state_dict(), numpy scalars, object fields), 2 = the whole legacy
// torch.save file reader (through a memfd). Refusals must be statepack::Error; the result must be
// a tree of bounded depth, and an opaque object always has its args, kwargs and state slots.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "formats/torch/torch_pickle_model.hpp"
#include "fuzz/fuzz_support.hpp"
#include "fuzz/reader_checks.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/torch/pickle_reader.hpp"
#include "statepack/tools/formats/torch/torch_legacy_reader.hpp"

namespace {

using statepack::pickle::Kind;
using statepack::pickle::Value;

// Depth of the value tree, checked against the reader's own limit; a DAG is walked once per
// path, so the walk is cut off after a budget of nodes.
uint32_t depth(const Value &v, uint64_t &budget) {
  if (budget == 0) return 0;
  --budget;
  uint32_t deepest = 0;
  for (const auto &item : v.items) {
    const uint32_t d = depth(*item, budget);
    if (d > deepest) deepest = d;
  }
  for (const auto &entry : v.entries) {
    uint32_t d = depth(*entry.first, budget);
    if (d > deepest) deepest = d;
    d = depth(*entry.second, budget);
    if (d > deepest) deepest = d;
  }
  if (v.kind == Kind::kObject) {
    FUZZ_CHECK(v.items.size() >= statepack::pickle::kObjectFirstItem);
    FUZZ_CHECK(v.items[statepack::pickle::kObjectArgs]->kind == Kind::kTuple);
  }
  const bool container = v.kind == Kind::kTuple || v.kind == Kind::kList || v.kind == Kind::kDict ||
                         v.kind == Kind::kObject;
  return deepest + (container ? 1 : 0);
}

// A storage for any well-formed torch persistent id, with made-up bytes of the declared size.
std::shared_ptr<statepack::torch_model::Storage> fake_storage(
    std::map<std::string, std::shared_ptr<statepack::torch_model::Storage>> &storages,
    const Value &pid) {
  using statepack::Error;
  using statepack::ErrorKind;
  if (pid.kind != Kind::kTuple || pid.items.size() < 5 || pid.items[1]->kind != Kind::kGlobal ||
      pid.items[2]->kind != Kind::kString || pid.items[4]->kind != Kind::kInt ||
      pid.items[4]->int_value < 0) {
    throw Error(ErrorKind::kInput, "unexpected persistent id");
  }
  auto &s = storages[pid.items[2]->text];
  if (s) return s;
  auto storage = std::make_shared<statepack::torch_model::Storage>();
  storage->key = pid.items[2]->text;
  storage->dtype =
      statepack::torch_model::dtype_of_storage_class(pid.items[1]->module, pid.items[1]->name);
  if (storage->dtype == statepack::DType::kUnknown) throw Error(ErrorKind::kInput, "bad class");
  storage->untyped = pid.items[1]->name == "UntypedStorage";
  storage->numel = static_cast<uint64_t>(pid.items[4]->int_value);
  const uint64_t itemsize = storage->untyped ? 1 : statepack::dtype_bits(storage->dtype) / 8;
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(storage->numel, itemsize, &bytes) || bytes > (1u << 20)) {
    throw Error(ErrorKind::kInput, "storage too large for the fuzzer");
  }
  auto buffer = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(bytes), 0x3c);
  storage->data = buffer->data();
  storage->size = bytes;
  storage->owner = buffer;
  s = storage;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  const std::vector<uint8_t> bytes(data + 1, data + size);
  const uint8_t *p = bytes.empty() ? nullptr : bytes.data();
  try {
    if (mode == 2) {
      const statepack::fuzz::MemFile file(p, bytes.size());
      (void)statepack::looks_like_torch_legacy(p, bytes.size());
      statepack::fuzz::check_checkpoint(statepack::read_torch_legacy(file.path()));
      return 0;
    }
    std::map<std::string, std::shared_ptr<statepack::torch_model::Storage>> storages;
    statepack::pickle::Handlers handlers;
    if (mode == 1) {
      handlers = statepack::torch_model::make_handlers(
          [&storages](const Value &pid) { return fake_storage(storages, pid); });
    }
    const statepack::pickle::Limits limits;
    const auto [root, end] = statepack::pickle::read_pickle(p, bytes.size(), handlers, limits);
    FUZZ_CHECK(root != nullptr && end <= bytes.size());
    uint64_t budget = 100000;
    FUZZ_CHECK(depth(*root, budget) <= limits.max_depth + 1);
    (void)statepack::pickle::describe(*root);
    if (mode == 1) {
      statepack::fuzz::check_checkpoint(statepack::torch_model::flatten("fuzz.pt", root, false));
      statepack::fuzz::check_checkpoint(statepack::torch_model::flatten("fuzz.pt", root, true));
    }
  } catch (const statepack::Error &) {
  }
  return 0;
}
