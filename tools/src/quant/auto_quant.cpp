// SPDX-License-Identifier: Apache-2.0
// --quant auto on a checkpoint: the sensitivity file, the candidates' measurement and the hand
// over to apply_quant_plan (see auto_quant.hpp).
#include "statepack/tools/quant/auto_quant.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/mixed_precision.hpp"
#include "statepack/tools/quant/quant_blocks.hpp"
#include "statepack/tools/quant/quantize.hpp"
#include "statepack/tools/text/strict_json.hpp"
#include "statepack/tools/text/text_cell.hpp"

namespace statepack {
namespace {

// A sensitivity file names tensors: far below this however large the model.
constexpr uint64_t kMaxSensitivityFileBytes = uint64_t{64} << 20;

// f32 bytes of rows measured at once; tensors up to twice this are measured whole.
constexpr uint64_t kBlockBytes = uint64_t{16} << 20;

bool is_cast(QuantScheme s) {
  return s == QuantScheme::kF16Cast || s == QuantScheme::kBF16Cast;
}

// One scheme measured on one tensor: stored bytes and energies, or failed (NaN/Inf under an
// integer scheme, a scale out of range).
struct Measured {
  bool ok = true;
  uint64_t bytes = 0;
  double signal = 0;
  double noise = 0;
};

// Quantizes `t` with each of `specs` and keeps only the sizes and energies. A tensor of rank
// >= 2 under row-separable schemes is converted and measured a block of rows at a time, so
// memory holds one block of f32 and one candidate's output, never the whole tensor. Each
// candidate runs on `threads` (QuantPlan::threads): its figures are the same for any count.
std::vector<Measured> measure(const Tensor &t, const std::vector<SchemeSpec> &specs,
                              bool row_separable, unsigned threads) {
  std::vector<Measured> out(specs.size());
  const uint64_t count = t.element_count();
  uint64_t rows = 1, block_rows = 1, row_bytes = t.size;
  if (row_separable && t.shape.size() >= 2 && t.shape[0] != 0 && count * 4 > 2 * kBlockBytes) {
    rows = t.shape[0];
    row_bytes = t.size / rows;
    const uint64_t row_elements = count / rows;
    // Blocks of 16 rows whatever the candidates: int4-k among them is then measured exactly
    // as quantize_to_spill stores it, and the others do not mind.
    block_rows = quant_block_rows(row_elements, kBlockBytes, true);
  }
  for (uint64_t row = 0; row < rows; row += block_rows) {
    Tensor block = t;
    const uint64_t k = std::min(block_rows, rows - row);
    if (rows > 1) {
      block.shape[0] = k;
      block.data = t.data + row * row_bytes;
      block.size = k * row_bytes;
    }
    const std::vector<float> values = to_f32(block);
    for (size_t s = 0; s < specs.size(); ++s) {
      if (!out[s].ok) continue;
      try {
        const QuantizedTensor q =
            quantize(t.name, values.data(), block.shape, specs[s], {}, threads);
        out[s].bytes += q.data.size() + q.scales.size() + q.zero_points.size();
        out[s].signal += q.signal_energy;
        out[s].noise += q.noise_energy;
      } catch (const Error &e) {
        if (e.kind() != ErrorKind::kInput) throw;
        out[s].ok = false;
      }
    }
    MappedFile::release(block.data, block.size);
  }
  return out;
}

double relative_error(const Measured &m) {
  return m.signal > 0 ? m.noise / m.signal : (m.noise > 0 ? INFINITY : 0.0);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::string bpw_text(double bpw) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", bpw);
  return buf;
}

}  // namespace

std::map<std::string, double> read_sensitivity_file(const std::string &path) {
  const auto file = MappedFile::open(path);
  if (file->size() > kMaxSensitivityFileBytes) {
    fail_input(path, "sensitivity JSON of " + std::to_string(file->size()) +
                         " bytes is over the limit of " + std::to_string(kMaxSensitivityFileBytes) +
                         " bytes");
  }
  const nlohmann::json doc = parse_strict_json(
      std::string_view(reinterpret_cast<const char *>(file->data()), file->size()), path,
      "sensitivity JSON");
  if (!doc.is_object()) {
    fail_input(path, "sensitivity JSON must be an object {\"tensor name\": weight, ...}");
  }
  std::map<std::string, double> out;
  for (const auto &[name, value] : doc.items()) {
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0) {
      fail_input(path, "sensitivity of \"" + printable_text(name) +
                           "\" must be a finite number "
                           ">= 0, got " +
                           printable_text(value.dump()));
    }
    out[name] = value.get<double>();
  }
  return out;
}

