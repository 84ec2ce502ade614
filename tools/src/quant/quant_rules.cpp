// SPDX-License-Identifier: Apache-2.0
// Rule matching and the quantization pass over a checkpoint.
#include "statepack/tools/quant/quant_rules.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/quant_blocks.hpp"
#include "statepack/tools/text/text_cell.hpp"

namespace statepack {
namespace {

bool is_group_wise(QuantScheme s) {
  return s == QuantScheme::kInt8Group || s == QuantScheme::kInt4Group ||
         s == QuantScheme::kInt4GroupAsym || s == QuantScheme::kInt4K;
}

SchemeSpec parse_spec(const std::string &name, const std::string &option) {
  const auto spec = parse_scheme(name);
  if (!spec) {
    std::string known;
    for (const std::string &n : scheme_names()) known += (known.empty() ? "" : ", ") + n;
    fail_usage(option + ": unknown scheme \"" + name + "\" (known: " + known + ")");
  }
  return *spec;
}

bool is_cast(QuantScheme s) {
  return s == QuantScheme::kF16Cast || s == QuantScheme::kBF16Cast;
}

// Why `spec` cannot apply to `t` (before quantizing; kNoGain is only known after).
std::optional<SkipReason> obstacle(const SchemeSpec &spec, const Tensor &t) {
  if (!is_floating(t.dtype)) return SkipReason::kNotFloating;
  if (is_group_wise(spec.scheme) && t.shape.empty()) return SkipReason::kScalar;
  // An empty tensor has nothing to scale: an integer scheme would give it no parameters,
  // which no reader expects (shape [0, 3] per channel: zero scales).
  if (t.element_count() == 0 && !is_cast(spec.scheme)) return SkipReason::kEmpty;
  if ((spec.scheme == QuantScheme::kF16Cast && t.dtype == DType::kF16) ||
      (spec.scheme == QuantScheme::kBF16Cast && t.dtype == DType::kBF16)) {
    return SkipReason::kSameType;
  }
  return std::nullopt;
}

// A tensor and the scheme it gets; `rule` indexes the plan's rules, or is npos for --quant.
struct Job {
  Tensor *tensor;
  SchemeSpec spec;
  size_t rule;
};

std::string db_text(double db) {
  if (std::isinf(db)) return "exact";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", db);
  return buf;
}

// "--rule layer1.*=int8 kept 2 matching tensors as they are: 1 not floating-point,
// 1 too small to shrink (e.g. layer1.0.bn1.num_batches_tracked)"
void append_skips(std::ostringstream &out, const QuantReport &report) {
  for (const RuleSkips &skip : report.skipped) {
    std::map<SkipReason, size_t> counts;
    for (const auto &entry : skip.tensors) ++counts[entry.second];
    out << "--rule " << skip.rule << " kept " << skip.tensors.size()
        << (skip.tensors.size() == 1 ? " matching tensor as it is:"
                                     : " matching tensors as they are:");
    const char *separator = " ";
    for (const auto &[reason, count] : counts) {
      out << separator << count << " " << skip_reason_text(reason);
      separator = ", ";
    }
    out << " (e.g. " << printable_text(skip.tensors.front().first) << ")\n";
  }
}

}  // namespace

QuantPlan parse_quant_plan(const std::string &quant, const std::vector<std::string> &rules) {
  QuantPlan plan;
  if (quant == "auto") {
    plan.automatic = true;
  } else if (!quant.empty()) {
    const SchemeSpec spec = parse_spec(quant, "--quant");
    if (spec.scheme != QuantScheme::kNone) plan.default_scheme = spec;
  }
  for (const std::string &text : rules) {
    const auto eq = text.rfind('=');
    if (eq == std::string::npos || eq == 0) {
      fail_usage("--rule expects GLOB=SCHEME (e.g. 'fc.*=int8'), got \"" + text + "\"");
    }
    plan.rules.push_back(
        {text, text.substr(0, eq), parse_spec(text.substr(eq + 1), "--rule " + text)});
  }
  return plan;
}

bool default_rule_covers(const Tensor &t) {
  return is_floating(t.dtype) && t.shape.size() >= 2 && t.element_count() >= 1024;
}

std::optional<size_t> first_matching_rule(const QuantPlan &plan, const std::string &name) {
  for (size_t r = 0; r < plan.rules.size(); ++r) {
    if (fnmatch(plan.rules[r].glob.c_str(), name.c_str(), 0) == 0) return r;
  }
  return std::nullopt;
}

std::optional<SkipReason> scheme_obstacle(const SchemeSpec &spec, const Tensor &t) {
  return obstacle(spec, t);
}

const char *skip_reason_text(SkipReason reason) {
  switch (reason) {
    case SkipReason::kNotFloating:
      return "not floating-point";
    case SkipReason::kScalar:
      return "a scalar (groups need an axis)";
    case SkipReason::kEmpty:
      return "empty";
    case SkipReason::kSameType:
      return "already that type";
    case SkipReason::kNoGain:
      return "too small to shrink";
  }
  return "";
}

QuantReport apply_quant_plan(Checkpoint &checkpoint, const QuantPlan &plan,
                             const ProgressCallback &progress) {
  QuantReport report;
  std::vector<bool> rule_used(plan.rules.size(), false);
  std::vector<RuleSkips> skips(plan.rules.size());
  std::vector<Tensor *> order;
  for (Tensor &t : checkpoint.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const Tensor *a, const Tensor *b) { return a->name < b->name; });

