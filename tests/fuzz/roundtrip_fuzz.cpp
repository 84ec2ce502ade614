// SPDX-License-Identifier: Apache-2.0
// Fuzz target: pack and read back. The input describes a checkpoint (tensors of every dtype
// with shapes, names and bytes taken from the input, typed metadata) and the blob options
// (checksum, alignment, zstd, and a quantization scheme per tensor); the packer quantizes it as
// `pack --rule` does (apply_quant_plan) and build_blob packs it. The runtime must open and
// verify the blob and give back every tensor's name, dtype, shape and stored bytes (decoded
// through the zstd add-on when compressed) and every metadata entry, exactly. A quantized
// tensor must decode through the runtime (spk_dequantize, or spk_zstd_dequantize when
// compressed) to exactly the packer's reconstruction, and that reconstruction must be within
// the scheme's error bound of the original values. The packer may refuse only what it is
// documented to refuse: two tensors of the same name, a rule for a tensor the scheme cannot
// apply to, NaN or infinity in an integer scheme, and values whose scale f16 cannot hold.
//
// Input layout, read front to back (fuzz_support.hpp's Input; past the end everything is 0):
//   control  bit 0 xxh32, bits 1-3 alignment 8 << n, bit 4 zstd, bit 5 tie equal-sized tensors,
//            bits 6+7 both set: quantization (either alone keeps an input's meaning from before
//            quantization was added, so the crash reproducers in the corpus replay as found)
//   count    tensors (% 9), then per tensor: name, dtype, rank, dims, and when quantizing a
//            scheme byte (% the CLI's scheme names) and a value byte (low 2 bits: 0 = bytes
//            from the input, else generated weights of mode 1-3 at 2^(bits 2-7 - 40), seeded by
//            a u32 from the input, so a large tensor costs 6 bytes of input), then its bytes
//   metadata count (% 4) and entries
//   passes   bit 0: the lossless-grid pass (grids and palettes) after quantization, judged on
//            raw sizes, or with zstd on the codec's estimate; bit 1: palettize first: every
//            F32/F16/BF16 tensor without a rule (or with `keep`) takes element i % k for k = 1 + a
//            u8 * 2 + bit 2 (1..512, so more than 256 values too). Inputs from before end earlier:
//            no pass.
// A tensor the pass converts must decode to its source values bit for bit (NaN never qualifies).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/codec/segment_codec.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/lossless_grid_pass.hpp"
#include "statepack/tools/quant/quant_rules.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace {

using statepack::DType;
using statepack::is_floating;
using statepack::QuantScheme;
using statepack::SchemeSpec;

std::vector<uint8_t> tensor_bytes(statepack::fuzz::Input &in, uint64_t size) {
  std::vector<uint8_t> out(static_cast<size_t>(size));
  const std::vector<uint8_t> source = in.bytes(static_cast<size_t>(size));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = source.empty() ? static_cast<uint8_t>(i * 37) : source[i % source.size()];
  }
  return out;
}

std::string name_from(statepack::fuzz::Input &in) {
  const size_t length = 1 + in.u8() % 12;
  std::string name;
  for (size_t i = 0; i < length; ++i) {
    const uint8_t c = in.u8();
    // Mostly printable (so names collide and sort interestingly), sometimes any byte but NUL.
    name.push_back(static_cast<char>(c < 0xC0 ? 'a' + c % 6 : (c == 0xFF ? '.' : c)));
  }
  return name;
}

bool is_group_wise(QuantScheme s) {
  return s == QuantScheme::kInt8Group || s == QuantScheme::kInt4Group ||
         s == QuantScheme::kInt4GroupAsym || s == QuantScheme::kInt4K;
}

bool is_cast(QuantScheme s) {
  return s == QuantScheme::kF16Cast || s == QuantScheme::kBF16Cast;
}

uint32_t bits_of(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}

float float_of(uint32_t b) {
  float v;
  std::memcpy(&v, &b, sizeof(v));
  return v;
}

