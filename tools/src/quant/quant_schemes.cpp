// SPDX-License-Identifier: Apache-2.0
// The quantization schemes as the CLI names them ("int4-g32-asym"), from one table so parsing,
// naming and the help text cannot disagree.
#include <string>

#include "statepack/tools/quant/quant_schemes.hpp"

namespace statepack {
namespace {

struct NamedScheme {
  const char *name;
  SchemeSpec spec;
};

// In the order help text lists them: no change, casts, int8, int4.
const NamedScheme kSchemes[] = {
    {"keep", {QuantScheme::kNone, 0}},
    {"f16", {QuantScheme::kF16Cast, 0}},
    {"bf16", {QuantScheme::kBF16Cast, 0}},
    {"int8", {QuantScheme::kInt8Channel, 0}},
    {"int8-tensor", {QuantScheme::kInt8Tensor, 0}},
    {"int8-asym", {QuantScheme::kInt8Asym, 0}},
    {"int8-g32", {QuantScheme::kInt8Group, 32}},
    {"int8-g64", {QuantScheme::kInt8Group, 64}},
    {"int8-g128", {QuantScheme::kInt8Group, 128}},
    {"int4-g32", {QuantScheme::kInt4Group, 32}},
    {"int4-g64", {QuantScheme::kInt4Group, 64}},
    {"int4-g128", {QuantScheme::kInt4Group, 128}},
    {"int4-g32-asym", {QuantScheme::kInt4GroupAsym, 32}},
    {"int4-g64-asym", {QuantScheme::kInt4GroupAsym, 64}},
    {"int4-g128-asym", {QuantScheme::kInt4GroupAsym, 128}},
    {"int4-k", {QuantScheme::kInt4K, 16}},
};

}  // namespace

std::optional<SchemeSpec> parse_scheme(std::string_view name) {
  for (const NamedScheme &entry : kSchemes) {
    if (name == entry.name) return entry.spec;
  }
  return std::nullopt;
}

std::string scheme_name(const SchemeSpec &spec) {
  const std::string group = "-g" + std::to_string(spec.group_size);
  switch (spec.scheme) {
    case QuantScheme::kNone:
      return "keep";
    case QuantScheme::kF16Cast:
      return "f16";
    case QuantScheme::kBF16Cast:
      return "bf16";
    case QuantScheme::kInt8Channel:
      return "int8";
    case QuantScheme::kInt8Tensor:
      return "int8-tensor";
    case QuantScheme::kInt8Asym:
      return "int8-asym";
    case QuantScheme::kInt8Group:
      return "int8" + group;
    case QuantScheme::kInt4Group:
      return "int4" + group;
    case QuantScheme::kInt4GroupAsym:
      return "int4" + group + "-asym";
    case QuantScheme::kInt4K:
      return "int4-k";
    case QuantScheme::kPalette:
      return "palette";
  }
  return "scheme-" + std::to_string(static_cast<unsigned>(spec.scheme));
}

std::vector<std::string> scheme_names() {
  std::vector<std::string> names;
  for (const NamedScheme &entry : kSchemes) names.emplace_back(entry.name);
  return names;
}

}  // namespace statepack
