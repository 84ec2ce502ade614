// SPDX-License-Identifier: Apache-2.0
// Python equality and hashing for dict keys (see pickle_dict_keys.hpp). Numbers are brought to
// one canonical form first: an integral float in int64 range is the int it equals, a bool is 0
// or 1, so the pairs Python treats as the same key hash and compare alike.
#include "pickle_dict_keys.hpp"

#include <cmath>
#include <cstring>

#include <xxhash.h>

namespace statepack::pickle {
namespace {

// Tags that keep hashes of different key classes apart.
enum class KeyClass : uint8_t { kNone = 1, kInteger, kFloat, kString, kBytes, kTuple };

// A number as Python compares it: an integer when its value is one, else a double.
struct Number {
  bool is_integer = true;
  int64_t integer = 0;
  double real = 0;
};

bool is_number(Kind kind) {
  return kind == Kind::kBool || kind == Kind::kInt || kind == Kind::kFloat;
}

Number canonical_number(const Value &value) {
  Number number;
  if (value.kind == Kind::kBool) {
    number.integer = value.bool_value ? 1 : 0;
  } else if (value.kind == Kind::kInt) {
    number.integer = value.int_value;
  } else {
    const double real = value.float_value;
    // [-2^63, 2^63): exactly the doubles that convert to int64 without overflow.
    if (std::isfinite(real) && std::trunc(real) == real && real >= -9223372036854775808.0 &&
        real < 9223372036854775808.0) {
      number.integer = static_cast<int64_t>(real);
    } else {
      number.is_integer = false;
      number.real = std::isnan(real) ? std::nan("") : real;
    }
  }
  return number;
}

uint64_t hash_tagged(KeyClass tag, const void *data, size_t size, uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed ^ (static_cast<uint64_t>(tag) << 56));
}

}  // namespace

const Value *find_unhashable_key(const Value &key) {
  switch (key.kind) {
    case Kind::kNone:
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kFloat:
    case Kind::kString:
    case Kind::kBytes:
      return nullptr;
    case Kind::kTuple:
      for (const ValuePtr &item : key.items) {
        if (!item) return &key;
        if (const Value *bad = find_unhashable_key(*item)) return bad;
      }
      return nullptr;
    default:
      return &key;
  }
}

uint64_t hash_scalar_key(const Value &key, uint64_t seed) {
  if (is_number(key.kind)) {
    const Number number = canonical_number(key);
    if (number.is_integer) {
      return hash_tagged(KeyClass::kInteger, &number.integer, sizeof number.integer, seed);
    }
    uint64_t bits = 0;
    std::memcpy(&bits, &number.real, sizeof bits);
    return hash_tagged(KeyClass::kFloat, &bits, sizeof bits, seed);
  }
  if (key.kind == Kind::kString || key.kind == Kind::kBytes) {
    const KeyClass tag = key.kind == Kind::kString ? KeyClass::kString : KeyClass::kBytes;
    return hash_tagged(tag, key.text.data(), key.text.size(), seed);
  }
  return hash_tagged(KeyClass::kNone, nullptr, 0, seed);
}

uint64_t hash_tuple_key(const uint64_t *item_hashes, size_t count, uint64_t seed) {
  return hash_tagged(KeyClass::kTuple, item_hashes, count * sizeof(uint64_t), seed);
}

bool keys_equal(const Value &a, const Value &b) {
  if (&a == &b) return true;
  if (is_number(a.kind) && is_number(b.kind)) {
    const Number x = canonical_number(a);
    const Number y = canonical_number(b);
    if (x.is_integer != y.is_integer) return false;
    if (x.is_integer) return x.integer == y.integer;
    return x.real == y.real || (std::isnan(x.real) && std::isnan(y.real));
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kNone:
      return true;
    case Kind::kString:
    case Kind::kBytes:
      return a.text == b.text;
    case Kind::kTuple:
      if (a.items.size() != b.items.size()) return false;
      for (size_t i = 0; i < a.items.size(); ++i) {
        if (!keys_equal(*a.items[i], *b.items[i])) return false;
      }
      return true;
    default:
      return false;
  }
}

}  // namespace statepack::pickle