// splitmix64: generated weights depend only on the seed the input gives.
struct Random {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float unit() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
};

// Weights as training leaves them, scaled by 2^exponent, in the tensor's dtype: mode 1 uniform
// in (-1, 1), mode 2 bell-shaped within +-2 plus one outlier of +-32 (so clipping pays), mode 3
// about a third zeros and the rest in [0.5, 1.5] (so asymmetric schemes move their zero point).
// F8 has no encoder here, so it gets random codes.
std::vector<uint8_t> generated_bytes(DType dtype, uint64_t count, unsigned mode, int exponent,
                                     uint32_t seed) {
  Random random{seed};
  const size_t width = statepack::dtype_bits(dtype) / 8;
  std::vector<uint8_t> out(static_cast<size_t>(count) * width);
  const uint64_t outlier = count == 0 ? 0 : random.next() % count;
  for (uint64_t i = 0; i < count; ++i) {
    float v = 0;
    if (mode == 1) {
      v = 2 * random.unit() - 1;
    } else if (mode == 2) {
      v = random.unit() + random.unit() + random.unit() + random.unit() - 2;
      if (i == outlier) v = 32 * (v < 0 ? -1.0f : 1.0f);
    } else {
      v = random.unit() < 0.3f ? 0.0f : 1 + 0.5f * (2 * random.unit() - 1);
    }
    v = std::ldexp(v, exponent);
    uint8_t *p = out.data() + i * width;
    uint64_t bits = 0;
    switch (dtype) {
      case DType::kF32:
        bits = bits_of(v);
        break;
      case DType::kF64: {
        const double d = v;
        std::memcpy(&bits, &d, sizeof(bits));
        break;
      }
      case DType::kF16:
        bits = statepack::f32_to_f16(v);
        break;
      case DType::kBF16:
        bits = statepack::f32_to_bf16(v);
        break;
      default:
        bits = random.next();
        break;
    }
    for (size_t k = 0; k < width; ++k) p[k] = static_cast<uint8_t>(bits >> (8 * k));
  }
  return out;
}

// A glob that matches exactly `name` (fnmatch without FNM_NOESCAPE).
std::string exact_glob(const std::string &name) {
  std::string glob;
  for (const char c : name) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') glob.push_back('\\');
    glob.push_back(c);
  }
  return glob;
}

// FORMAT.md's slices for a scheme: `rows` runs of `row_length` elements, each cut into groups of
// `group` (the last one shorter) or kept whole when `group` is 0. Written out again here rather
// than taken from the packer, so a packer that slices wrongly fails the error bound.
struct Slices {
  uint64_t rows = 0;
  uint64_t row_length = 0;
  uint64_t group = 0;
  uint64_t per_row() const { return group == 0 ? 1 : (row_length + group - 1) / group; }
};

Slices slices_of(const SchemeSpec &spec, const std::vector<uint64_t> &shape, uint64_t count) {
  Slices s;
  if (is_group_wise(spec.scheme)) {
    s.rows = shape.size() >= 2 ? shape[0] : 1;
    s.row_length = s.rows == 0 ? 0 : count / s.rows;
    if (s.row_length == 0) s.rows = 0;
    s.group = spec.group_size;
  } else if (spec.scheme != QuantScheme::kInt8Tensor && shape.size() >= 2) {
    s.rows = shape[0];  // per output channel
    s.row_length = s.rows == 0 ? 0 : count / s.rows;
  } else {
    s.rows = 1;
    s.row_length = count;
  }
  return s;
}

// The scheme's integer levels, scale type and whether it has a zero point.
struct Levels {
  int min;
  int max;
  bool f16_scale;
  bool asymmetric;
};

Levels levels_of(QuantScheme scheme) {
  switch (scheme) {
    case QuantScheme::kInt8Asym:
      return {-128, 127, false, true};
    case QuantScheme::kInt8Group:
      return {-127, 127, true, false};
    case QuantScheme::kInt4Group:
      return {-8, 7, true, false};
    case QuantScheme::kInt4GroupAsym:
      return {0, 15, true, true};
    default:
      return {-127, 127, false, false};  // int8 per channel, per tensor
  }
}

