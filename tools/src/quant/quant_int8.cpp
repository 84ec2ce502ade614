// SPDX-License-Identifier: Apache-2.0
// The int8 schemes: per channel (axis 0) or per tensor with F32 scales, asymmetric per channel
// with F32 scales and I8 zero points, and groups along each row (a slice of axis 0, later axes
// flattened) with F16 scales. One byte per element, two's complement.
#include <cstring>
#include <string>

#include "quant_internal.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack::quant {
namespace {

// Where each int8 scheme keeps its parameters (FORMAT.md, "Quantization table").
struct Int8Layout {
  Slicing slicing;
  int32_t axis = -1;
  SearchSpec search;
  DType scale_dtype = DType::kF32;
  DType zero_point_dtype = DType::kUnknown;
};

Int8Layout int8_layout(const SchemeSpec &spec, const std::vector<uint64_t> &shape) {
  uint64_t count = 1;
  for (uint64_t dim : shape) count *= dim;
  Int8Layout layout;
  const bool per_channel = shape.size() >= 2;
  switch (spec.scheme) {
    case QuantScheme::kInt8Channel:
      layout.slicing = per_channel ? channel_slicing(shape) : tensor_slicing(count);
      layout.axis = per_channel ? 0 : -1;
      break;
    case QuantScheme::kInt8Asym:
      layout.slicing = per_channel ? channel_slicing(shape) : tensor_slicing(count);
      layout.axis = per_channel ? 0 : -1;
      layout.search.levels = {-128, 127};
      layout.search.asymmetric = true;
      layout.zero_point_dtype = DType::kI8;
      break;
    case QuantScheme::kInt8Group:
      layout.slicing = group_slicing(shape, spec.group_size);
      layout.axis = shape.size() >= 2 ? 1 : 0;
      layout.search.scale_type = ScaleType::kF16;
      layout.scale_dtype = DType::kF16;
      break;
    default:  // kInt8Tensor
      layout.slicing = tensor_slicing(count);
      break;
  }
  return layout;
}

}  // namespace

QuantizedTensor quantize_int8(const std::string &name, const float *values,
                              const std::vector<uint64_t> &shape, const SchemeSpec &spec,
                              const QuantProgress &progress, unsigned threads) {
  const Int8Layout layout = int8_layout(spec, shape);
  const SlicedLevels sliced = quantize_slices(name, scheme_name(spec), values, layout.slicing,
                                              layout.search, progress, threads);
  QuantizedTensor out;
  out.spec = spec;
  out.axis = layout.axis;
  out.dtype = DType::kI8;
  // Two's complement bytes: the levels' own representation.
  out.data.resize(sliced.levels.size());
  if (!sliced.levels.empty()) {
    std::memcpy(out.data.data(), sliced.levels.data(), sliced.levels.size());
  }
  out.scale_dtype = layout.scale_dtype;
  out.zero_point_dtype = layout.zero_point_dtype;
  for (const SliceParams &params : sliced.params) {
    if (layout.scale_dtype == DType::kF16) {
      append_f16(out.scales, params.scale);
    } else {
      append_f32(out.scales, params.scale);
    }
    if (layout.zero_point_dtype == DType::kI8) {
      out.zero_points.push_back(static_cast<uint8_t>(static_cast<int8_t>(params.zero_point)));
    }
  }
  out.overflow_count = sliced.clipped;
  out.slice_count = sliced.params.size();
  out.underflow_count = sliced.underflowed;
  set_quality(sliced, out);
  return out;
}

std::vector<float> reconstruct_int8(const QuantizedTensor &q, const std::vector<uint64_t> &shape) {
  if (q.spec.scheme == QuantScheme::kInt8Group && (shape.empty() || q.spec.group_size == 0)) {
    fail_inconsistent(q, "group-wise data needs rank >= 1 and a group size");
  }
  const Int8Layout layout = int8_layout(q.spec, shape);
  const Slicing &slicing = layout.slicing;
  const uint64_t slices = slicing.count();
  const size_t scale_bytes = layout.scale_dtype == DType::kF16 ? 2 : 4;
  if (q.dtype != DType::kI8 || q.data.size() != slicing.rows * slicing.row_length) {
    fail_inconsistent(q, "data does not hold one I8 per element");
  }
  if (q.scale_dtype != layout.scale_dtype || q.scales.size() != slices * scale_bytes) {
    fail_inconsistent(q, "expected " + std::to_string(slices) + " " +
                             std::string(dtype_name(layout.scale_dtype)) + " scales");
  }
  const bool asymmetric = layout.zero_point_dtype != DType::kUnknown;
  if (q.zero_point_dtype != layout.zero_point_dtype ||
      q.zero_points.size() != (asymmetric ? slices : 0)) {
    fail_inconsistent(q, "zero points do not match the scheme");
  }
  std::vector<float> out(q.data.size());
  for (uint64_t j = 0; j < slices; ++j) {
    const uint8_t *s = q.scales.data() + j * scale_bytes;
    const float scale = scale_bytes == 2 ? load_f16(s) : load_f32(s);
    const int32_t z = asymmetric ? static_cast<int8_t>(q.zero_points[j]) : 0;
    const uint64_t begin = slicing.begin(j);
    const uint64_t end = begin + slicing.length(j);
    for (uint64_t i = begin; i < end; ++i) {
      const int32_t level = static_cast<int8_t>(q.data[i]);
      out[i] = static_cast<float>(level - z) * scale;
    }
  }
  return out;
}

}  // namespace statepack::quant
