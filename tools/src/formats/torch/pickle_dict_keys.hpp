// SPDX-License-Identifier: Apache-2.0
// Dict keys as Python compares them, so the unpickler can refuse a key that appears twice in one
// dict: Python would keep the last value, a careless reader the first, and the two would disagree
// about what the file holds. Private to the tools library.
#pragma once

#include <cstddef>
#include <cstdint>

#include "statepack/tools/formats/torch/pickle_reader.hpp"

namespace statepack::pickle {

/// The first value inside `key` (itself or an element of a tuple, at any depth) that cannot be a
/// dict key, or nullptr if all of it can: None, bool, int, float, str, bytes and tuples of them.
/// Recurses through tuples: callers pass keys whose nesting they have already bounded.
const Value *find_unhashable_key(const Value &key);

/// Hash of a key that is not a tuple, consistent with keys_equal (1, 1.0 and True hash alike).
uint64_t hash_scalar_key(const Value &key, uint64_t seed);

/// Hash of a tuple key from the hashes of its items, in order.
uint64_t hash_tuple_key(const uint64_t *item_hashes, size_t count, uint64_t seed);

/// Python's == for two hashable keys: numbers by value across bool, int and float (NaN equals
/// NaN here, which can only refuse more), str and bytes by content, tuples item by item.
/// Recurses through tuples like find_unhashable_key.
bool keys_equal(const Value &a, const Value &b);

}  // namespace statepack::pickle
