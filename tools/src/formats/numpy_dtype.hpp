// SPDX-License-Identifier: Apache-2.0
// numpy's dtype strings ('<f4', '|b1', '>c8'): which of them statepack reads, as what. Private
// to the numpy reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "statepack/tools/core/dtype.hpp"

namespace statepack {

// An element type numpy can describe and statepack can hold.
struct NpyType {
  DType dtype = DType::kUnknown;
  uint64_t item_size = 0;
  bool big_endian = false;
};

/// The type `descr` names; throws an input Error "<where>: dtype '...' is not supported: <why>"
/// for object, structured, string, datetime and every other dtype statepack cannot hold.
NpyType parse_npy_type(const std::string &where, std::string_view descr);

/// A descr in the quoting numpy uses, for messages: '<f4'.
std::string npy_descr_text(std::string_view descr);

}  // namespace statepack