float stored_scale(double scale, bool f16) {
  const auto f = static_cast<float>(scale);
  return f16 ? statepack::f16_to_f32(statepack::f32_to_f16(f)) : f;
}

struct SliceRange {
  float min = 0;  // starting at 0, as the packer's range always includes zero
  float max = 0;
  float amax = 0;
};

SliceRange range_of(const float *x, uint64_t n) {
  SliceRange r;
  for (uint64_t i = 0; i < n; ++i) {
    r.min = std::min(r.min, x[i]);
    r.max = std::max(r.max, x[i]);
    r.amax = std::max(r.amax, std::fabs(x[i]));
  }
  return r;
}

// True when the scale that covers the whole slice does not fit an f16 scale, which the packer
// refuses ("need a scale beyond f16's largest"). Symmetric int4 can put its largest magnitude
// on level -8, so it needs only amax / 8.
bool scale_overflows(const SchemeSpec &spec, const float *values, uint64_t count,
                     const std::vector<uint64_t> &shape) {
  // int4-k refuses exactly the values beyond its largest, 65504 * 63 * 127 (FORMAT.md).
  if (spec.scheme == QuantScheme::kInt4K) {
    for (uint64_t i = 0; i < count; ++i) {
      if (std::fabs(values[i]) > 65504.0f * 63.0f * 127.0f) return true;
    }
    return false;
  }
  const Levels levels = levels_of(spec.scheme);
  if (!levels.f16_scale) return false;
  const Slices s = slices_of(spec, shape, count);
  for (uint64_t row = 0; row < s.rows; ++row) {
    for (uint64_t g = 0; g < s.per_row(); ++g) {
      const uint64_t begin = row * s.row_length + g * s.group;
      const uint64_t n =
          s.group == 0 ? s.row_length : std::min(s.group, s.row_length - g * s.group);
      const SliceRange r = range_of(values + begin, n);
      if (r.amax == 0) continue;
      const double unclipped =
          levels.asymmetric
              ? (static_cast<double>(r.max) - static_cast<double>(r.min)) /
                    (levels.max - levels.min)
              : static_cast<double>(r.amax) / (-levels.min > levels.max ? -levels.min : levels.max);
      if (!std::isfinite(stored_scale(unclipped, true))) return true;
    }
  }
  return false;
}

// Bytes an integer scheme stores for a tensor: levels (int4: two a byte) plus one scale (and
// zero point) per slice. An explicit rule keeps a tensor that would not shrink.
uint64_t stored_size(const SchemeSpec &spec, const std::vector<uint64_t> &shape, uint64_t count) {
  if (spec.scheme == QuantScheme::kInt4K) {
    // 4-bit indices; per 16 sub-blocks an F16 scale and a 14-byte record of their scales.
    const Slices s = slices_of(spec, shape, count);
    return count / 2 + count % 2 + (s.rows * s.per_row() + 15) / 16 * 16;
  }
  const Levels levels = levels_of(spec.scheme);
  const bool int4 = levels.max - levels.min <= 15;
  const Slices s = slices_of(spec, shape, count);
  const uint64_t per_slice = (levels.f16_scale ? 2 : 4) + (levels.asymmetric ? 1 : 0);
  return (int4 ? count / 2 + count % 2 : count) + s.rows * s.per_row() * per_slice;
}

