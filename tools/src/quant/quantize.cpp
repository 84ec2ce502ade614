// SPDX-License-Identifier: Apache-2.0
// quantize() and reconstruct(): check the request, hand it to the scheme family's encoder
// (quant_int8.cpp, quant_int4.cpp, quant_cast.cpp), and measure the result by decoding it
// exactly as the runtime will. Also FORMAT.md's slice layouts, which the families share.
#include <cmath>
#include <cstring>
#include <string>

#include "quant_internal.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack {
namespace quant {

Slicing tensor_slicing(uint64_t element_count) {
  return Slicing{1, element_count, 0};
}

Slicing channel_slicing(const std::vector<uint64_t> &shape) {
  uint64_t inner = 1;
  for (size_t d = 1; d < shape.size(); ++d) inner *= shape[d];
  return Slicing{shape.empty() ? 1 : shape[0], inner, 0};
}

Slicing group_slicing(const std::vector<uint64_t> &shape, uint64_t group) {
  // Rows are the slices of axis 0 with every later axis flattened into the row (rank 1: one
  // row), so a conv kernel [O, I, kh, kw] groups over I*kh*kw rather than over kw alone.
  uint64_t count = 1;
  for (uint64_t d : shape) count *= d;
  const uint64_t rows = shape.size() >= 2 ? shape[0] : 1;
  const uint64_t row_length = rows == 0 ? 0 : count / rows;
  // A zero-sized axis leaves no elements and no groups.
  return Slicing{row_length == 0 ? 0 : rows, row_length, group};
}

void fail_inconsistent(const QuantizedTensor &q, const std::string &problem) {
  fail_input("quantized tensor (" + scheme_name(q.spec) + ")", problem);
}

}  // namespace quant

namespace {

bool is_group_scheme(QuantScheme scheme) {
  return scheme == QuantScheme::kInt8Group || scheme == QuantScheme::kInt4Group ||
         scheme == QuantScheme::kInt4GroupAsym || scheme == QuantScheme::kInt4K;
}

bool is_int4_scheme(QuantScheme scheme) {
  return scheme == QuantScheme::kInt4Group || scheme == QuantScheme::kInt4GroupAsym ||
         scheme == QuantScheme::kInt4K;
}

uint64_t element_count_of(const std::vector<uint64_t> &shape) {
  uint64_t count = 1;
  for (uint64_t dim : shape) count *= dim;
  return count;
}

// Integer schemes have no code for NaN or infinity; refuse them with a count and a way out.
void require_finite(const std::string &name, const float *values, uint64_t count,
                    QuantScheme scheme) {
  // On the bits (all exponent bits set: NaN or infinite), which the compiler vectorises.
  uint64_t bad = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, values + i, sizeof(bits));
    bad += (bits & 0x7F800000u) == 0x7F800000u ? 1 : 0;
  }
  if (bad == 0) return;
  fail_input("tensor \"" + name + "\"",
             std::to_string(bad) +
                 (bad == 1 ? " NaN or infinite value cannot" : " NaN or infinite values cannot") +
                 " be quantized to " + (is_int4_scheme(scheme) ? "int4" : "int8") +
                 " (keep it, or use f16/bf16)");
}

}  // namespace

QuantizedTensor quantize(const std::string &name, const float *values,
                         const std::vector<uint64_t> &shape, const SchemeSpec &spec,
                         const QuantProgress &progress, unsigned threads) {
  const uint64_t count = element_count_of(shape);
  if (values == nullptr && count != 0) {
    throw Error(ErrorKind::kInput, "tensor \"" + name + "\": no values to quantize");
  }
  QuantizedTensor out;
  bool is_integer = false;
  switch (spec.scheme) {
    case QuantScheme::kNone:
    case QuantScheme::kF16Cast:
    case QuantScheme::kBF16Cast:
      out = quant::quantize_cast(values, count, spec);
      break;
    case QuantScheme::kInt8Channel:
    case QuantScheme::kInt8Tensor:
    case QuantScheme::kInt8Asym:
    case QuantScheme::kInt8Group:
    case QuantScheme::kInt4Group:
    case QuantScheme::kInt4GroupAsym:
    case QuantScheme::kInt4K:
      if (is_group_scheme(spec.scheme)) {
        if (spec.group_size == 0) {
          fail_usage("scheme " + scheme_name(spec) + " needs a group size above 0");
        }
        if (shape.empty()) {
          fail_input("tensor \"" + name + "\"", "a scalar cannot be quantized group-wise (" +
                                                    scheme_name(spec) + "); keep it or use int8");
        }
      }
      require_finite(name, values, count, spec.scheme);
      if (spec.scheme == QuantScheme::kInt4K) {
        // Measured below on its reconstruction, like the casts.
        out = quant::quantize_int4k(name, values, shape, spec, progress);
      } else {
        is_integer = true;
        out = is_int4_scheme(spec.scheme)
                  ? quant::quantize_int4(name, values, shape, spec, progress, threads)
                  : quant::quantize_int8(name, values, shape, spec, progress, threads);
      }
      break;
    default:
      fail_usage("unknown quantization scheme " +
                 std::to_string(static_cast<unsigned>(spec.scheme)));
  }
  // Measured on the decoded values, so the figures describe exactly what the device will see:
  // the integer encoders measure each slice as they go (without a copy of the tensor).
  if (!is_integer) quant::measure_quality(values, reconstruct(out, shape), out);
  return out;
}

std::vector<float> reconstruct(const QuantizedTensor &q, const std::vector<uint64_t> &shape) {
  switch (q.spec.scheme) {
    case QuantScheme::kNone:
    case QuantScheme::kF16Cast:
    case QuantScheme::kBF16Cast:
      return quant::reconstruct_cast(q, element_count_of(shape));
    case QuantScheme::kInt8Channel:
    case QuantScheme::kInt8Tensor:
    case QuantScheme::kInt8Asym:
    case QuantScheme::kInt8Group:
      return quant::reconstruct_int8(q, shape);
    case QuantScheme::kInt4Group:
    case QuantScheme::kInt4GroupAsym:
      return quant::reconstruct_int4(q, shape);
    case QuantScheme::kInt4K:
      return quant::reconstruct_int4k(q, shape);
    case QuantScheme::kPalette:
      return quant::reconstruct_palette(q, element_count_of(shape));
  }
  quant::fail_inconsistent(q, "unknown scheme");
}

std::vector<float> reconstruct(const Tensor &tensor) {
  if (!tensor.quant) fail_input("tensor \"" + tensor.name + "\"", "is not quantized");
  QuantizedTensor q = *tensor.quant;
  q.data.assign(tensor.data, tensor.data + tensor.size);
  return reconstruct(q, tensor.shape);
}

}  // namespace statepack
