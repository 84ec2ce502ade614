// SPDX-License-Identifier: Apache-2.0
// Depth, placement and dict-key bookkeeping for the unpickler (see pickle_value_tree.hpp).
#include "pickle_value_tree.hpp"

#include <algorithm>
#include <random>
#include <unordered_set>
#include <utility>

#include "pickle_dict_keys.hpp"
#include "statepack/tools/core/error.hpp"

namespace statepack::pickle {
namespace {

bool is_container(Kind kind) {
  return kind == Kind::kTuple || kind == Kind::kList || kind == Kind::kDict ||
         kind == Kind::kObject;
}

// A seed for dict-key hashes that a pickle's author cannot predict, so no pickle can be made
// whose keys all collide. Results never depend on it, only the time a lookup takes.
uint64_t hash_seed() {
  static const uint64_t seed = [] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }();
  return seed;
}

}  // namespace

void ValueTree::fail(const std::string &problem) const {
  throw Error(ErrorKind::kInput, "offset " + std::to_string(offset_) + ": " + problem);
}

ValueTree::Node *ValueTree::find(const Value *value) {
  const auto found = nodes_.find(value);
  return found == nodes_.end() ? nullptr : &found->second;
}

ValueTree::Node &ValueTree::track(const ValuePtr &value) {
  Node &node = nodes_[value.get()];
  node = Node{};
  node.keep = value;
  return node;
}

// Marks a value as inside a container (or handed to a handler) and returns its depth.
uint64_t ValueTree::place(const ValuePtr &value) {
  Node *node = find(value.get());
  if (node == nullptr) return 0;  // a scalar the reader made: depth 0, and it never changes
  node->placed = true;
  return node->depth;
}

void ValueTree::deepen(Node &node, uint64_t child_depth) const {
  if (child_depth + 1 <= node.depth) return;
  node.depth = child_depth + 1;
  if (node.depth > max_depth_) {
    fail("nesting exceeds limit max_depth=" + std::to_string(max_depth_));
  }
}

// The list or dict an opcode changes, after checking that it may change.
ValueTree::Node &ValueTree::writable(const ValuePtr &target, Kind kind, const std::string &op) {
  // An opaque object takes both: it may be a dict subclass (Counter, defaultdict, an
  // OrderedDict subclass) or a list or set subclass; its class is never asked which.
  if (target->kind != kind && target->kind != Kind::kObject) {
    fail(op + " target is " + kind_with_article(target->kind) + ", not " + kind_with_article(kind));
  }
  Node *node = find(target.get());
  if (node == nullptr || node->placed) {
    fail(op + " target is " + kind_with_article(target->kind) +
         " that is already inside another container (a cycle or an out-of-order pickle)");
  }
  return *node;
}

ValuePtr ValueTree::make_sequence(Kind kind, std::vector<ValuePtr> items) {
  ValuePtr value = Value::make(kind);
  Node &node = track(value);
  node.depth = 1;
  for (const ValuePtr &item : items) deepen(node, place(item));
  value->items = std::move(items);
  return value;
}

ValuePtr ValueTree::make_dict(std::vector<ValuePtr> items, const std::string &op) {
  if (items.size() % 2 != 0) {
    fail(op + " with an odd number of values (" + std::to_string(items.size()) + ")");
  }
  ValuePtr dict = Value::make(Kind::kDict);
  Node &node = track(dict);
  node.depth = 1;
  set_items_of(dict, node, std::move(items));
  return dict;
}

ValuePtr ValueTree::make_object(const Value &cls, ValuePtr args, ValuePtr kwargs) {
  ValuePtr object = Value::make(Kind::kObject);
  object->module = cls.module;
  object->name = cls.name;
  object->text = cls.text;
  Node &node = track(object);
  node.depth = 1;
  node.call_result = true;
  deepen(node, place(args));
  deepen(node, place(kwargs));
  object->items = {std::move(args), std::move(kwargs), Value::make(Kind::kNone)};
  return object;
}

void ValueTree::append(const ValuePtr &list, std::vector<ValuePtr> items, const std::string &op) {
  for (const ValuePtr &item : items) place(item);  // first, so a list cannot hold itself
  Node &node = writable(list, Kind::kList, op);
  for (ValuePtr &item : items) {
    deepen(node, place(item));
    list->items.push_back(std::move(item));
  }
}

void ValueTree::set_items(const ValuePtr &dict, std::vector<ValuePtr> items,
                          const std::string &op) {
  if (items.size() % 2 != 0) {
    fail(op + " with an odd number of values (" + std::to_string(items.size()) + ")");
  }
  for (const ValuePtr &item : items) place(item);  // first, so a dict cannot hold itself
  set_items_of(dict, writable(dict, Kind::kDict, op), std::move(items));
}

void ValueTree::set_items_of(const ValuePtr &dict, Node &node, std::vector<ValuePtr> items) {
  KeyIndex &index = index_of(dict);
  for (size_t i = 0; i < items.size(); i += 2) {
    ValuePtr &key = items[i];
    ValuePtr &value = items[i + 1];
    check_new_key(dict, index, key);
    index.emplace(key_hash(key), dict->entries.size());
    deepen(node, std::max(place(key), place(value)));
    dict->entries.emplace_back(std::move(key), std::move(value));
  }
}

