// SPDX-License-Identifier: Apache-2.0
// `pack --quant auto --bpw B`: measure every candidate scheme on every tensor the default rule
// covers (exact stored size and relative squared error, the quantized data dropped at once),
// weight the errors by sensitivity (measured, from --sensitivity FILE.json, or the data-free
// default), choose a scheme per tensor with allocate_bits (mixed_precision.hpp), and hand the
// choice to apply_quant_plan through QuantPlan::assigned.
//
// The budget covers the tensors the default rule covers (floating, rank >= 2, >= 1024
// elements): their levels, scales and zero points, or their original bytes when kept. A tensor
// an explicit --rule matches keeps the rule's choice and counts with it; rules on other tensors
// (1-D biases, say) do not count.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "statepack/tools/core/progress.hpp"
#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/quant/quant_rules.hpp"

namespace statepack {

/// Metadata keys pack writes under --quant auto (FORMAT.md, "Header"): the budget and the bits
/// per weight achieved over the tensors the budget covers, both Float.
inline constexpr const char *kMetaBpwBudget = "statepack.quant.bpw_budget";
inline constexpr const char *kMetaBpw = "statepack.quant.bpw";

/// Reads --sensitivity FILE.json: one JSON object, tensor name -> finite number >= 0. Throws
/// an input Error naming the file for anything else (strict JSON: duplicate keys, bad UTF-8).
std::map<std::string, double> read_sensitivity_file(const std::string &path);

/// The data-free sensitivity: every covered tensor weighs the same, so the allocation
/// minimises the sum of the tensors' relative squared errors (a small tensor, cheap to keep
/// precise, gets bits first). Chosen by measurement (bench/auto_quant_bench.py --defaults,
/// README): on mobilenet_v3_small, efficientnet_b0 and resnet18 at 4.5-6 bpw, weighting the
/// first and last tensors x8, depthwise kernels too, by 1/sqrt(fan-in), by numel^-1/4 or by
/// position in the file did not beat equal weights by more than 0.0015 of output cosine
/// anywhere, lost up to 0.003 elsewhere, and the order-based rules depend on a file order
/// that many writers scramble (safetensors sorts names).
inline constexpr double kDefaultSensitivity = 1.0;

/// What plan_auto_quant decided.
struct AutoQuantPlan {
  double budget_bpw = 0;
  double planned_bpw = 0;          ///< bits per weight the chosen schemes store
  uint64_t elements = 0;           ///< weights the budget covers
  std::vector<std::string> names;  ///< the tensors the budget covers, in name order
  std::vector<std::string> kept;   ///< of them, kept as they are by the choice (not by a rule)
  size_t defaulted = 0;            ///< tensors without a measured sensitivity (file given)
  std::string sensitivity_source;  ///< "FILE.json" or "data-free default"
};

/// Measures (each candidate on plan.threads threads: the figures, and so the choice, are the
/// same for any count), allocates and records the choice in plan.assigned (plan.automatic
/// must be set).
/// `sensitivities` (null: none given) must name only tensors of the checkpoint (an input Error
/// naming `sensitivity_file` otherwise); entries for tensors the budget does not cover are
/// ignored, and covered tensors missing from it take the data-free default, rescaled so both
/// have the same median over the tensors that have both. Throws a usage Error if the budget
/// is below the smallest size reachable. `progress` gets source bytes measured so far.
AutoQuantPlan plan_auto_quant(const Checkpoint &checkpoint, QuantPlan &plan, double bpw,
                              const std::map<std::string, double> *sensitivities,
                              const std::string &sensitivity_file,
                              const ProgressCallback &progress = {});

/// Bits per weight the checkpoint stores for `names` once apply_quant_plan ran: levels,
/// scales and zero points of quantized tensors, the bytes of the others.
double stored_bpw(const Checkpoint &checkpoint, const std::vector<std::string> &names);

/// The report's lines on the choice: budget, achieved bits per weight, kept tensors.
std::string format_auto_summary(const AutoQuantPlan &plan, double achieved_bpw);

}  // namespace statepack