AutoQuantPlan plan_auto_quant(const Checkpoint &checkpoint, QuantPlan &plan, double bpw,
                              const std::map<std::string, double> *sensitivities,
                              const std::string &sensitivity_file,
                              const ProgressCallback &progress) {
  AutoQuantPlan result;
  result.budget_bpw = bpw;
  result.sensitivity_source = sensitivities ? sensitivity_file : "data-free default";

  // The covered tensors, later sorted by name as apply_quant_plan goes.
  std::vector<const Tensor *> covered;
  for (const Tensor &t : checkpoint.tensors) {
    if (default_rule_covers(t)) covered.push_back(&t);
  }
  std::vector<double> weight(covered.size(), kDefaultSensitivity);
  if (sensitivities) {
    std::map<std::string, size_t> index;
    for (const Tensor &t : checkpoint.tensors) index.emplace(t.name, SIZE_MAX);
    for (size_t i = 0; i < covered.size(); ++i) index[covered[i]->name] = i;
    std::vector<std::string> unknown;
    std::vector<double> measured_given, default_given;
    std::vector<bool> given(covered.size(), false);
    for (const auto &[name, value] : *sensitivities) {
      const auto found = index.find(name);
      if (found == index.end()) {
        unknown.push_back(name);
        continue;
      }
      if (found->second == SIZE_MAX) continue;  // not covered by the budget: nothing to weigh
      measured_given.push_back(value);
      default_given.push_back(weight[found->second]);
      given[found->second] = true;
    }
    if (!unknown.empty()) {
      std::string names;
      for (size_t i = 0; i < unknown.size() && i < 5; ++i) {
        names += (i ? ", \"" : "\"") + printable_text(unknown[i]) + "\"";
      }
      if (unknown.size() > 5) names += ", and " + std::to_string(unknown.size() - 5) + " more";
      fail_input(sensitivity_file,
                 std::to_string(unknown.size()) +
                     (unknown.size() == 1 ? " name is not a tensor of the input: "
                                          : " names are not tensors of the input: ") +
                     names + " (names must be as pack sees them, after --select)");
    }
    // Missing tensors keep the default, brought to the measured scale.
    const double d = median(default_given);
    const double scale = d > 0 ? median(measured_given) / d : 1.0;
    for (size_t i = 0; i < covered.size(); ++i) {
      if (given[i]) continue;
      weight[i] *= scale;
      ++result.defaulted;
    }
    for (const auto &[name, value] : *sensitivities) {
      const auto found = index.find(name);
      if (found->second != SIZE_MAX) weight[found->second] = value;
    }
  }

  std::vector<size_t> order(covered.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return covered[a]->name < covered[b]->name; });

  uint64_t total = 0, done = 0;
  for (const Tensor *t : covered) total += t->size;
  if (progress) progress(0, total);

  std::vector<AllocationItem> items;
  std::vector<bool> fixed;
  for (size_t i : order) {
    const Tensor &t = *covered[i];
    AllocationItem item;
    item.name = t.name;
    item.elements = t.element_count();
    item.sensitivity = weight[i];
    const CandidatePoint keep{SchemeSpec{}, 8 * t.size, 0.0};
    std::vector<SchemeSpec> specs;
    bool separable = true;
    const auto rule = first_matching_rule(plan, t.name);
    if (rule) {
      const SchemeSpec spec = plan.rules[*rule].spec;
      if (spec.scheme != QuantScheme::kNone && !scheme_obstacle(spec, t)) specs.push_back(spec);
      // The rule's own scheme may be per tensor: measure the tensor whole.
      separable = false;
    } else {
      for (const AutoCandidate &c : auto_candidates()) {
        if (scheme_obstacle(c.spec, t)) continue;
        specs.push_back(c.spec);
        separable = separable && c.row_separable;
      }
    }
    const std::vector<Measured> measured = measure(t, specs, separable, plan.threads);
    for (size_t s = 0; s < specs.size(); ++s) {
      const Measured &m = measured[s];
      // What apply_quant_plan would keep instead (no gain) or refuse is no candidate; a rule's
      // tensor then counts as kept, which is what the rule leads to.
      if (!m.ok || (!is_cast(specs[s].scheme) && m.bytes >= t.size)) continue;
      const double e = relative_error(m);
      if (!std::isfinite(e) && !rule) continue;
      item.candidates.push_back({specs[s], 8 * m.bytes, std::isfinite(e) ? e : 1.0});
    }
    if (!rule || item.candidates.empty()) item.candidates.push_back(keep);
    fixed.push_back(rule.has_value());
    items.push_back(std::move(item));
    done += t.size;
    if (progress) progress(done, total);
  }

  const Allocation allocation = allocate_bits(items, bpw);
  result.planned_bpw = allocation.bpw();
  result.elements = allocation.elements;
  for (size_t k = 0; k < items.size(); ++k) {
    result.names.push_back(items[k].name);
    if (fixed[k]) continue;
    const SchemeSpec chosen = items[k].candidates[allocation.choice[k]].spec;
    plan.assigned[items[k].name] = chosen;
    if (chosen.scheme == QuantScheme::kNone) result.kept.push_back(items[k].name);
  }
  return result;
}