// A dict key's hash, computed once per str, bytes or tuple value however often it is used.
uint64_t ValueTree::key_hash(const ValuePtr &key) {
  if (key->kind != Kind::kString && key->kind != Kind::kBytes && key->kind != Kind::kTuple) {
    return hash_scalar_key(*key, hash_seed());
  }
  Node *node = find(key.get());
  if (node == nullptr) {
    node = &track(key);
    node->placed = true;
  }
  if (!node->hashed) {
    if (key->kind == Kind::kTuple) {
      std::vector<uint64_t> item_hashes;
      item_hashes.reserve(key->items.size());
      for (const ValuePtr &item : key->items) item_hashes.push_back(key_hash(item));
      node->key_hash = hash_tuple_key(item_hashes.data(), item_hashes.size(), hash_seed());
    } else {
      node->key_hash = hash_scalar_key(*key, hash_seed());
    }
    node->hashed = true;
  }
  return node->key_hash;
}

void ValueTree::check_new_key(const ValuePtr &dict, const KeyIndex &index, const ValuePtr &key) {
  if (!key) fail("dict key is missing (a handler left a null key)");
  if (const Value *bad = find_unhashable_key(*key)) {
    fail("dict key is " + kind_with_article(bad->kind) +
         " (keys must be None, bool, int, float, str, bytes or tuples of them)");
  }
  const auto range = index.equal_range(key_hash(key));
  for (auto it = range.first; it != range.second; ++it) {
    if (keys_equal(*dict->entries[it->second].first, *key)) {
      fail("duplicate dict key " + describe(*key));
    }
  }
}

// The key index of a dict, built on first use (a handler's dict may arrive with entries).
ValueTree::KeyIndex &ValueTree::index_of(const ValuePtr &dict) {
  const auto [found, inserted] = key_indexes_.try_emplace(dict.get());
  KeyIndex &index = found->second;
  if (inserted) {
    for (size_t i = 0; i < dict->entries.size(); ++i) {
      const ValuePtr &key = dict->entries[i].first;
      check_new_key(dict, index, key);
      index.emplace(key_hash(key), i);
    }
  }
  return index;
}

void ValueTree::hand_over(const ValuePtr &value) {
  place(value);
}

void ValueTree::adopt_call_result(const ValuePtr &result, const std::string &source) {
  absorb(result, source, false);
  find(result.get())->call_result = true;
}

void ValueTree::adopt_persistent(const ValuePtr &result, const std::string &source) {
  absorb(result, source, false);
}

void ValueTree::begin_build(const ValuePtr &object) {
  Node *node = find(object.get());
  if (node == nullptr || !node->call_result) {
    fail("BUILD target (" + describe(*object) + ") was not made by REDUCE or NEWOBJ");
  }
  if (node->placed) fail("BUILD target is already inside another container");
  if (node->built) fail("BUILD applied twice to the same object");
  node->built = true;
}

void ValueTree::end_build(const ValuePtr &object) {
  absorb(object, "BUILD", true);
  key_indexes_.erase(object.get());  // the handler may have changed the entries
}

// Checks a value a handler produced (or changed, with reassess_root) the way the opcodes check
// theirs: no null values, no cycles, nesting within max_depth. Every value reached is recorded,
// and all but the root count as placed. Values already recorded are trusted, not walked again.
void ValueTree::absorb(const ValuePtr &root, const std::string &source, bool reassess_root) {
  if (!root) fail(source + " returned no value");
  if (!reassess_root && find(root.get()) != nullptr) return;
  const std::string too_deep = source + " returned a value whose nesting exceeds limit max_depth=" +
                               std::to_string(max_depth_);
  struct Frame {
    ValuePtr value;
    size_t next = 0;       // next child to visit: items, then entries' keys and values
    uint64_t deepest = 0;  // depth of the deepest child so far
  };
  std::vector<Frame> path;
  std::unordered_set<const Value *> on_path;
  path.push_back({root});
  on_path.insert(root.get());
  while (!path.empty()) {
    Frame &frame = path.back();
    const Value &value = *frame.value;
    const size_t children = value.items.size() + 2 * value.entries.size();
    if (frame.next < children) {
      const size_t i = frame.next++;
      const size_t e = i - value.items.size();
      const ValuePtr &child = i < value.items.size() ? value.items[i]
                              : e % 2 == 0           ? value.entries[e / 2].first
                                                     : value.entries[e / 2].second;
      if (!child) fail(source + " returned a container holding no value");
      if (on_path.count(child.get()) != 0) fail(source + " returned a value that contains itself");
      if (Node *known = find(child.get())) {
        known->placed = true;
        frame.deepest = std::max(frame.deepest, known->depth);
        continue;
      }
      if (path.size() > max_depth_) fail(too_deep);
      on_path.insert(child.get());
      path.push_back({child});  // invalidates `frame`
      continue;
    }
    const bool nests = is_container(value.kind) || children > 0;
    const uint64_t depth = nests ? frame.deepest + 1 : 0;
    if (depth > max_depth_) fail(too_deep);
    ValuePtr done = std::move(frame.value);
    path.pop_back();
    on_path.erase(done.get());
    Node *node = find(done.get());
    if (node == nullptr) node = &track(done);
    node->depth = depth;
    if (!path.empty()) {
      node->placed = true;
      path.back().deepest = std::max(path.back().deepest, depth);
    }
  }
}

}  // namespace statepack::pickle