// The integer schemes' bound: the packer chooses scales that minimise squared error, starting
// from the scale that covers the slice, so on every slice its squared error is at most that of
// plain round-to-nearest at the covering scale (stored in the scheme's scale type) — computed
// here independently. The slack covers the packer pricing errors in double while the runtime
// multiplies in float.
void check_integer_bound(const SchemeSpec &spec, const float *x, const float *decoded,
                         uint64_t count, const std::vector<uint64_t> &shape) {
  const Levels levels = levels_of(spec.scheme);
  const Slices s = slices_of(spec, shape, count);
  FUZZ_CHECK(s.rows * s.row_length == count);
  if (spec.scheme == QuantScheme::kInt4K) {
    // int4-k keeps a sub-block's scale only where it beats zeros, so no sub-block's squared
    // error exceeds its energy.
    for (uint64_t row = 0; row < s.rows; ++row) {
      for (uint64_t g = 0; g < s.per_row(); ++g) {
        const uint64_t begin = row * s.row_length + g * s.group;
        const uint64_t end = begin + std::min(s.group, s.row_length - g * s.group);
        double signal = 0, packed = 0;
        for (uint64_t i = begin; i < end; ++i) {
          signal += static_cast<double>(x[i]) * x[i];
          packed +=
              (static_cast<double>(x[i]) - decoded[i]) * (static_cast<double>(x[i]) - decoded[i]);
        }
        FUZZ_CHECK(packed <= signal * (1 + 1e-5));
      }
    }
    return;
  }
  for (uint64_t row = 0; row < s.rows; ++row) {
    for (uint64_t g = 0; g < s.per_row(); ++g) {
      const uint64_t begin = row * s.row_length + g * s.group;
      const uint64_t n =
          s.group == 0 ? s.row_length : std::min(s.group, s.row_length - g * s.group);
      const SliceRange r = range_of(x + begin, n);
      float scale = 0;
      int zero = 0;
      if (levels.asymmetric) {
        scale = stored_scale((static_cast<double>(r.max) - r.min) / (levels.max - levels.min),
                             levels.f16_scale);
        if (scale > 0 && std::isfinite(scale)) {
          const double z = std::nearbyint(levels.min - r.min / static_cast<double>(scale));
          zero = static_cast<int>(std::min<double>(std::max<double>(z, levels.min), levels.max));
        }
      } else {
        scale = stored_scale(static_cast<double>(r.amax) / levels.max, levels.f16_scale);
      }
      const bool usable = scale > 0 && std::isfinite(scale);
      double signal = 0;
      double reference = 0;
      double packed = 0;
      for (uint64_t i = begin; i < begin + n; ++i) {
        float y = 0;
        if (usable) {
          const float q =
              std::nearbyint(std::min(std::max(x[i] / scale, static_cast<float>(levels.min - zero)),
                                      static_cast<float>(levels.max - zero)));
          y = q * scale;
        }
        const double v = x[i];
        signal += v * v;
        reference += (v - y) * (v - y);
        packed += (v - decoded[i]) * (v - decoded[i]);
      }
      if (!(packed <= reference * (1 + 1e-6) + 1e-6 * signal)) {
        std::fprintf(stderr, "slice %llu.%llu of %s: squared error %.9g, round-to-nearest %.9g\n",
                     static_cast<unsigned long long>(row), static_cast<unsigned long long>(g),
                     statepack::scheme_name(spec).c_str(), packed, reference);
      }
      FUZZ_CHECK(packed <= reference * (1 + 1e-6) + 1e-6 * signal);
    }
  }
}

// The casts' bound: correct rounding to the narrower type, element by element. Within its
// range the error is at most half an ulp (2^-11 relative for f16, 2^-8 for bf16, or half the
// smallest subnormal); past it the value becomes an infinity of its sign; NaN stays NaN.
void check_cast_bound(QuantScheme scheme, const float *x, const float *y, uint64_t count) {
  const bool f16 = scheme == QuantScheme::kF16Cast;
  const float overflow = f16 ? 65520.0f : float_of(0x7F7F8000u);
  const double relative = f16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
  const double absolute = f16 ? std::ldexp(1.0, -25) : std::ldexp(1.0, -134);
  for (uint64_t i = 0; i < count; ++i) {
    if (std::isnan(x[i])) {
      FUZZ_CHECK(std::isnan(y[i]));
      continue;
    }
    if (std::isinf(x[i]) || std::fabs(x[i]) >= overflow) {
      FUZZ_CHECK(std::isinf(y[i]) && std::signbit(y[i]) == std::signbit(x[i]));
      continue;
    }
    FUZZ_CHECK(std::isfinite(y[i]));
    const double error = std::fabs(static_cast<double>(x[i]) - y[i]);
    FUZZ_CHECK(error <= std::max(std::fabs(static_cast<double>(x[i])) * relative, absolute));
    // Representable in the narrow type: converting again changes nothing.
    if (f16) {
      FUZZ_CHECK(bits_of(statepack::f16_to_f32(statepack::f32_to_f16(y[i]))) == bits_of(y[i]));
    } else {
      FUZZ_CHECK((bits_of(y[i]) & 0xFFFFu) == 0);
    }
  }
}