double stored_bpw(const Checkpoint &checkpoint, const std::vector<std::string> &names) {
  std::map<std::string, const Tensor *> by_name;
  for (const Tensor &t : checkpoint.tensors) by_name[t.name] = &t;
  uint64_t bytes = 0, elements = 0;
  for (const std::string &name : names) {
    const auto found = by_name.find(name);
    if (found == by_name.end()) continue;
    const Tensor &t = *found->second;
    bytes += t.size;
    if (t.quant) bytes += t.quant->scales.size() + t.quant->zero_points.size();
    elements += t.element_count();
  }
  return elements == 0 ? 0 : 8.0 * static_cast<double>(bytes) / static_cast<double>(elements);
}

std::string format_auto_summary(const AutoQuantPlan &plan, double achieved_bpw) {
  std::ostringstream out;
  out << "auto: " << bpw_text(achieved_bpw) << " bits per weight of a budget of "
      << bpw_text(plan.budget_bpw) << " over " << plan.names.size() << " tensors (" << plan.elements
      << " weights), sensitivity from " << plan.sensitivity_source;
  if (plan.defaulted != 0) {
    out << " (" << plan.defaulted << (plan.defaulted == 1 ? " covered tensor" : " covered tensors")
        << " not in it took the default)";
  }
  out << "\n";
  if (!plan.kept.empty()) {
    out << "auto: kept " << plan.kept.size()
        << (plan.kept.size() == 1 ? " tensor as it is:" : " tensors as they are:");
    for (size_t i = 0; i < plan.kept.size() && i < 8; ++i) {
      out << (i ? ", " : " ") << printable_text(plan.kept[i]);
    }
    if (plan.kept.size() > 8) out << ", and " << plan.kept.size() - 8 << " more";
    out << "\n";
  }
  return out.str();
}

}  // namespace statepack
