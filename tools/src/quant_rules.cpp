// Rule matching and the quantization pass over a checkpoint.
#include "statepack/tools/quant_rules.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "statepack/tools/error.hpp"
#include "statepack/tools/text_cell.hpp"

namespace statepack {
namespace {

bool is_group_wise(QuantScheme s) {
  return s == QuantScheme::kInt8Group || s == QuantScheme::kInt4Group ||
         s == QuantScheme::kInt4GroupAsym;
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

// Why `spec` cannot apply to `t`, or empty when it can.
std::string obstacle(const SchemeSpec &spec, const Tensor &t) {
  if (spec.scheme == QuantScheme::kNone) return "";
  if (!is_floating(t.dtype)) {
    return "is " + std::string(dtype_name(t.dtype)) + ", not a floating-point tensor";
  }
  if (is_group_wise(spec.scheme) && t.shape.empty())
    return "is a scalar (group-wise needs an axis)";
  return "";
}

std::string db_text(double db) {
  if (std::isinf(db)) return "exact";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", db);
  return buf;
}

}  // namespace

QuantPlan parse_quant_plan(const std::string &quant, const std::vector<std::string> &rules) {
  QuantPlan plan;
  if (!quant.empty()) {
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

QuantReport apply_quant_plan(Checkpoint &checkpoint, const QuantPlan &plan) {
  QuantReport report;
  std::vector<bool> rule_used(plan.rules.size(), false);
  std::vector<Tensor *> order;
  for (Tensor &t : checkpoint.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const Tensor *a, const Tensor *b) { return a->name < b->name; });

  for (Tensor *t : order) {
    std::optional<SchemeSpec> chosen;
    for (size_t r = 0; r < plan.rules.size(); ++r) {
      if (fnmatch(plan.rules[r].glob.c_str(), t->name.c_str(), 0) != 0) continue;
      rule_used[r] = true;
      const std::string why = obstacle(plan.rules[r].spec, *t);
      if (!why.empty()) {
        fail_usage("--rule " + plan.rules[r].text + " matches tensor \"" + t->name + "\", which " +
                   why + "; narrow the glob or put a '=keep' rule for it first");
      }
      chosen = plan.rules[r].spec;
      break;
    }
    if (!chosen && plan.default_scheme && is_floating(t->dtype) && t->shape.size() >= 2 &&
        t->element_count() >= 1024) {
      chosen = plan.default_scheme;
    }
    if (!chosen || chosen->scheme == QuantScheme::kNone) continue;
    // An empty tensor has nothing to scale: an integer scheme would give it no parameters,
    // which no reader expects (shape [0, 3] per channel: zero scales). It stays as it is.
    if (t->element_count() == 0 && chosen->scheme != QuantScheme::kF16Cast &&
        chosen->scheme != QuantScheme::kBF16Cast) {
      continue;
    }
    // A cast to the type a tensor already has changes nothing.
    if ((chosen->scheme == QuantScheme::kF16Cast && t->dtype == DType::kF16) ||
        (chosen->scheme == QuantScheme::kBF16Cast && t->dtype == DType::kBF16)) {
      continue;
    }

    // One tensor (or one block of rows of it) in memory at a time: see quantize_to_spill.
    QuantizedSpill spilled = quantize_to_spill(*t, *chosen);
    std::shared_ptr<QuantizedTensor> q = spilled.quant;
    QuantReportRow row;
    row.name = t->name;
    row.scheme = scheme_name(*chosen);
    row.shape = t->shape;
    row.elements = t->element_count();
    row.bytes_before = t->size;
    row.bytes_after = spilled.size + q->scales.size() + q->zero_points.size();
    row.sqnr_db = q->sqnr_db;
    row.max_abs_error = q->max_abs_error;
    row.overflow_count = q->overflow_count;
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
  }
  return report;
}

std::string format_quant_report(const QuantReport &report) {
  if (report.rows.empty()) return "no tensor quantized\n";
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
  return out.str();
}

}  // namespace statepack
