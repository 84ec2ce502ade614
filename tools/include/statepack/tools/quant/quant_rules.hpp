// SPDX-License-Identifier: Apache-2.0
// Which tensors get which quantization scheme: the default rule of DESIGN.md (floating tensors
// of rank >= 2 with at least 1024 elements take --quant's scheme), overridden by --rule
// GLOB=SCHEME entries where the first matching rule wins. Then the quantization itself, with
// a report of what it cost in quality and saved in size, and the quality gates on it.
//
// An explicit rule applies to every floating tensor it matches whatever its rank or size (a
// 1-D bias under int8-tensor is fine), except where the scheme cannot apply or gains nothing:
// such tensors are kept as they are and counted (QuantReport::skipped), never an error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "statepack/tools/core/progress.hpp"
#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack {

/// One --rule: tensors whose name matches `glob` (fnmatch: *, ?, [...]) take `spec`.
struct QuantRule {
  std::string text;  ///< as given, for messages
  std::string glob;
  SchemeSpec spec;  ///< kNone = keep
};

/// The --quant scheme and the --rule list, parsed.
struct QuantPlan {
  std::optional<SchemeSpec> default_scheme;  ///< absent: the default rule quantizes nothing
  std::vector<QuantRule> rules;
  /// Threads each tensor is quantized on (0 = every core); the result is the same for any.
  unsigned threads = 1;
  /// --quant auto: the default rule's tensors take the schemes in `assigned`, which
  /// plan_auto_quant (auto_quant.hpp) fills; rules still come first.
  bool automatic = false;
  std::map<std::string, SchemeSpec> assigned;  ///< tensor name -> scheme (kNone = keep)
  /// True when nothing would be quantized.
  bool empty() const { return !default_scheme && rules.empty() && !automatic; }
};

/// Parses --quant and --rule values ("auto" sets `automatic`); throws a usage Error for an
/// unknown scheme or a rule without "=".
QuantPlan parse_quant_plan(const std::string &quant, const std::vector<std::string> &rules);

/// Whether the default rule covers `t`: floating, rank >= 2, at least 1024 elements.
bool default_rule_covers(const Tensor &t);

/// The index of the first rule whose glob matches `name`, or nullopt.
std::optional<size_t> first_matching_rule(const QuantPlan &plan, const std::string &name);

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
  uint64_t slice_count = 0;      ///< scale groups (channels, groups, or 1)
  uint64_t underflow_count = 0;  ///< of them, nonzero values with a scale stored as 0
};

/// Why a rule kept a matching tensor as it is.
enum class SkipReason {
  kNotFloating,  ///< an integer or bool tensor
  kScalar,       ///< rank 0 under a group-wise scheme (groups run along an axis)
  kEmpty,        ///< no elements to scale (integer schemes)
  kSameType,     ///< a cast to the type the tensor already has
  kNoGain,       ///< too small: data + scales + zero points would not be smaller
};

/// Why `spec` cannot apply to `t` before quantizing it (kNoGain is only known after), or
/// nullopt.
std::optional<SkipReason> scheme_obstacle(const SchemeSpec &spec, const Tensor &t);

/// The words a report uses for a SkipReason ("not floating-point", "too small to shrink").
const char *skip_reason_text(SkipReason reason);

/// Tensors one rule matched and kept as they are.
struct RuleSkips {
  std::string rule;                                         ///< the rule as given
  std::vector<std::pair<std::string, SkipReason>> tensors;  ///< in name order
};

/// The outcome of applying a plan.
struct QuantReport {
  std::vector<QuantReportRow> rows;       ///< quantized tensors, in name order
  std::vector<std::string> unused_rules;  ///< rules that matched no tensor
  std::vector<RuleSkips> skipped;         ///< rules that kept some matching tensors
};

/// Quantizes the checkpoint's tensors in place as the plan says. A tensor that a rule matches
/// but the rule's scheme cannot apply to (SkipReason) is kept as it is and listed in
/// `skipped`; the default rule skips such tensors silently. NaN/Inf values in an integer
/// scheme are an input Error. `progress` (if set) gets source bytes quantized so far.
QuantReport apply_quant_plan(Checkpoint &checkpoint, const QuantPlan &plan,
                             const ProgressCallback &progress = {});

/// The report as a table plus a summary line (sizes before/after, bits per weight, worst SQNR),
/// and one line per rule that kept matching tensors (how many, why, an example).
std::string format_quant_report(const QuantReport &report);

/// The default floor below which `pack` warns about a tensor's SQNR. At 10 dB the error's
/// power is a tenth of the signal's (RMS error 32% of the RMS value). No scheme gets there on
/// weights it suits: measured on 512x1024 tensors, int4-g128 gives 20.3 dB on Gaussian, 17.7 dB
/// on Laplacian and 14.6 dB on Student-t(3) weights (int4-g32 21.8/19.8/18.2, int8 42.2/38.4/
/// 31.6), so even heavy tails keep 4.5 dB of headroom; a scheme that erases a tensor (Adam's
/// exp_avg_sq under int4: 0.5 dB, or 0 when every scale underflows) is far below it.
inline constexpr double kSqnrWarningFloorDb = 10.0;

/// One line per quality problem, naming the tensor and its scheme: SQNR below `floor_db`, and
/// groups whose nonzero values got a scale that underflowed to 0 (they decode as zeros).
std::vector<std::string> quality_warnings(const QuantReport &report, double floor_db);

/// Throws an input Error listing every tensor whose SQNR is below `min_db` (none: returns).
void check_min_sqnr(const QuantReport &report, double min_db);

}  // namespace statepack
