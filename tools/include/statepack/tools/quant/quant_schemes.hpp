// SPDX-License-Identifier: Apache-2.0
// The quantization schemes by name: what `--quant` and `--rule` accept and what the report and
// the blob call them. The encodings are specified in schemas/FORMAT.md ("Quantization").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  kInt4K = 9,
  kPalette = 10,  ///< lossless palette (palette.hpp); chosen by the packer, not by --quant
};

/// A scheme as the CLI names it: "int8", "int8-tensor", "int8-asym", "int8-g32",
/// "int4-g32" / "-g64" / "-g128" (and "-asym" variants), "int4-k", "f16", "bf16"; "keep" =
/// kNone.
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

}  // namespace statepack
