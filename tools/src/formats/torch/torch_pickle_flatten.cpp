// SPDX-License-Identifier: Apache-2.0
// The object tree of a torch.save pickle, flattened into a Checkpoint (torch_pickle_model.hpp):
// dicts, lists and tuples to dotted names, plain values to typed metadata, and opaque objects by
// what their pickled state shows them to be. Nothing here runs anything: a whole nn.Module is
// recognised by the attributes every module has and walked the way Module.state_dict() walks
// it, in the same order, so packing torch.save(model) gives the names and bytes that packing
// torch.save(model.state_dict()) would.
#include <algorithm>
#include <string>
#include <unordered_set>

#include "pickle_numpy_scalar.hpp"
#include "statepack/tools/core/error.hpp"
#include "torch_pickle_model.hpp"

namespace statepack::torch_model {
namespace {

using pickle::Kind;
using pickle::Value;
using pickle::ValuePtr;

bool is_tensor(const Value &v) {
  return v.kind == Kind::kExtension && v.extension_tag == kTensor;
}

// The value of attribute `key` in a dict of attributes, or null.
const Value *attribute(const Value &attributes, const char *key) {
  for (const auto &[name, value] : attributes.entries) {
    if (name->kind == Kind::kString && name->text == key) return value.get();
  }
  return nullptr;
}

// The attribute dict in an object's BUILD state: a dict, or the first item of (dict, slots).
const Value *attributes_of(const Value &object) {
  const Value &state = *object.items[pickle::kObjectState];
  if (state.kind == Kind::kDict) return &state;
  if (state.kind == Kind::kTuple && state.items.size() == 2 &&
      state.items[0]->kind == Kind::kDict) {
    return state.items[0].get();
  }
  return nullptr;
}

// The slots dict of a (dict-or-None, slots) state, or null.
const Value *slots_of(const Value &object) {
  const Value &state = *object.items[pickle::kObjectState];
  if (state.kind == Kind::kTuple && state.items.size() == 2 &&
      state.items[1]->kind == Kind::kDict) {
    return state.items[1].get();
  }
  return nullptr;
}

// Every nn.Module's __dict__ holds these three; nothing else a checkpoint holds has all of them.
bool is_module_state(const Value *attributes) {
  return attributes != nullptr && attribute(*attributes, "_parameters") != nullptr &&
         attribute(*attributes, "_buffers") != nullptr &&
         attribute(*attributes, "_modules") != nullptr;
}

// A class from torch.nn whose state does not show its parameters: refused, not read as empty.
bool looks_like_torch_module(const Value &object) {
  return object.module.compare(0, 9, "torch.nn.") == 0 &&
         object.module.compare(0, 22, "torch.nn.parameter") != 0;
}

bool dict_like(const Value &v) {
  return v.kind == Kind::kDict || v.kind == Kind::kObject;
}

std::string meta_kind(const MetaValue &value) {
  switch (value.kind) {
    case MetaValue::Kind::kInt:
      return "an int";
    case MetaValue::Kind::kFloat:
      return "a float";
    case MetaValue::Kind::kBool:
      return "a bool";
    case MetaValue::Kind::kString:
      break;
  }
  return "a str";
}

class Flattener {
 public:
  Flattener(std::string where, bool big_endian)
      : where_(std::move(where)), big_endian_(big_endian) {}

  void walk(const std::string &name, const ValuePtr &v) {
    // Memo references can turn a small pickle into an exponential tree; bound the walk.
    count_node();
    switch (v->kind) {
      case Kind::kDict:
        walk_entries(name, *v);
        return;
      case Kind::kList:
      case Kind::kTuple:
        for (size_t i = 0; i < v->items.size(); ++i)
          walk(join(name, std::to_string(i)), v->items[i]);
        return;
      case Kind::kExtension:
        if (is_tensor(*v)) {
          add_tensor(name, *std::static_pointer_cast<TensorView>(v->extension));
          return;
        }
        fail_input(where_, "\"" + name + "\" is a bare storage, not a tensor");
      case Kind::kObject:
        walk_object(name, *v);
        return;
      case Kind::kInt:
        add_meta(name, MetaValue::of_int(v->int_value));
        return;
      case Kind::kFloat:
        add_meta(name, MetaValue::of_float(v->float_value));
        return;
      case Kind::kBool:
        add_meta(name, MetaValue::of_bool(v->bool_value));
        return;
      case Kind::kString:
        add_meta(name, MetaValue::of_string(v->text));
        return;
      case Kind::kNone:
      case Kind::kBytes:
      case Kind::kGlobal:
        return;  // no typed metadata for these; they carry no weights
    }
  }