// What the fuzz input asked of one tensor, and what the packer should make of it.
struct Plan {
  std::string name;
  std::optional<SchemeSpec> rule;  // the --rule given for it
  bool quantized = false;          // the packer should quantize it
  statepack::ErrorKind refusal = statepack::ErrorKind::kInput;
  bool refused = false;         // the packer should refuse it
  bool lossless = false;        // the lossless-grid pass stored it (a grid or a palette)
  std::vector<float> original;  // its values before quantization (floating tensors)
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  statepack::fuzz::Input in(data, size);
  statepack::BlobOptions options;
  const uint8_t control = in.u8();
  options.checksum =
      (control & 1) ? statepack::ChecksumAlgo::kXxh32 : statepack::ChecksumAlgo::kXxh64;
  options.alignment = 8u << ((control >> 1) % 8);  // 8 .. 1024
  options.compression.zstd = (control & 0x10) != 0;
  options.compression.level = 1;
  options.threads = 1;
  const bool quantize = (control & 0xC0) == 0xC0;
  static const std::vector<std::string> kSchemes = statepack::scheme_names();

  statepack::Checkpoint checkpoint;
  std::vector<Plan> plans;
  std::set<std::string> names;
  bool duplicate = false;
  const unsigned tensor_count = in.u8() % 9;
  for (unsigned i = 0; i < tensor_count; ++i) {
    statepack::Tensor t;
    t.name = name_from(in);
    t.dtype = static_cast<DType>(1 + in.u8() % 22);
    const unsigned rank = in.u8() % 5;
    uint64_t count = 1;
    for (unsigned d = 0; d < rank; ++d) {
      const uint64_t dim = in.u8() % 9;
      t.shape.push_back(dim);
      count *= dim;
    }
    // Sub-byte dtypes need a whole number of bytes (an odd count of I4 has no input form).
    const std::optional<uint64_t> bytes = statepack::byte_size(t.dtype, count);
    if (!bytes) continue;
    t.size = *bytes;
    duplicate |= !names.insert(t.name).second;
    Plan plan;
    plan.name = t.name;
    std::vector<uint8_t> content;
    if (quantize) {
      const uint8_t scheme = in.u8();
      const uint8_t value = in.u8();
      // A rule for a tensor the scheme cannot apply to (integer dtype) only now and then, or
      // most quantizing runs would end in that refusal.
      if (is_floating(t.dtype) || scheme >= 0xF0) {
        plan.rule = statepack::parse_scheme(kSchemes[scheme % kSchemes.size()]);
      }
      if ((value & 3) != 0 && is_floating(t.dtype)) {
        content = generated_bytes(t.dtype, count, value & 3, (value >> 2) - 40, in.u32());
      }
    }
    if (content.empty()) content = tensor_bytes(in, t.size);
    auto storage = std::make_shared<std::vector<uint8_t>>(std::move(content));
    // Tied tensors: sometimes copy the previous tensor's bytes when the sizes match.
    if (!checkpoint.tensors.empty() && t.size > 0 && (control & 0x20) != 0 &&
        checkpoint.tensors.back().size == t.size) {
      std::memcpy(storage->data(), checkpoint.tensors.back().data, static_cast<size_t>(t.size));
    }
    t.data = storage->data();
    t.owner = storage;
    if (is_floating(t.dtype)) plan.original = statepack::to_f32(t);
    checkpoint.tensors.push_back(std::move(t));
    plans.push_back(std::move(plan));
  }
  const unsigned meta_count = in.u8() % 4;
  for (unsigned i = 0; i < meta_count; ++i) {
    const std::string key = name_from(in);
    const uint8_t kind = in.u8() % 4;
    const uint32_t v = in.u32();
    statepack::MetaValue value;
    if (kind == 0) value = statepack::MetaValue::of_string(name_from(in));
    if (kind == 1) value = statepack::MetaValue::of_int(static_cast<int32_t>(v));
    if (kind == 2) value = statepack::MetaValue::of_float(static_cast<double>(v) / 7.0);
    if (kind == 3) value = statepack::MetaValue::of_bool((v & 1) != 0);
    checkpoint.metadata[key] = value;
  }
  const uint8_t passes = in.u8();
  if ((passes & 2) != 0) {
    const uint64_t k = 1 + uint64_t{in.u8()} * 2 + ((passes >> 2) & 1);
    for (size_t i = 0; i < plans.size(); ++i) {
      statepack::Tensor &t = checkpoint.tensors[i];
      if ((plans[i].rule && plans[i].rule->scheme != QuantScheme::kNone) ||
          (t.dtype != DType::kF32 && t.dtype != DType::kF16 && t.dtype != DType::kBF16)) {
        continue;
      }
      const size_t width = statepack::dtype_bits(t.dtype) / 8;
      auto palettized = std::make_shared<std::vector<uint8_t>>(t.data, t.data + t.size);
      for (uint64_t e = k; e < t.element_count(); ++e) {
        std::memcpy(palettized->data() + e * width, palettized->data() + (e % k) * width, width);
      }
      t.data = palettized->data();
      t.owner = palettized;
      plans[i].original = statepack::to_f32(t);
    }
  }