  // Which tensor gets which scheme, first, so the progress total is known.
  constexpr size_t kDefaultRule = static_cast<size_t>(-1);
  std::vector<Job> jobs;
  uint64_t total = 0;
  for (Tensor *t : order) {
    std::optional<Job> job;
    for (size_t r = 0; r < plan.rules.size(); ++r) {
      if (fnmatch(plan.rules[r].glob.c_str(), t->name.c_str(), 0) != 0) continue;
      rule_used[r] = true;
      job = Job{t, plan.rules[r].spec, r};
      break;
    }
    if (!job && plan.default_scheme && default_rule_covers(*t)) {
      job = Job{t, *plan.default_scheme, kDefaultRule};
    }
    if (const auto chosen = plan.assigned.find(t->name); !job && chosen != plan.assigned.end()) {
      job = Job{t, chosen->second, kDefaultRule};
    }
    if (!job || job->spec.scheme == QuantScheme::kNone) continue;
    if (const auto why = obstacle(job->spec, *t)) {
      if (job->rule != kDefaultRule) skips[job->rule].tensors.emplace_back(t->name, *why);
      continue;
    }
    jobs.push_back(*job);
    total += t->size;
  }

  uint64_t done = 0;
  if (progress) progress(0, total);
  for (const Job &job : jobs) {
    Tensor *t = job.tensor;
    const uint64_t before = done;
    const uint64_t bytes = t->size;
    // Elements of this tensor scaled to its share of the total bytes.
    const QuantProgress inner = [&](uint64_t elements, uint64_t count) {
      if (progress && count != 0) {
        progress(before + static_cast<uint64_t>(static_cast<double>(bytes) *
                                                static_cast<double>(elements) /
                                                static_cast<double>(count)),
                 total);
      }
    };
    // One tensor (or one block of rows of it) in memory at a time: see quantize_to_spill.
    QuantizedSpill spilled = quantize_to_spill(*t, job.spec, inner, plan.threads);
    std::shared_ptr<QuantizedTensor> q = spilled.quant;
    done += t->size;
    if (progress) progress(done, total);
    const uint64_t stored = spilled.size + q->scales.size() + q->zero_points.size();
    // Scales and zero points can outweigh what an integer scheme saves on a few elements
    // (int8 per channel on a 1-D f32 tensor: 5 bytes an element). A cast is a change of type
    // the user asked for, and is kept even when it widens.
    if (!is_cast(job.spec.scheme) && stored >= t->size) {
      if (job.rule != kDefaultRule)
        skips[job.rule].tensors.emplace_back(t->name, SkipReason::kNoGain);
      continue;
    }
    QuantReportRow row;
    row.name = t->name;
    row.scheme = scheme_name(job.spec);
    row.shape = t->shape;
    row.elements = t->element_count();
    row.bytes_before = t->size;
    row.bytes_after = stored;
    row.sqnr_db = q->sqnr_db;
    row.max_abs_error = q->max_abs_error;
    row.overflow_count = q->overflow_count;
    row.slice_count = q->slice_count;
    row.underflow_count = q->underflow_count;
    report.rows.push_back(row);

    t->source_dtype = t->dtype;
    t->dtype = q->dtype;
    t->data = spilled.bytes.data;
    t->size = spilled.size;
    t->owner = std::move(spilled.bytes.owner);
    t->quant = std::move(q);
  }
  for (size_t r = 0; r < plan.rules.size(); ++r) {
    if (!rule_used[r]) report.unused_rules.push_back(plan.rules[r].text);
    if (!skips[r].tensors.empty()) {
      skips[r].rule = plan.rules[r].text;
      report.skipped.push_back(std::move(skips[r]));
    }
  }
  return report;
}

