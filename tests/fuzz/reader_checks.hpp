// SPDX-License-Identifier: Apache-2.0
// Checks every fuzz target applies to a checkpoint a host reader returned: each tensor's size
// is exactly shape x dtype, its rank is within the format's limit, and its bytes can be read
// (ASan or a fault flags a view outside its buffer).
#pragma once

#include <optional>

#include "fuzz/fuzz_support.hpp"
#include "statepack/tools/core/dtype.hpp"
#include "statepack/tools/core/tensor.hpp"

namespace statepack::fuzz {

inline void check_tensor(const Tensor &t) {
  FUZZ_CHECK(!t.name.empty());
  FUZZ_CHECK(t.shape.size() <= SPK_MAX_RANK);
  uint64_t count = 1;
  for (uint64_t d : t.shape) FUZZ_CHECK(!__builtin_mul_overflow(count, d, &count));
  const std::optional<uint64_t> bytes = byte_size(t.dtype, count);
  FUZZ_CHECK(bytes.has_value() && *bytes == t.size);
  FUZZ_CHECK(t.size == 0 || (t.data != nullptr && t.owner != nullptr));
  volatile uint8_t sink = 0;
  for (uint64_t i = 0; i < t.size; ++i) sink = static_cast<uint8_t>(sink ^ t.data[i]);
  (void)sink;
}

inline void check_checkpoint(const Checkpoint &c) {
  for (const Tensor &t : c.tensors) check_tensor(t);
}

}  // namespace statepack::fuzz
