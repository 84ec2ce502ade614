// Which tensors get which quantization scheme: the default rule of DESIGN.md (floating tensors
// of rank >= 2 with at least 1024 elements take --quant's scheme), overridden by --rule
// GLOB=SCHEME entries where the first matching rule wins. Then the quantization itself, with
// a report of what it cost in quality and saved in size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "statepack/tools/quantize.hpp"
#include "statepack/tools/tensor.hpp"

namespace statepack {

/// One --rule: tensors whose name matches `glob` (fnmatch: *, ?, [...]) take `spec`.
struct QuantRule {
  std::string text;  ///< as given, for messages
  std::string glob;
  SchemeSpec spec;   ///< kNone = keep
};

/// The --quant scheme and the --rule list, parsed.
struct QuantPlan {
  std::optional<SchemeSpec> default_scheme;  ///< absent: the default rule quantizes nothing
  std::vector<QuantRule> rules;
  /// True when nothing would be quantized.
  bool empty() const { return !default_scheme && rules.empty(); }
};

/// Parses --quant and --rule values; throws a usage Error for an unknown scheme or a rule
/// without "=".
QuantPlan parse_quant_plan(const std::string &quant, const std::vector<std::string> &rules);

/// What happened to one quantized tensor.
struct QuantReportRow {
  std::string name;
  std::string scheme;
  std::vector<uint64_t> shape;
  uint64_t elements = 0;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;  ///< data + scales + zero points
  double sqnr_db = 0;
  double max_abs_error = 0;
  uint64_t overflow_count = 0;
};

/// The outcome of applying a plan.
struct QuantReport {
  std::vector<QuantReportRow> rows;          ///< quantized tensors, in name order
  std::vector<std::string> unused_rules;     ///< rules that matched no tensor
};

/// Quantizes the checkpoint's tensors in place as the plan says. An explicit rule that cannot
/// apply (an integer or bool tensor, a scalar for a group-wise scheme) is a usage Error naming
/// the rule and the tensor; the default rule simply skips such tensors. NaN/Inf values in an
/// integer scheme are an input Error.
QuantReport apply_quant_plan(Checkpoint &checkpoint, const QuantPlan &plan);

/// The report as a table plus a summary line (sizes before/after, bits per weight, worst SQNR).
std::string format_quant_report(const QuantReport &report);

}  // namespace statepack
