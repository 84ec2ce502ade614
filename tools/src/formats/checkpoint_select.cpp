// SPDX-License-Identifier: Apache-2.0
// --select: one sub-tree of a nested checkpoint (e.g. "model" of a training checkpoint),
// applied after flattening so it works the same for every input format.
#include <set>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/checkpoint_select.hpp"

namespace statepack {
namespace {

// The name below `key`, or false when `name` is not under it.
bool strip_prefix(const std::string &name, const std::string &key, std::string *rest) {
  if (name.size() <= key.size() + 1 || name.compare(0, key.size(), key) != 0 ||
      name[key.size()] != '.') {
    return false;
  }
  *rest = name.substr(key.size() + 1);
  return true;
}

std::string top_level_keys(const Checkpoint &c) {
  std::set<std::string> keys;
  for (const Tensor &t : c.tensors) keys.insert(t.name.substr(0, t.name.find('.')));
  for (const auto &entry : c.metadata) keys.insert(entry.first.substr(0, entry.first.find('.')));
  std::string out;
  for (const std::string &k : keys) {
    if (out.size() > 300) return out + ", ...";
    out += (out.empty() ? "" : ", ") + k;
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace

Checkpoint select_subtree(Checkpoint checkpoint, const std::string &key, const std::string &path) {
  if (key.empty()) fail_usage("--select needs a key, e.g. --select model");
  Checkpoint out;
  for (Tensor &t : checkpoint.tensors) {
    std::string rest;
    if (strip_prefix(t.name, key, &rest)) {
      t.name = std::move(rest);
      out.tensors.push_back(std::move(t));
    }
  }
  if (out.tensors.empty()) {
    fail_usage("--select " + key + ": " + path + " has no tensors under \"" + key +
               "\"; its top-level keys are: " + top_level_keys(checkpoint));
  }
  for (auto &[name, value] : checkpoint.metadata) {
    std::string rest;
    if (strip_prefix(name, key, &rest)) out.metadata.emplace(std::move(rest), std::move(value));
  }
  for (OpaqueObject &object : checkpoint.opaque_objects) {
    std::string rest;
    if (object.path == key) {
      object.path.clear();
      out.opaque_objects.push_back(std::move(object));
    } else if (strip_prefix(object.path, key, &rest)) {
      object.path = std::move(rest);
      out.opaque_objects.push_back(std::move(object));
    }
  }
  return out;
}

}  // namespace statepack
