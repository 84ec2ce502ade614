// Quantization schemes on the host: turning float tensors into the stored integer (or
// narrower float) data plus parameters, choosing scales that minimise squared error, and
// measuring the result. The encodings are specified in schemas/FORMAT.md ("Quantization");
// the runtime's spk_dequantize reproduces `reconstruct` bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "statepack/tools/core/dtype.hpp"
#include "statepack/tools/io/spill_file.hpp"
#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// Values equal the schema's QuantScheme and the runtime's spk_quant_scheme.
enum class QuantScheme : uint8_t {
  kNone = 0,
  kInt8Channel = 1,
  kInt8Tensor = 2,
  kInt8Asym = 3,
  kInt8Group = 4,
  kInt4Group = 5,
  kInt4GroupAsym = 6,
  kF16Cast = 7,
  kBF16Cast = 8,
};

/// A scheme as the CLI names it: "int8", "int8-tensor", "int8-asym", "int8-g32",
/// "int4-g32" / "-g64" / "-g128" (and "-asym" variants), "f16", "bf16"; "keep" = kNone.
struct SchemeSpec {
  QuantScheme scheme = QuantScheme::kNone;
  uint32_t group_size = 0;  ///< group-wise schemes only
};

/// Parses a CLI scheme name; nullopt if unknown.
std::optional<SchemeSpec> parse_scheme(std::string_view name);

/// The CLI name of a scheme ("int4-g32", "keep").
std::string scheme_name(const SchemeSpec &spec);

/// Every name parse_scheme accepts, for help and error messages.
std::vector<std::string> scheme_names();

/// The result of quantizing one tensor: stored data, parameters and measured quality.
struct QuantizedTensor {
  SchemeSpec spec;
  int32_t axis = -1;                         ///< -1 per tensor; 0 per channel; rank-1 for groups
  DType dtype = DType::kUnknown;             ///< stored element type (I8, U8, I4, U4, F16, BF16)
  std::vector<uint8_t> data;                 ///< packed as FORMAT.md says
  DType scale_dtype = DType::kUnknown;       ///< F32 or F16; kUnknown for casts
  std::vector<uint8_t> scales;               ///< little-endian
  DType zero_point_dtype = DType::kUnknown;  ///< I8 or U8 for asymmetric schemes
  std::vector<uint8_t> zero_points;
  double sqnr_db = 0;            ///< 10 log10(sum x^2 / sum (x - x')^2); +inf when exact
  double max_abs_error = 0;      ///< max |x - x'|
  uint64_t overflow_count = 0;   ///< casts: finite values that became infinite; ints: clipped
  double signal_energy = 0;      ///< sum x^2 over finite x, behind sqnr_db
  double noise_energy = 0;       ///< sum (x - x')^2 over finite x, behind sqnr_db
  uint64_t slice_count = 0;      ///< slices sharing a scale (integer schemes; 0 for casts)
  uint64_t underflow_count = 0;  ///< slices with nonzero values whose stored scale is 0
};

/// Called now and then during quantize() with the elements done so far and in total.
using QuantProgress = std::function<void(uint64_t done, uint64_t total)>;

/// Quantizes `values` (C order, `shape`) with `spec`. Deterministic. Throws an input Error
/// (naming `name`) for NaN or infinite values in an integer scheme, or for scales that do not
/// fit the scheme's scale type. `progress` (if set) hears of the integer schemes' scale search,
/// which is what takes time on a large tensor.
QuantizedTensor quantize(const std::string &name, const float *values,
                         const std::vector<uint64_t> &shape, const SchemeSpec &spec,
                         const QuantProgress &progress = {});

/// The values the stored data stands for: exactly what the runtime's spk_dequantize returns.
std::vector<float> reconstruct(const QuantizedTensor &q, const std::vector<uint64_t> &shape);

/// A quantized tensor whose levels wait in the spill file (its `data` is empty).
struct QuantizedSpill {
  std::shared_ptr<QuantizedTensor> quant;
  SpilledBytes bytes;  ///< the levels, `size` bytes
  uint64_t size = 0;
};

/// quantize(t.name, to_f32(t), t.shape, spec), with the levels moved to the spill file and the
/// input's pages released once read. Tensors over 32 MiB of f32 under a scheme whose
/// parameters belong to rows (casts, per-channel and group-wise) are converted and quantized
/// 16 MiB of f32 rows at a time, so their size does not bound memory: levels and parameters
/// are those of the whole tensor; sqnr_db sums signal and noise per block (equal to the whole
/// tensor's up to rounding). `progress` hears of elements done over the whole tensor.
QuantizedSpill quantize_to_spill(const Tensor &t, const SchemeSpec &spec,
                                 const QuantProgress &progress = {});

/// reconstruct() of a tensor that apply_quant_plan quantized: its parameters from `quant`, its
/// levels from the tensor's own bytes (where the pass left them, outside `quant->data`).
std::vector<float> reconstruct(const Tensor &tensor);

/// A floating tensor's values as f32 (F32, F64, F16, BF16 and the F8 types).
std::vector<float> to_f32(const Tensor &tensor);

/// IEEE half from float, round to nearest even (NaN stays NaN, overflow gives infinity).
uint16_t f32_to_f16(float value);
/// bfloat16 from float, round to nearest even.
uint16_t f32_to_bf16(float value);
/// Exact widening of a half to float.
float f16_to_f32(uint16_t bits);

}  // namespace statepack
