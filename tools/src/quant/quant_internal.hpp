// SPDX-License-Identifier: Apache-2.0
// The pieces quantize() is built from, shared between the quant_*.cpp files: how a tensor is
// cut into slices that share parameters (FORMAT.md's layouts), the per-slice scale search,
// the scheme families' encoders and decoders, and parameter bytes. Not installed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack::quant {

/// The type a scale is stored in; the search only considers values that type holds.
enum class ScaleType { kF32, kF16 };

/// Inclusive range of stored integer levels.
struct LevelRange {
  int32_t min;
  int32_t max;
};

/// What the scale search may choose for a slice.
struct SearchSpec {
  LevelRange levels{-127, 127};
  ScaleType scale_type = ScaleType::kF32;
  bool asymmetric = false;    ///< choose an integer zero point in `levels` as well
  bool signed_scale = false;  ///< also try negative scales (the extreme value on levels.min)
};

/// One slice's parameters: element value = float(q - zero_point) * scale.
struct SliceParams {
  float scale = 0;
  int32_t zero_point = 0;
};

/// A tensor cut into runs of consecutive elements that share parameters: `rows` rows of
/// `row_length` elements, each row cut into groups of `group` (the last one shorter), or kept
/// whole when `group` is 0. Slice j is group j % per_row() of row j / per_row().
struct Slicing {
  uint64_t rows = 0;
  uint64_t row_length = 0;
  uint64_t group = 0;

  uint64_t per_row() const {
    if (group == 0) return 1;
    return row_length / group + (row_length % group != 0 ? 1 : 0);
  }
  uint64_t count() const { return rows * per_row(); }
  uint64_t begin(uint64_t slice) const {
    return (slice / per_row()) * row_length + (slice % per_row()) * group;
  }
  uint64_t length(uint64_t slice) const {
    if (group == 0) return row_length;
    const uint64_t column = (slice % per_row()) * group;
    return row_length - column < group ? row_length - column : group;
  }
};

// quantize.cpp: FORMAT.md's layouts.
/// The whole tensor as one slice.
Slicing tensor_slicing(uint64_t element_count);
/// One slice per index of axis 0 (rank >= 2).
Slicing channel_slicing(const std::vector<uint64_t> &shape);
/// Groups of `group` along rows (slices of axis 0 with later axes flattened; rank 1: one
/// row), ragged at each row's end.
Slicing group_slicing(const std::vector<uint64_t> &shape, uint64_t group);

// quant_search.cpp: choosing parameters that minimise squared error.
/// `scale` as `type` stores it (f16: rounded to nearest even, possibly 0 or infinite).
float representable_scale(double scale, ScaleType type);
/// The parameters for x[0, n) with the least squared reconstruction error the search finds;
/// nullopt if even the unclipped scale does not fit the scale type. Finite input only.
std::optional<SliceParams> search_params(const float *x, size_t n, const SearchSpec &spec);

/// Every slice's levels and parameters.
struct SlicedLevels {
  std::vector<int8_t> levels;  ///< one per element, in element order
  std::vector<SliceParams> params;
  uint64_t clipped = 0;
  uint64_t underflowed = 0;  ///< slices with a nonzero value whose scale is 0 (decoded as 0)
  /// Measured on the decoded values (see measure_quality), slice by slice.
  double signal = 0;
  double noise = 0;
  double max_error = 0;
};
/// Searches and assigns every slice of `values`. Throws an input Error naming `name` when a
/// slice needs a scale its type cannot hold (`scheme` names the scheme in that message).
/// `progress` (if set) gets elements done and in total every few million elements. Slices are
/// searched on up to `threads` threads (core/parallel); the result is the same for any count.
SlicedLevels quantize_slices(const std::string &name, const std::string &scheme,
                             const float *values, const Slicing &slicing, const SearchSpec &spec,
                             const QuantProgress &progress = {}, unsigned threads = 1);

// quant_int8.cpp, quant_int4.cpp, quant_cast.cpp: encoders (data, parameters, overflow count)
// and decoders (the exact values reconstruct returns). Decoders throw on inconsistent sizes.
QuantizedTensor quantize_int8(const std::string &name, const float *values,
                              const std::vector<uint64_t> &shape, const SchemeSpec &spec,
                              const QuantProgress &progress = {}, unsigned threads = 1);
std::vector<float> reconstruct_int8(const QuantizedTensor &q, const std::vector<uint64_t> &shape);
QuantizedTensor quantize_int4(const std::string &name, const float *values,
                              const std::vector<uint64_t> &shape, const SchemeSpec &spec,
                              const QuantProgress &progress = {}, unsigned threads = 1);
std::vector<float> reconstruct_int4(const QuantizedTensor &q, const std::vector<uint64_t> &shape);
// quant_int4k.cpp: the two-level int4-k scheme (FORMAT.md, "Int4K"). Finite input only.
QuantizedTensor quantize_int4k(const std::string &name, const float *values,
                               const std::vector<uint64_t> &shape, const SchemeSpec &spec,
                               const QuantProgress &progress = {});
std::vector<float> reconstruct_int4k(const QuantizedTensor &q, const std::vector<uint64_t> &shape);
QuantizedTensor quantize_cast(const float *values, uint64_t count, const SchemeSpec &spec);
std::vector<float> reconstruct_cast(const QuantizedTensor &q, uint64_t count);

/// Palette (palette.cpp): element i is palette entry index[i], as spk_dequantize gives it.
std::vector<float> reconstruct_palette(const QuantizedTensor &q, uint64_t count);

// quant_quality.cpp
/// Fills the quality fields of `q` from a SlicedLevels' measurement.
void set_quality(const SlicedLevels &sliced, QuantizedTensor &q);
/// Fills sqnr_db and max_abs_error from the original and reconstructed values. Non-finite
/// originals are left out (casts carry them through unchanged); a finite value that became
/// infinite makes the error infinite.
void measure_quality(const float *original, const std::vector<float> &reconstructed,
                     QuantizedTensor &q);

/// 10 log10(signal / noise): +inf when noise is 0 (exact), -inf when it is infinite (a
/// finite value became infinite).
double sqnr_db_of(double signal, double noise);

// Parameter bytes, little-endian whatever the host.
inline void append_f32(std::vector<uint8_t> &out, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  append_le(out, bits, 4);
}
inline void append_f16(std::vector<uint8_t> &out, float value) {
  append_le(out, f32_to_f16(value), 2);
}
inline float load_f32(const uint8_t *p) {
  const uint32_t bits = load_le32(p);
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}
inline float load_f16(const uint8_t *p) {
  return f16_to_f32(load_le16(p));
}

/// Throws an input Error about a QuantizedTensor whose parts do not fit together.
[[noreturn]] void fail_inconsistent(const QuantizedTensor &q, const std::string &problem);

}  // namespace statepack::quant
