// SPDX-License-Identifier: Apache-2.0
// C++ consumer of an installed statepack: the same through statepack.hpp's BlobView.
#include <cstdint>
#include <cstdio>

#include "model_cpp.h"
#include "statepack/statepack.hpp"

int main() {
  const auto blob = statepack::BlobView::open(model_cpp, model_cpp_size);
  if (!blob.ok() || !blob->verify().ok()) return 1;
  const auto t = blob->find("2.bias");
  if (!t.ok()) return 1;
  float values[4] = {};
  if (!t->dequantize(values, 4).ok()) return 1;
  const bool aligned = reinterpret_cast<std::uintptr_t>(model_cpp) % 128 == 0;
  std::printf("consumer_cpp: alignment %u (%s), 2.bias[0] = %g\n", spk_alignment(&blob->raw()),
              aligned ? "aligned" : "NOT aligned", values[0]);
  return aligned && spk_alignment(&blob->raw()) == 128 ? 0 : 1;
}