  // The refusal of a file that holds no tensors, saying what it does hold.
  void require_tensors() const {
    if (!result_.tensors.empty()) return;
    std::string found;
    size_t listed = 0;
    for (const OpaqueObject &object : result_.opaque_objects) {
      if (listed++ == 4) {
        found += ", ...";
        break;
      }
      found +=
          (found.empty() ? "" : ", ") + path_text(object.path) + " (" + object.class_name + ")";
    }
    std::string what = std::to_string(result_.metadata.size()) + " plain value" +
                       (result_.metadata.size() == 1 ? "" : "s");
    if (!found.empty()) what += " and opaque objects " + found;
    fail_input(where_, "holds no tensors (found " + what +
                           "); statepack packs weights: save them with "
                           "torch.save(model.state_dict(), PATH)");
  }

  Checkpoint take() { return std::move(result_); }

 private:
  static constexpr uint64_t kMaxVisited = 10'000'000;
  static constexpr size_t kMaxMetadata = 100'000;  // SPK_MAX_METADATA
  static constexpr size_t kMaxListed = 10'000;     // opaque objects listed for inspect

  static std::string join(const std::string &prefix, const std::string &key) {
    return prefix.empty() ? key : prefix + "." + key;
  }

  static std::string path_text(const std::string &path) {
    return path.empty() ? "the saved object" : "\"" + path + "\"";
  }

  void count_node() {
    if (++visited_ > kMaxVisited) fail_input(where_, "object tree has more than 10 million nodes");
  }

  std::string key_text(const std::string &parent, const Value &key) const {
    switch (key.kind) {
      case Kind::kString:
        return key.text;
      case Kind::kInt:
        return std::to_string(key.int_value);
      case Kind::kBool:
        return key.bool_value ? "True" : "False";
      default:
        break;
    }
    fail_input(where_, "a key inside \"" + parent + "\" is neither a string nor an int");
  }

  void walk_entries(const std::string &name, const Value &dict) {
    for (const auto &[key, value] : dict.entries) walk(join(name, key_text(name, *key)), value);
  }

  // Walks `v` for its tensors only: call arguments and unusual states name classes, paths and
  // versions, not settings, so their plain values are not metadata.
  void walk_tensors(const std::string &name, const ValuePtr &v) {
    ++tensors_only_;
    walk(name, v);
    --tensors_only_;
  }

  void walk_object(const std::string &name, const Value &object) {
    const Value *attributes = attributes_of(object);
    if (is_module_state(attributes)) {
      const size_t before = result_.tensors.size();
      walk_module(name, object, *attributes);
      note(name, object,
           "torch.nn.Module, " + std::to_string(result_.tensors.size() - before) +
               " tensors as in state_dict()");
      return;
    }
    if (looks_like_torch_module(object)) {
      fail_module(name, object, "its pickled state has no _parameters, _buffers and _modules");
    }
    if (pickle::is_numpy_scalar(object)) {
      if (const std::optional<MetaValue> value = pickle::decode_numpy_scalar(object)) {
        note(name, object, "read as " + meta_kind(*value));
        add_meta(name, *value);
        return;
      }
    }
    note(name, object, "");
    // Counter(dict) and other classes made from one dict: that dict is their content.
    const Value &args = *object.items[pickle::kObjectArgs];
    if (args.items.size() == 1 && args.items[0]->kind == Kind::kDict) {
      walk_entries(name, *args.items[0]);
    } else {
      for (size_t i = 0; i < args.items.size(); ++i) {
        walk_tensors(join(name, "args." + std::to_string(i)), args.items[i]);
      }
    }
    walk_tensors(join(name, "kwargs"), object.items[pickle::kObjectKwargs]);
    walk_entries(name, object);  // a dict subclass's items
    if (attributes != nullptr) walk_entries(name, *attributes);
    if (const Value *slots = slots_of(object)) walk_entries(name, *slots);
    if (attributes == nullptr && slots_of(object) == nullptr) {
      walk_tensors(join(name, "state"), object.items[pickle::kObjectState]);
    }
    for (size_t i = pickle::kObjectFirstItem; i < object.items.size(); ++i) {
      walk(join(name, std::to_string(i - pickle::kObjectFirstItem)), object.items[i]);
    }
  }

