// SPDX-License-Identifier: Apache-2.0
// Finding a lossless grid (lossless_grid.hpp). Fake quantization computes
// float((clamp(nearbyint(x / s) + z) - z) * s): an integer n = q - z times an f32 scale with one
// rounding (PyTorch multiplies in double, where n * s is exact, then rounds to f32 once, which
// is the f32 product). So a value x on the grid satisfies x / s = n (1 + e) with |e| <= 2^-24,
// and the ratio of two values of a slice is a ratio of integers of magnitude <= 255. The search
// uses that: a slice's largest magnitude m is N * s for some N in 1..255, and N is the first
// whose m / N makes a sample of the slice land on integers; the scale is then m / N (or a
// neighbouring f32, since m itself was rounded), confirmed on every value of the slice with the
// decoder's own arithmetic, bit for bit.
#include "statepack/tools/quant/lossless_grid.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "quant_internal.hpp"

namespace statepack {
namespace {

constexpr size_t kSampleSize = 64;
// Values that refuted a candidate scale, added to a slice's sample so later candidates are
// tested against them first; after this many refutations the slice is no grid. Bounds the
// work on adversarial slices (few distinct values fit many levels) to a few passes.
constexpr size_t kMaxWitnesses = 16;
// |n| <= 255 and |e| <= 2^-24 put a grid value's ratio within 255 * 2^-23 (3e-5) of an
// integer; off-grid values land within this tolerance of one with probability 0.002 each.
constexpr double kRatioTolerance = 1e-3;

uint32_t bits_of(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}

// Up to kSampleSize magnitudes spread evenly over x[0, n); false if one is NaN or infinite.
struct Sample {
  std::array<double, kSampleSize + kMaxWitnesses> values{};
  size_t count = 0;
  double max = 0;
};
template <typename Value>
bool take_sample(const Value &value, uint64_t first, uint64_t n, Sample *sample) {
  sample->count = static_cast<size_t>(std::min<uint64_t>(n, kSampleSize));
  sample->max = 0;
  for (size_t k = 0; k < sample->count; ++k) {
    const float v = value(first + k * n / sample->count);
    if (!std::isfinite(v)) return false;
    sample->values[k] = std::fabs(static_cast<double>(v));
    sample->max = std::max(sample->max, sample->values[k]);
  }
  return true;
}

// Whether every sampled magnitude is an integer multiple of m / level, within the tolerance.
bool sample_fits(const Sample &sample, double m, int32_t level) {
  for (size_t k = 0; k < sample.count; ++k) {
    const double r = sample.values[k] * level / m;
    if (std::fabs(r - std::nearbyint(r)) > kRatioTolerance) return false;
  }
  return true;
}

// The first level in [from, kMaxGridLevel] that sample_fits, or 0.
int32_t next_level(const Sample &sample, double m, int32_t from) {
  for (int32_t level = from; level <= kMaxGridLevel; ++level) {
    if (sample_fits(sample, m, level)) return level;
  }
  return 0;
}

// The integers of a slice under one scale.
struct Span {
  int32_t low = 0;
  int32_t high = 0;
};

// Whether every x[i] equals float(n) * scale bit for bit (the decoder's product) for an integer
// |n| <= kMaxGridLevel, with at most 256 distinct levels; `span` gets the integers' range and
// `refuted` (if set) the first value off the grid.
bool on_grid(const float *x, uint64_t n, float scale, Span *span, uint64_t *refuted = nullptr) {
  if (!(std::isfinite(scale) && scale != 0)) return false;
  const double inverse = 1.0 / static_cast<double>(scale);
  int32_t low = std::numeric_limits<int32_t>::max(), high = std::numeric_limits<int32_t>::min();
  for (uint64_t i = 0; i < n; ++i) {
    const double r = std::nearbyint(static_cast<double>(x[i]) * inverse);
    const bool in_range = std::fabs(r) <= kMaxGridLevel;  // false for NaN too
    const auto level = in_range ? static_cast<int32_t>(r) : 0;
    if (!in_range || bits_of(static_cast<float>(level) * scale) != bits_of(x[i])) {
      if (refuted != nullptr) *refuted = i;
      return false;
    }
    low = std::min(low, level);
    high = std::max(high, level);
  }
  if (n != 0 && high - low > 255) return false;
  span->low = n == 0 ? 0 : low;
  span->high = n == 0 ? 0 : high;
  return true;
}

// f32 `steps` representable values away from `v` (v > 0).
float step_away(float v, int steps) {
  for (; steps > 0; --steps) v = std::nextafter(v, std::numeric_limits<float>::infinity());
  for (; steps < 0; ++steps) v = std::nextafter(v, 0.0f);
  return v;
}

// One slice's grid: its scale and the integers' range.
struct SliceGrid {
  float scale = 0;
  Span span;
  bool zero = false;  ///< every value is a zero: any scale of the right sign fits
};

bool find_slice_grid(const float *x, uint64_t n, SliceGrid *grid) {
  double m = 0;
  bool negative_zero = false;
  for (uint64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return false;
    m = std::max(m, std::fabs(static_cast<double>(x[i])));
    negative_zero |= bits_of(x[i]) == 0x80000000u;
  }
  // 0 * s keeps the sign of s: a slice whose zeros are -0 needs a negative scale (its integers
  // flip sign), and one with both zeros cannot be a grid (on_grid finds out).
  const float sign = negative_zero ? -1.0f : 1.0f;
  if (m == 0) {
    grid->scale = sign;
    grid->zero = true;
    return on_grid(x, n, grid->scale, &grid->span);
  }
  Sample sample;
  take_sample([x](uint64_t i) { return x[i]; }, 0, n, &sample);
  size_t witnesses = 0;
  for (int32_t level = next_level(sample, m, 1); level != 0;
       level = next_level(sample, m, level + 1)) {
    const auto base = static_cast<float>(m / level);
    uint64_t refuted = 0;
    for (int steps : {0, -1, 1, -2, 2}) {
      const float scale = sign * step_away(base, steps);
      if (on_grid(x, n, scale, &grid->span, steps == 0 ? &refuted : nullptr)) {
        grid->scale = scale;
        return true;
      }
    }
    if (witnesses == kMaxWitnesses) return false;
    ++witnesses;
    sample.values[sample.count++] = std::fabs(static_cast<double>(x[refuted]));
  }
  return false;
}

// Cheap rejection: the first slice whose sample is not all zeros must have sample ratios on
// some level; otherwise (ordinary weights: nearly always) the tensor is no grid.
template <typename Value>
bool sample_could_be_grid(const Value &value, uint64_t rows, uint64_t length) {
  for (uint64_t r = 0; r < rows; ++r) {
    Sample sample;
    if (!take_sample(value, r * length, length, &sample)) return false;
    if (sample.max == 0) continue;
    return next_level(sample, sample.max, 1) != 0;
  }
  return true;  // every sample zero: the full check decides
}

// Rows and row length as the grid slices them: axis 0 at rank >= 2, else one row.
uint64_t row_count(const std::vector<uint64_t> &shape) {
  return shape.size() >= 2 ? shape[0] : 1;
}

int32_t zero_point_for(const Span &span) {
  // Stored levels n + z must fit int8: z in [-128 - low, 127 - high], as near 0 as possible.
  return std::clamp<int32_t>(0, -128 - span.low, 127 - span.high);
}

QuantizedTensor build(const float *values, uint64_t count, QuantScheme scheme, int32_t axis,
                      uint64_t length, const std::vector<SliceGrid> &slices) {
  QuantizedTensor q;
  q.spec.scheme = scheme;
  q.axis = axis;
  q.dtype = DType::kI8;
  q.scale_dtype = DType::kF32;
  const bool asymmetric = scheme == QuantScheme::kInt8Asym;
  if (asymmetric) q.zero_point_dtype = DType::kI8;
  q.data.resize(count);
  for (size_t j = 0; j < slices.size(); ++j) {
    const SliceGrid &g = slices[j];
    const int32_t z = asymmetric ? zero_point_for(g.span) : 0;
    quant::append_f32(q.scales, g.scale);
    if (asymmetric) q.zero_points.push_back(static_cast<uint8_t>(static_cast<int8_t>(z)));
    const double inverse = 1.0 / static_cast<double>(g.scale);
    for (uint64_t i = j * length; i < (j + 1) * length; ++i) {
      const auto level =
          static_cast<int32_t>(std::nearbyint(static_cast<double>(values[i]) * inverse));
      q.data[i] = static_cast<uint8_t>(static_cast<int8_t>(level + z));
    }
  }
  double signal = 0;
  for (uint64_t i = 0; i < count; ++i) signal += static_cast<double>(values[i]) * values[i];
  q.signal_energy = signal;
  q.noise_energy = 0;
  q.sqnr_db = std::numeric_limits<double>::infinity();
  q.max_abs_error = 0;
  q.slice_count = slices.size();
  q.lossless = true;
  return q;
}

bool fits_int8(const Span &span) {
  // The symmetric schemes' documented levels (FORMAT.md): -128 goes to Int8Asym.
  return span.low >= -127 && span.high <= 127;
}

// The whole tensor under one scale: the finest slice scale (the others are multiples of it when
// the tensor was quantized per tensor), of either sign.
std::optional<SliceGrid> tensor_grid(const float *values, uint64_t count,
                                     const std::vector<SliceGrid> &slices) {
  float finest = 0;
  for (const SliceGrid &g : slices) {
    if (!g.zero && (finest == 0 || std::fabs(g.scale) < finest)) finest = std::fabs(g.scale);
  }
  if (finest == 0) finest = 1;
  for (float scale : {finest, -finest}) {
    SliceGrid whole;
    whole.scale = scale;
    if (on_grid(values, count, scale, &whole.span)) return whole;
  }
  return std::nullopt;
}

}  // namespace

std::optional<QuantizedTensor> find_lossless_grid(const float *values,
                                                  const std::vector<uint64_t> &shape) {
  uint64_t count = 1;
  for (uint64_t d : shape) count *= d;
  if (count == 0) return std::nullopt;
  const uint64_t rows = row_count(shape);
  const uint64_t length = count / rows;
  if (!sample_could_be_grid([values](uint64_t i) { return values[i]; }, rows, length)) {
    return std::nullopt;
  }

  std::vector<SliceGrid> slices(rows);
  for (uint64_t r = 0; r < rows; ++r) {
    if (!find_slice_grid(values + r * length, length, &slices[r])) return std::nullopt;
  }
  std::optional<QuantizedTensor> q;
  if (const auto whole = tensor_grid(values, count, slices)) {
    if (fits_int8(whole->span)) {
      q = build(values, count, QuantScheme::kInt8Tensor, -1, count, {*whole});
    } else if (rows == 1) {
      q = build(values, count, QuantScheme::kInt8Asym, -1, count, {*whole});
    } else {
      // Int8Asym is per channel at rank >= 2: the one scale and zero point, repeated.
      q = build(values, count, QuantScheme::kInt8Asym, 0, length,
                std::vector<SliceGrid>(rows, *whole));
    }
  } else {
    const bool symmetric = std::all_of(slices.begin(), slices.end(),
                                       [](const SliceGrid &g) { return fits_int8(g.span); });
    q = build(values, count, symmetric ? QuantScheme::kInt8Channel : QuantScheme::kInt8Asym, 0,
              length, slices);
  }
  // The promise is the decoder's output, so check exactly that, bit for bit.
  const std::vector<float> back = reconstruct(*q, shape);
  for (uint64_t i = 0; i < count; ++i) {
    if (bits_of(back[i]) != bits_of(values[i])) return std::nullopt;
  }
  return q;
}

bool may_be_lossless_grid(const std::vector<uint64_t> &shape,
                          const std::function<float(uint64_t)> &value) {
  uint64_t count = 1;
  for (uint64_t d : shape) count *= d;
  if (count == 0) return false;
  const uint64_t rows = row_count(shape);
  return sample_could_be_grid(value, rows, count / rows);
}

const char *grid_description(const QuantizedTensor &q) {
  switch (q.spec.scheme) {
    case QuantScheme::kInt8Tensor:
      return "int8 per tensor";
    case QuantScheme::kInt8Channel:
      return q.axis == 0 ? "int8 per channel" : "int8 per tensor";
    case QuantScheme::kInt8Asym:
      return q.axis == 0 ? "int8 asym per channel" : "int8 asym per tensor";
    default:
      return "grid";
  }
}

}  // namespace statepack
