// SPDX-License-Identifier: Apache-2.0
// The int4 schemes: groups along each row (a slice of axis 0, later axes flattened) with F16
// scales, symmetric (I4, levels -8..7) or asymmetric (U4, levels 0..15, U8 zero points 0..15).
// Two elements per byte over the whole tensor, element i in byte i / 2, the even element in the
// low nibble.
#include <string>

#include "quant_internal.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack::quant {
namespace {

bool is_asymmetric(const SchemeSpec &spec) {
  return spec.scheme == QuantScheme::kInt4GroupAsym;
}

SearchSpec int4_search(const SchemeSpec &spec) {
  SearchSpec search;
  search.scale_type = ScaleType::kF16;
  if (is_asymmetric(spec)) {
    search.levels = {0, 15};
    search.asymmetric = true;
  } else {
    search.levels = {-8, 7};
    search.signed_scale = true;  // lets the largest magnitude use the -8 level
  }
  return search;
}

uint64_t packed_size(uint64_t count) {
  return count / 2 + count % 2;
}

}  // namespace

QuantizedTensor quantize_int4(const std::string &name, const float *values,
                              const std::vector<uint64_t> &shape, const SchemeSpec &spec,
                              const QuantProgress &progress, unsigned threads) {
  const Slicing slicing = group_slicing(shape, spec.group_size);
  const SlicedLevels sliced = quantize_slices(name, scheme_name(spec), values, slicing,
                                              int4_search(spec), progress, threads);
  QuantizedTensor out;
  out.spec = spec;
  out.axis = shape.size() >= 2 ? 1 : 0;
  out.dtype = is_asymmetric(spec) ? DType::kU4 : DType::kI4;
  out.data.assign(packed_size(sliced.levels.size()), 0);
  // Two's complement nibble for I4; U4 levels are already 0..15.
  const auto nibble = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<uint8_t>(sliced.levels[i]) & 0x0Fu);
  };
  const size_t count = sliced.levels.size();
  for (size_t i = 0; i + 1 < count; i += 2) {
    out.data[i / 2] = static_cast<uint8_t>(nibble(i) | (nibble(i + 1) << 4));
  }
  if (count % 2 != 0) out.data[count / 2] = static_cast<uint8_t>(nibble(count - 1));
  out.scale_dtype = DType::kF16;
  for (const SliceParams &params : sliced.params) append_f16(out.scales, params.scale);
  if (is_asymmetric(spec)) {
    out.zero_point_dtype = DType::kU8;
    for (const SliceParams &params : sliced.params) {
      out.zero_points.push_back(static_cast<uint8_t>(params.zero_point));
    }
  }
  out.overflow_count = sliced.clipped;
  out.slice_count = sliced.params.size();
  out.underflow_count = sliced.underflowed;
  set_quality(sliced, out);
  return out;
}

std::vector<float> reconstruct_int4(const QuantizedTensor &q, const std::vector<uint64_t> &shape) {
  if (shape.empty() || q.spec.group_size == 0) {
    fail_inconsistent(q, "group-wise data needs rank >= 1 and a group size");
  }
  const Slicing slicing = group_slicing(shape, q.spec.group_size);
  const uint64_t count = slicing.rows * slicing.row_length;
  const uint64_t slices = slicing.count();
  const bool asymmetric = is_asymmetric(q.spec);
  if (q.dtype != (asymmetric ? DType::kU4 : DType::kI4) || q.data.size() != packed_size(count)) {
    fail_inconsistent(q, "data does not hold one 4-bit level per element");
  }
  if (q.scale_dtype != DType::kF16 || q.scales.size() != slices * 2) {
    fail_inconsistent(q, "expected " + std::to_string(slices) + " F16 scales");
  }
  if (q.zero_point_dtype != (asymmetric ? DType::kU8 : DType::kUnknown) ||
      q.zero_points.size() != (asymmetric ? slices : 0)) {
    fail_inconsistent(q, "zero points do not match the scheme");
  }
  std::vector<float> out(count);
  for (uint64_t j = 0; j < slices; ++j) {
    const float scale = load_f16(q.scales.data() + 2 * j);
    const int32_t z = asymmetric ? q.zero_points[j] : 0;
    const uint64_t begin = slicing.begin(j);
    const uint64_t end = begin + slicing.length(j);
    for (uint64_t i = begin; i < end; ++i) {
      const uint32_t nibble = (q.data[i / 2] >> (4 * (i % 2))) & 0x0Fu;
      // I4 is two's complement: 8..15 stand for -8..-1.
      const int32_t level =
          asymmetric ? static_cast<int32_t>(nibble) : static_cast<int32_t>(nibble ^ 8u) - 8;
      out[i] = static_cast<float>(level - z) * scale;
    }
  }
  return out;
}

}  // namespace statepack::quant