  // Module._save_to_state_dict, then the children in order: parameters that are not None,
  // buffers that are not None and not in _non_persistent_buffers_set, then each submodule that
  // is not None under "<name>.". A module reached twice appears twice, as in state_dict();
  // tied parameters are one tensor under each name.
  void walk_module(const std::string &prefix, const Value &object, const Value &attributes) {
    count_node();
    // Quantized modules compute their state_dict() in code (_save_to_state_dict adds scale,
    // zero_point and packed weights): their pickled attributes are not what it returns.
    if (object.module.compare(0, 6, "torch.") == 0 &&
        object.module.find("quantized") != std::string::npos) {
      fail_module(prefix, object, "a quantized module computes its state_dict() in code");
    }
    const std::unordered_set<std::string> transient = non_persistent(prefix, object, attributes);
    for (const char *group : {"_parameters", "_buffers"}) {
      const Value &members = *attribute(attributes, group);
      if (!dict_like(members)) {
        fail_module(prefix, object, std::string(group) + " is " + pickle::describe(members));
      }
      const bool buffers = group[1] == 'b';
      for (const auto &[key, value] : members.entries) {
        const std::string member = key_text(prefix, *key);
        if (value->kind == Kind::kNone || (buffers && transient.count(member) != 0)) continue;
        if (!is_tensor(*value)) {
          fail_module(prefix, object,
                      std::string(buffers ? "buffer" : "parameter") + " \"" + member + "\" is " +
                          pickle::describe(*value) + ", not a tensor");
        }
        add_tensor(join(prefix, member), *std::static_pointer_cast<TensorView>(value->extension));
      }
    }
    const Value &children = *attribute(attributes, "_modules");
    if (!dict_like(children))
      fail_module(prefix, object, "_modules is " + pickle::describe(children));
    for (const auto &[key, child] : children.entries) {
      const std::string child_name = join(prefix, key_text(prefix, *key));
      if (child->kind == Kind::kNone) continue;
      const Value *child_attributes =
          child->kind == Kind::kObject ? attributes_of(*child) : nullptr;
      if (!is_module_state(child_attributes)) {
        fail_module(child_name, *child,
                    "it is not a module with _parameters, _buffers and _modules");
      }
      walk_module(child_name, *child, *child_attributes);
    }
  }

  // The names in _non_persistent_buffers_set: a set object, made by EMPTY_SET/ADDITEMS
  // (protocol 4+) or by builtins.set(list) (protocols 2-3).
  std::unordered_set<std::string> non_persistent(const std::string &prefix, const Value &object,
                                                 const Value &attributes) const {
    std::unordered_set<std::string> names;
    const Value *set = attribute(attributes, "_non_persistent_buffers_set");
    if (set == nullptr) return names;  // modules pickled before torch 1.6 have none
    const bool is_set = set->kind == Kind::kObject && set->name == "set" &&
                        (set->module == "builtins" || set->module == "__builtin__");
    if (!is_set) {
      fail_module(prefix, object, "_non_persistent_buffers_set is " + pickle::describe(*set));
    }
    std::vector<ValuePtr> members(set->items.begin() + pickle::kObjectFirstItem, set->items.end());
    const Value &args = *set->items[pickle::kObjectArgs];
    if (!args.items.empty()) {
      if (args.items.size() != 1 || args.items[0]->kind != Kind::kList) {
        fail_module(prefix, object, "_non_persistent_buffers_set is not made from a list");
      }
      members.insert(members.end(), args.items[0]->items.begin(), args.items[0]->items.end());
    }
    for (const ValuePtr &member : members) {
      if (member->kind != Kind::kString) {
        fail_module(prefix, object,
                    "_non_persistent_buffers_set holds " + pickle::describe(*member));
      }
      names.insert(member->text);
    }
    return names;
  }

  [[noreturn]] void fail_module(const std::string &path, const Value &object,
                                const std::string &problem) const {
    fail_input(where_, path_text(path) + " is a torch.nn.Module (" + object.text +
                           ") whose parameters cannot be found: " + problem +
                           "; statepack reads weights without running code, so save them with "
                           "torch.save(model.state_dict(), PATH)");
  }

  void note(const std::string &path, const Value &object, std::string what) {
    if (result_.opaque_objects.size() < kMaxListed) {
      result_.opaque_objects.push_back({path, object.text, std::move(what)});
    }
  }

  void add_tensor(const std::string &name, const TensorView &view) {
    if (name.empty()) fail_input(where_, "a tensor has an empty name");
    if (!names_.insert(name).second) fail_input(where_, "two entries flatten to \"" + name + "\"");
    result_.tensors.push_back(materialise(where_, name, view, big_endian_));
  }

  void add_meta(const std::string &name, MetaValue value) {
    if (name.empty() || tensors_only_ > 0) return;
    // Refused as early as possible: a memo-sharing pickle can expand to millions of leaves.
    if (result_.metadata.size() >= kMaxMetadata) {
      fail_input(where_, "more than " + std::to_string(kMaxMetadata) +
                             " non-tensor values (the blob's metadata limit)");
    }
    if (!result_.metadata.emplace(name, std::move(value)).second) {
      fail_input(where_, "two values flatten to the metadata key \"" + name + "\"");
    }
  }

  std::string where_;
  bool big_endian_;
  uint64_t visited_ = 0;
  int tensors_only_ = 0;
  std::unordered_set<std::string> names_;
  Checkpoint result_;
};

}  // namespace

Checkpoint flatten(const std::string &where, const ValuePtr &root, bool big_endian) {
  Flattener f(where, big_endian);
  if (is_tensor(*root)) {
    f.walk("tensor", root);  // torch.save(tensor): one unnamed tensor
  } else if (root->kind == Kind::kDict || root->kind == Kind::kObject) {
    f.walk("", root);
  } else {
    fail_input(where, "the saved object is " + pickle::describe(*root) +
                          ", not a dict of tensors; save the weights with "
                          "torch.save(model.state_dict(), PATH)");
  }
  f.require_tensors();
  return f.take();
}

}  // namespace statepack::torch_model
