// SPDX-License-Identifier: Apache-2.0
// The .npy header: a Python dict literal that numpy reads with ast.literal_eval. Private to the
// numpy reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace statepack {

// What the header says.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<uint64_t> shape;
};

/// Parses the header dict literal `text` ({'descr': '<f4', 'fortran_order': False, 'shape':
/// (2, 3), }): exactly those three keys, in any order, Python whitespace and either quote, and
/// nothing else a literal could hold. Throws an input Error "<where>: ..." whose byte offsets
/// count from `base_offset` (the header's place in the file).
NpyHeader parse_npy_header(const std::string &where, std::string_view text, uint64_t base_offset);

}  // namespace statepack
