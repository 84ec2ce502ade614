// SPDX-License-Identifier: Apache-2.0
// The unpickler's value tree: construction and the one-line descriptions its error messages use.
// describe() never recurses, so it is safe on whatever a hostile pickle built.
#include <cstdio>
#include <string>

#include "statepack/tools/formats/torch/pickle_reader.hpp"
#include "statepack/tools/text/quote.hpp"

namespace statepack::pickle {
namespace {

// Longest string or bytes content a description quotes.
constexpr size_t kDescribeBytes = 60;

std::string count_of(size_t count, const char *one, const char *many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

}  // namespace

ValuePtr Value::make(Kind kind) {
  auto value = std::make_shared<Value>();
  value->kind = kind;
  return value;
}

const char *kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
      return "global";
    case Kind::kExtension:
      return "extension";
    case Kind::kObject:
      return "object";
  }
  return "unknown";
}

std::string kind_with_article(Kind kind) {
  if (kind == Kind::kNone) return "None";
  const bool vowel = kind == Kind::kInt || kind == Kind::kExtension || kind == Kind::kObject;
  return std::string(vowel ? "an " : "a ") + kind_name(kind);
}

std::string describe(const Value &value) {
  switch (value.kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return value.bool_value ? "True" : "False";
    case Kind::kInt:
      return "int " + std::to_string(value.int_value);
    case Kind::kFloat: {
      char text[32];
      std::snprintf(text, sizeof text, "%.17g", value.float_value);
      return std::string("float ") + text;
    }
    case Kind::kString:
      return "str " + quote_for_message(value.text, kDescribeBytes);
    case Kind::kBytes:
      return "bytes " + quote_for_message(value.text, kDescribeBytes);
    case Kind::kTuple:
      return "tuple of " + count_of(value.items.size(), "item", "items");
    case Kind::kList:
      return "list of " + count_of(value.items.size(), "item", "items");
    case Kind::kDict:
      return "dict of " + count_of(value.entries.size(), "entry", "entries");
    case Kind::kGlobal:
      return std::string(value.symbolic ? "class reference " : "global ") +
             quote_for_message(value.module + "." + value.name, kDescribeBytes);
    case Kind::kExtension:
      return "extension (tag " + std::to_string(value.extension_tag) + ")";
    case Kind::kObject:
      return "object " + quote_for_message(value.text, kDescribeBytes);
  }
  return "unknown value";
}

}  // namespace statepack::pickle
