// SPDX-License-Identifier: Apache-2.0
// Bookkeeping for the values the unpickler builds: how deep each container nests, which ones may
// still change, and which keys each dict holds. Private to the tools library.
//
// Nesting is tracked as values are built, not by walking the result: each container records its
// depth, and a container that has been placed inside another (or handed to a handler) is never
// changed again. Python's pickler always finishes a container before placing it, so real
// pickles never trip that rule, while it makes cycles impossible and keeps every recorded depth
// true: a hostile pickle cannot build a deep tree top-down through the memo, or a cycle that
// would never be freed.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "statepack/tools/formats/torch/pickle_reader.hpp"

namespace statepack::pickle {

/// The values of one read_pickle call. Every refusal throws an input Error
/// "offset <offset>: <problem>", reading `offset` (the current opcode's) when it throws.
class ValueTree {
 public:
  ValueTree(uint32_t max_depth, const uint64_t &offset) : max_depth_(max_depth), offset_(offset) {}

  /// A new tuple or list of `items`, which count as placed from now on.
  ValuePtr make_sequence(Kind kind, std::vector<ValuePtr> items);
  /// A new dict of the key, value pairs in `items` (an even number of values). `op` names the
  /// opcode in messages.
  ValuePtr make_dict(std::vector<ValuePtr> items, const std::string &op);
  /// A new opaque object of class `cls` (a symbolic global) called with `args` and `kwargs`
  /// (None when the call had none): a call result, so BUILD may apply to it once.
  ValuePtr make_object(const Value &cls, ValuePtr args, ValuePtr kwargs);
  /// Appends `items` to `list`, which must be a list (or an opaque object) not yet placed.
  void append(const ValuePtr &list, std::vector<ValuePtr> items, const std::string &op);
  /// Adds the key, value pairs in `items` (an even number of values) to `dict`, which must be a
  /// dict (or an opaque object) not yet placed; keys must be hashable and new to the dict.
  void set_items(const ValuePtr &dict, std::vector<ValuePtr> items, const std::string &op);

  /// Marks a value as handed to a handler, which may keep it: it never changes again.
  void hand_over(const ValuePtr &value);
  /// Checks and records what a REDUCE or NEWOBJ handler returned (`source` names the call):
  /// no null values, no cycles, nesting within max_depth. BUILD may then apply to it once.
  void adopt_call_result(const ValuePtr &result, const std::string &source);
  /// Checks and records what persistent_load returned, like adopt_call_result.
  void adopt_persistent(const ValuePtr &result, const std::string &source);
  /// Checks that BUILD may apply to `object` (a call result, not placed, not built before) and
  /// marks it built.
  void begin_build(const ValuePtr &object);
  /// Checks `object` again after the build handler may have changed it.
  void end_build(const ValuePtr &object);

 private:
  // What the tree knows about one value.
  struct Node {
    ValuePtr keep;             // holds the value, so its address is not reused while reading
    uint64_t depth = 0;        // 0 for scalars, 1 + the deepest child for containers
    bool placed = false;       // inside a container or given to a handler: never changed again
    bool call_result = false;  // returned by REDUCE or NEWOBJ, so BUILD may apply to it
    bool built = false;        // BUILD already applied
    bool hashed = false;       // key_hash is valid
    uint64_t key_hash = 0;     // the value's hash as a dict key
  };
  // Hash and position of each key of a dict, for refusing a key that appears twice.
  using KeyIndex = std::unordered_multimap<uint64_t, size_t>;

  [[noreturn]] void fail(const std::string &problem) const;
  Node *find(const Value *value);
  Node &track(const ValuePtr &value);
  uint64_t place(const ValuePtr &value);
  void deepen(Node &node, uint64_t child_depth) const;
  Node &writable(const ValuePtr &target, Kind kind, const std::string &op);
  void set_items_of(const ValuePtr &dict, Node &node, std::vector<ValuePtr> items);
  uint64_t key_hash(const ValuePtr &key);
  void check_new_key(const ValuePtr &dict, const KeyIndex &index, const ValuePtr &key);
  KeyIndex &index_of(const ValuePtr &dict);
  void absorb(const ValuePtr &root, const std::string &source, bool reassess_root);

  uint32_t max_depth_;
  const uint64_t &offset_;
  std::unordered_map<const Value *, Node> nodes_;
  std::unordered_map<const Value *, KeyIndex> key_indexes_;
};

}  // namespace statepack::pickle