  // Quantization, as `pack --rule NAME=SCHEME` for each tensor. With a duplicate name a rule
  // would match both tensors, and the writer refuses the checkpoint anyway, so none is given.
  statepack::QuantPlan quant_plan;
  const Plan *first_refused = nullptr;
  if (quantize && !duplicate) {
    for (size_t i = 0; i < plans.size(); ++i) {
      Plan &plan = plans[i];
      const statepack::Tensor &t = checkpoint.tensors[i];
      if (!plan.rule || plan.rule->scheme == QuantScheme::kNone) continue;
      const SchemeSpec spec = *plan.rule;
      quant_plan.rules.push_back(
          {t.name + "=" + statepack::scheme_name(spec), exact_glob(t.name), spec});
      if (!is_floating(t.dtype) || (is_group_wise(spec.scheme) && t.shape.empty())) {
        // A rule keeps what its scheme cannot apply to (an integer tensor, a scalar under
        // groups) as it is, and reports it.
      } else if ((spec.scheme == QuantScheme::kF16Cast && t.dtype == DType::kF16) ||
                 (spec.scheme == QuantScheme::kBF16Cast && t.dtype == DType::kBF16)) {
        // A cast to the type the tensor has is no change, and the packer leaves it alone.
      } else if (!is_cast(spec.scheme) && t.element_count() == 0) {
        // Nothing to scale: the packer keeps an empty tensor as it is under an integer scheme
        // (reproducers of when it did not: corpus/roundtrip/crash-6c00a3b8..., crash-fdd813cd...).
      } else if (!is_cast(spec.scheme) &&
                 (std::any_of(plan.original.begin(), plan.original.end(),
                              [](float v) { return !std::isfinite(v); }) ||
                  scale_overflows(spec, plan.original.data(), plan.original.size(), t.shape))) {
        plan.refused = true;
      } else if (!is_cast(spec.scheme) && stored_size(spec, t.shape, t.element_count()) >= t.size) {
        // Parameters would outweigh what the levels save: kept as it is, and reported.
      } else {
        plan.quantized = true;
      }
      // The packer works through the tensors in name order and stops at the first refusal.
      if (plan.refused && (first_refused == nullptr || plan.name < first_refused->name)) {
        first_refused = &plan;
      }
    }
    try {
      statepack::apply_quant_plan(checkpoint, quant_plan);
    } catch (const statepack::Error &e) {
      if (first_refused == nullptr) std::fprintf(stderr, "unexpected refusal: %s\n", e.what());
      FUZZ_CHECK(first_refused != nullptr);
      FUZZ_CHECK(e.kind() == first_refused->refusal);
      FUZZ_CHECK(std::string(e.what()).find("\"" + first_refused->name + "\"") !=
                 std::string::npos);
      return 0;
    }
    FUZZ_CHECK(first_refused == nullptr);
  }
  if ((passes & 1) != 0) {
    statepack::CodedSize coded;
    if (options.compression.zstd) {
      coded = [](const uint8_t *bytes, uint64_t n, DType dtype) {
        return statepack::estimate_coded_size(bytes, n, dtype, 1, statepack::kDefaultMaxChunk);
      };
    }
    const auto rows = statepack::apply_lossless_grids(checkpoint, quant_plan, coded);
    for (const statepack::GridReportRow &row : rows) {
      // The row's tensor: the first of its name the pass converted and no row claimed yet.
      size_t i = 0;
      while (i < plans.size() && (checkpoint.tensors[i].name != row.name ||
                                  checkpoint.tensors[i].quant == nullptr || plans[i].quantized)) {
        ++i;
      }
      FUZZ_CHECK(i < plans.size());
      FUZZ_CHECK(checkpoint.tensors[i].quant->lossless);
      FUZZ_CHECK(std::none_of(plans[i].original.begin(), plans[i].original.end(),
                              [](float v) { return std::isnan(v); }));
      plans[i].quantized = true;
      plans[i].lossless = true;
    }
  }

