// SPDX-License-Identifier: Apache-2.0
// Sharded checkpoints: trust the weight map, check it against the shards both ways.
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/input_limits.hpp"
#include "statepack/tools/formats/sharded_index_reader.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/text/quote.hpp"
#include "statepack/tools/text/strict_json.hpp"

namespace statepack {
namespace {

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_shard_name(const std::string &path, const std::string &shard) {
  if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos ||
      shard.find('\\') != std::string::npos || shard.find('\0') != std::string::npos) {
    fail_input(path, "weight_map names shard \"" + quote_for_message(shard) +
                         "\"; shard names must be plain file names beside the index");
  }
}

MetaValue meta_from_json(const nlohmann::json &v) {
  if (v.is_boolean()) return MetaValue::of_bool(v.get<bool>());
  if (v.is_number_integer() && v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX) {
    return MetaValue::of_string(v.dump());
  }
  if (v.is_number_integer()) return MetaValue::of_int(v.get<int64_t>());
  if (v.is_number_float()) return MetaValue::of_float(v.get<double>());
  if (v.is_string()) return MetaValue::of_string(v.get<std::string>());
  return MetaValue::of_string(v.dump());
}

}  // namespace

bool looks_like_sharded_index(const std::string &path, const uint8_t *data, uint64_t size) {
  if (!ends_with(path, ".index.json")) return false;
  for (uint64_t i = 0; i < size; ++i) {
    if (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t') continue;
    return data[i] == '{';
  }
  return false;
}

Checkpoint read_sharded_index(const std::string &path,
                              const std::function<Checkpoint(const std::string &)> &read_shard,
                              const IndexLimits &limits) {
  const auto file = MappedFile::open(path);
  // Checked on the mapped size, before parsing: the parsed tree costs several times the text.
  if (file->size() > limits.max_bytes) {
    fail_input(path, "index JSON of " + std::to_string(file->size()) +
                         " bytes is over the limit of " + std::to_string(limits.max_bytes) +
                         " bytes" + raise_hint(kEnvIndexMaxBytes));
  }
  const nlohmann::json index = parse_strict_json(
      std::string_view(reinterpret_cast<const char *>(file->data()), file->size()), path,
      "index JSON");
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    fail_input(path, "not a sharded checkpoint index (no \"weight_map\" object)");
  }
  const nlohmann::json &weight_map = index["weight_map"];
  if (weight_map.size() > limits.max_tensors) {
    fail_input(path, "weight_map has " + std::to_string(weight_map.size()) +
                         " tensors, over the limit of " + std::to_string(limits.max_tensors) +
                         raise_hint(kEnvIndexMaxTensors));
  }
  // shard -> the tensor names the map puts there
  std::map<std::string, std::set<std::string>> by_shard;
  for (const auto &[name, shard] : weight_map.items()) {
    if (!shard.is_string())
      fail_input(path, "weight_map entry \"" + name + "\" is not a file name");
    const std::string shard_name = shard.get<std::string>();
    check_shard_name(path, shard_name);
    by_shard[shard_name].insert(name);
  }
  // Before any shard is opened, so a refused index has not touched a single shard file.
  if (by_shard.size() > limits.max_shards) {
    fail_input(path, "weight_map names " + std::to_string(by_shard.size()) +
                         " shard files, over the limit of " + std::to_string(limits.max_shards) +
                         raise_hint(kEnvIndexMaxShards));
  }
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);

  Checkpoint out;
  for (const auto &[shard, names] : by_shard) {
    Checkpoint part = read_shard(dir + shard);
    std::set<std::string> found;
    for (Tensor &t : part.tensors) {
      if (names.count(t.name) == 0) {
        fail_input(dir + shard, "tensor \"" + t.name + "\" is not in the index's weight_map");
      }
      found.insert(t.name);
      out.tensors.push_back(std::move(t));
    }
    for (const std::string &name : names) {
      if (found.count(name) == 0) {
        fail_input(path, "weight_map puts \"" + name + "\" in " + shard + ", which lacks it");
      }
    }
    for (auto &[key, value] : part.metadata) out.metadata.emplace(key, std::move(value));
  }
  if (index.contains("metadata") && index["metadata"].is_object()) {
    for (const auto &[key, value] : index["metadata"].items()) {
      out.metadata[key] = meta_from_json(value);
    }
  }
  return out;
}

}  // namespace statepack