std::vector<std::string> quality_warnings(const QuantReport &report, double floor_db) {
  std::vector<std::string> lines;
  for (const QuantReportRow &row : report.rows) {
    const std::string tensor = "tensor \"" + row.name + "\" (" + row.scheme + ")";
    if (row.sqnr_db < floor_db) {
      lines.push_back(tensor + ": SQNR " + db_text(row.sqnr_db) + " dB is below " +
                      db_text(floor_db) + " dB; it may be useless on the device");
    }
    if (row.underflow_count != 0) {
      lines.push_back(tensor + ": " + std::to_string(row.underflow_count) + " of " +
                      std::to_string(row.slice_count) +
                      (row.slice_count == 1 ? " scale group has" : " scale groups have") +
                      " nonzero values too small for the scale type (the scale underflows to 0, "
                      "they decode as zeros); keep it or use int8");
    }
  }
  return lines;
}

void check_min_sqnr(const QuantReport &report, double min_db) {
  std::string below;
  size_t count = 0;
  for (const QuantReportRow &row : report.rows) {
    if (!(row.sqnr_db < min_db)) continue;
    ++count;
    if (count <= 5) {
      below += (below.empty() ? "" : ", ") +
               ("\"" + row.name + "\" " + row.scheme + " " + db_text(row.sqnr_db) + " dB");
    }
  }
  if (count == 0) return;
  if (count > 5) below += ", and " + std::to_string(count - 5) + " more";
  throw Error(ErrorKind::kInput, std::to_string(count) +
                                     (count == 1 ? " tensor is" : " tensors are") +
                                     " below --min-sqnr " + db_text(min_db) + " dB: " + below +
                                     "; nothing written (keep them with a '=keep' rule, or "
                                     "choose a finer scheme)");
}

std::string format_quant_report(const QuantReport &report) {
  if (report.rows.empty()) {
    std::ostringstream out;
    out << "no tensor quantized\n";
    append_skips(out, report);
    return out.str();
  }
  size_t width = 4;
  for (const auto &row : report.rows) width = std::max(width, row.name.size());
  width = std::min<size_t>(width, 56);
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof(line), "%-*s  %-14s %10s %12s %10s %12s %12s\n",
                static_cast<int>(width), "name", "scheme", "SQNR dB", "max |err|", "clipped",
                "bytes", "stored");
  out << line;
  uint64_t before = 0, after = 0, elements = 0;
  double worst = INFINITY;
  std::string worst_name;
  for (const auto &row : report.rows) {
    std::string name = row.name;
    if (name.size() > width) name = name.substr(0, width - 3) + "...";
    std::snprintf(line, sizeof(line), "%-*s  %-14s %10s %12.4g %10llu %12llu %12llu\n",
                  static_cast<int>(width), name.c_str(), row.scheme.c_str(),
                  db_text(row.sqnr_db).c_str(), row.max_abs_error,
                  static_cast<unsigned long long>(row.overflow_count),
                  static_cast<unsigned long long>(row.bytes_before),
                  static_cast<unsigned long long>(row.bytes_after));
    out << line;
    before += row.bytes_before;
    after += row.bytes_after;
    elements += row.elements;
    if (row.sqnr_db < worst) {
      worst = row.sqnr_db;
      worst_name = row.name;
    }
  }
  const double bits =
      elements == 0 ? 0 : 8.0 * static_cast<double>(after) / static_cast<double>(elements);
  // Every value can come back exactly (e.g. integers cast to f16): there is no worst tensor.
  const std::string worst_text = worst_name.empty()
                                     ? std::string("every value exact")
                                     : "worst SQNR " + db_text(worst) + " dB (" + worst_name + ")";
  std::snprintf(
      line, sizeof(line), "quantized %zu tensors: %s -> %s (%.1f%%), %.3f bits per weight, %s\n",
      report.rows.size(), human_bytes(static_cast<double>(before)).c_str(),
      human_bytes(static_cast<double>(after)).c_str(),
      before == 0 ? 0.0 : 100.0 * static_cast<double>(after) / static_cast<double>(before), bits,
      worst_text.c_str());
  out << line;
  append_skips(out, report);
  return out.str();
}

}  // namespace statepack