  std::vector<uint8_t> blob;
  try {
    blob = statepack::build_blob(checkpoint, options);
  } catch (const statepack::Error &e) {
    if (!duplicate) std::fprintf(stderr, "unexpected refusal: %s\n", e.what());
    FUZZ_CHECK(duplicate);
    return 0;
  }
  FUZZ_CHECK(!duplicate);

  spk_blob opened;
  const spk_status status = spk_open(&opened, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS);
  if (status != SPK_OK) std::fprintf(stderr, "spk_open: %s\n", spk_status_str(status));
  FUZZ_CHECK(status == SPK_OK);
  FUZZ_CHECK(spk_verify(&opened) == SPK_OK);
  FUZZ_CHECK(spk_tensor_count(&opened) == checkpoint.tensors.size());
  FUZZ_CHECK(spk_alignment(&opened) == options.alignment);
  for (size_t i = 0; i < checkpoint.tensors.size(); ++i) {
    const statepack::Tensor &expected = checkpoint.tensors[i];
    const Plan &plan = plans[i];
    spk_tensor t;
    FUZZ_CHECK(spk_find_n(&opened, expected.name.data(), expected.name.size(), &t) == SPK_OK);
    FUZZ_CHECK(static_cast<int>(t.dtype) == static_cast<int>(expected.dtype));
    FUZZ_CHECK(t.rank == expected.shape.size());
    for (uint32_t d = 0; d < t.rank; ++d) FUZZ_CHECK(t.shape[d] == expected.shape[d]);
    FUZZ_CHECK(t.decoded_size == expected.size);
    FUZZ_CHECK((expected.quant != nullptr) == plan.quantized);
    FUZZ_CHECK(static_cast<int>(t.quant.scheme) ==
               static_cast<int>(plan.quantized ? expected.quant->spec.scheme : QuantScheme::kNone));
    // The stored bytes, bit for bit (for a quantized tensor: the packer's levels or casts).
    std::vector<uint8_t> workspace;
    if (t.codec == SPK_CODEC_RAW) {
      FUZZ_CHECK(t.stored_size == expected.size);
      FUZZ_CHECK(expected.size == 0 || std::memcmp(t.data, expected.data, expected.size) == 0);
    } else {
      FUZZ_CHECK(options.compression.zstd);
      workspace.resize(
          std::max(spk_zstd_workspace_size(&t), spk_zstd_dequantize_workspace_size(&t)));
      std::vector<uint8_t> decoded(static_cast<size_t>(t.decoded_size));
      FUZZ_CHECK(spk_zstd_decode(&t, workspace.data(), workspace.size(), decoded.data(),
                                 decoded.size()) == SPK_OK);
      FUZZ_CHECK(std::memcmp(decoded.data(), expected.data, decoded.size()) == 0);
    }
    if (!plan.quantized) continue;

    // The runtime's values equal the packer's reconstruction bit for bit (so the SQNR and
    // error `pack` reports are what the device gets)...
    const statepack::QuantizedTensor &q = *expected.quant;
    const uint64_t count = expected.element_count();
    const std::vector<float> reconstructed = statepack::reconstruct(expected);
    FUZZ_CHECK(reconstructed.size() == count && plan.original.size() == count);
    // One spare element: an empty tensor still needs a non-null buffer (NULL is refused).
    std::vector<float> values(static_cast<size_t>(count) + 1);
    if (t.codec == SPK_CODEC_RAW) {
      FUZZ_CHECK(spk_dequantize(&t, values.data(), count) == SPK_OK);
    } else {
      // The core runtime leaves compressed tensors to the add-on.
      FUZZ_CHECK(spk_dequantize(&t, values.data(), count) == SPK_ERR_UNSUPPORTED);
      FUZZ_CHECK(spk_zstd_dequantize(&t, workspace.data(), workspace.size(), values.data(),
                                     count) == SPK_OK);
    }
    // Bit for bit, NaN payloads included (reproducer of a runtime that widened every NaN to
    // the canonical one: corpus/roundtrip/crash-a080c153...).
    for (uint64_t k = 0; k < count; ++k)
      FUZZ_CHECK(bits_of(values[k]) == bits_of(reconstructed[k]));
    // ... the reported largest error is the one measured on those values ...
    double max_error = 0;
    for (uint64_t k = 0; k < count; ++k) {
      if (!std::isfinite(plan.original[k])) continue;
      max_error = std::max(max_error, std::fabs(static_cast<double>(plan.original[k]) - values[k]));
    }
    FUZZ_CHECK(max_error == q.max_abs_error);
    // ... and within the scheme's error bound of the original values: a lossless grid or
    // palette gives back the source itself.
    if (plan.lossless) {
      FUZZ_CHECK(q.max_abs_error == 0);
      for (uint64_t k = 0; k < count; ++k)
        FUZZ_CHECK(bits_of(values[k]) == bits_of(plan.original[k]));
    } else if (is_cast(q.spec.scheme)) {
      check_cast_bound(q.spec.scheme, plan.original.data(), values.data(), count);
    } else {
      check_integer_bound(q.spec, plan.original.data(), values.data(), count, expected.shape);
    }
  }
  FUZZ_CHECK(spk_metadata_count(&opened) == checkpoint.metadata.size());
  for (const auto &[key, value] : checkpoint.metadata) {
    spk_meta m;
    FUZZ_CHECK(spk_metadata_find(&opened, key.c_str(), &m) == SPK_OK);
    FUZZ_CHECK(static_cast<int>(m.kind) == static_cast<int>(value.kind));
    switch (value.kind) {
      case statepack::MetaValue::Kind::kString:
        FUZZ_CHECK(std::string(m.string_value, m.string_length) == value.string_value);
        break;
      case statepack::MetaValue::Kind::kInt:
        FUZZ_CHECK(m.int_value == value.int_value);
        break;
      case statepack::MetaValue::Kind::kFloat:
        FUZZ_CHECK(m.float_value == value.float_value);
        break;
      case statepack::MetaValue::Kind::kBool:
        FUZZ_CHECK((m.bool_value != 0) == value.bool_value);
        break;
    }
  }
  return 0;
}
