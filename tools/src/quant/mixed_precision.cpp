// SPDX-License-Identifier: Apache-2.0
// The budgeted choice of a scheme per tensor (see mixed_precision.hpp for the algorithm), and
// the candidate table of `--quant auto`.
#include "statepack/tools/quant/mixed_precision.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <queue>

#include "statepack/tools/core/error.hpp"

namespace statepack {
namespace {

// One step along an item's hull: from hull point `from` to the next.
struct Step {
  double slope;  // error reduction (sensitivity-weighted) per extra bit
  size_t item;
  size_t index;  // position of the step along the item's hull
};

// Larger slope first; on a tie the earlier item, then its earlier step (hull order).
struct StepOrder {
  bool operator()(const Step &a, const Step &b) const {
    if (a.slope != b.slope) return a.slope < b.slope;
    if (a.item != b.item) return a.item > b.item;
    return a.index > b.index;
  }
};

// Indices of `item`'s candidates on the lower convex hull of (bits, weighted error), cheapest
// first, each strictly better in error than the one before.
std::vector<size_t> lower_hull(const AllocationItem &item) {
  std::vector<size_t> order(item.candidates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const CandidatePoint &x = item.candidates[a], &y = item.candidates[b];
    if (x.bits != y.bits) return x.bits < y.bits;
    return x.relative_error < y.relative_error;
  });
  std::vector<size_t> hull;
  for (size_t i : order) {
    const CandidatePoint &p = item.candidates[i];
    // Dominated: no cheaper-or-equal point does better or as well.
    if (!hull.empty() && !(p.relative_error < item.candidates[hull.back()].relative_error))
      continue;
    // Pop the last point while it lies on or above the segment from the one before it to p.
    while (hull.size() >= 2) {
      const CandidatePoint &a = item.candidates[hull[hull.size() - 2]];
      const CandidatePoint &b = item.candidates[hull.back()];
      const double slope_ab =
          (a.relative_error - b.relative_error) / static_cast<double>(b.bits - a.bits);
      const double slope_bp =
          (b.relative_error - p.relative_error) / static_cast<double>(p.bits - b.bits);
      if (slope_bp < slope_ab) break;
      hull.pop_back();
    }
    hull.push_back(i);
  }
  return hull;
}

std::string bpw_text(double bpw) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", bpw);
  return buf;
}

}  // namespace

double minimum_bpw(const std::vector<AllocationItem> &items) {
  uint64_t bits = 0, elements = 0;
  for (const AllocationItem &item : items) {
    uint64_t cheapest = UINT64_MAX;
    for (const CandidatePoint &c : item.candidates) cheapest = std::min(cheapest, c.bits);
    bits += cheapest;
    elements += item.elements;
  }
  return elements == 0 ? 0 : static_cast<double>(bits) / static_cast<double>(elements);
}

Allocation allocate_bits(const std::vector<AllocationItem> &items, double bpw) {
  if (!(bpw > 0) || !std::isfinite(bpw)) {
    fail_usage("--bpw must be a positive number of bits per weight, got " + bpw_text(bpw));
  }
  Allocation out;
  std::vector<std::vector<size_t>> hulls;
  hulls.reserve(items.size());
  for (const AllocationItem &item : items) {
    if (item.candidates.empty()) fail_usage("tensor \"" + item.name + "\" has no candidate");
    if (!(item.sensitivity >= 0) || !std::isfinite(item.sensitivity)) {
      fail_usage("tensor \"" + item.name + "\": sensitivity must be finite and >= 0");
    }
    hulls.push_back(lower_hull(item));
    out.elements += item.elements;
    out.choice.push_back(hulls.back().front());
    out.bits += item.candidates[hulls.back().front()].bits;
  }
  // bits / elements <= bpw, in integers: the largest whole number of bits within the budget.
  const long double limit_exact =
      static_cast<long double>(bpw) * static_cast<long double>(out.elements);
  const uint64_t limit = limit_exact >= 18446744073709551615.0L
                             ? UINT64_MAX
                             : static_cast<uint64_t>(std::floor(limit_exact));
  if (out.bits > limit) {
    // Rounded up, so that the figure given back as --bpw fits.
    fail_usage("--bpw " + bpw_text(bpw) + " is below the smallest size the candidates reach: " +
               bpw_text(std::ceil(minimum_bpw(items) * 1e4) / 1e4) +
               " bits per weight over the tensors --quant auto sizes (explicit --rule choices "
               "included); give --bpw at least that");
  }

  // Each item's next hull step, largest error reduction per bit first.
  const auto step_of = [&](size_t item, size_t index) {
    const CandidatePoint &a = items[item].candidates[hulls[item][index]];
    const CandidatePoint &b = items[item].candidates[hulls[item][index + 1]];
    const double gain = items[item].sensitivity * (a.relative_error - b.relative_error);
    return Step{gain / static_cast<double>(b.bits - a.bits), item, index};
  };
  std::priority_queue<Step, std::vector<Step>, StepOrder> next;
  for (size_t i = 0; i < items.size(); ++i) {
    if (hulls[i].size() >= 2) next.push(step_of(i, 0));
  }
  while (!next.empty()) {
    const Step step = next.top();
    next.pop();
    // A step that gains nothing (sensitivity 0) is not worth its bits.
    if (!(step.slope > 0)) continue;
    const AllocationItem &item = items[step.item];
    const uint64_t from = item.candidates[hulls[step.item][step.index]].bits;
    const uint64_t to = item.candidates[hulls[step.item][step.index + 1]].bits;
    // The item's later steps need this one first: if it does not fit, the item stays here.
    if (to - from > limit - out.bits) continue;
    out.bits += to - from;
    out.choice[step.item] = hulls[step.item][step.index + 1];
    if (step.index + 2 < hulls[step.item].size()) next.push(step_of(step.item, step.index + 1));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    out.objective += items[i].sensitivity * items[i].candidates[out.choice[i]].relative_error;
  }
  return out;
}

const std::vector<AutoCandidate> &auto_candidates() {
  // One row per candidate; "keep" is always a candidate besides these. A new scheme joins the
  // search by one line here.
  static const std::vector<AutoCandidate> kCandidates = {
      {{QuantScheme::kInt4Group, 32}, true},  {{QuantScheme::kInt4GroupAsym, 32}, true},
      {{QuantScheme::kInt4Group, 64}, true},  {{QuantScheme::kInt4GroupAsym, 64}, true},
      {{QuantScheme::kInt4Group, 128}, true}, {{QuantScheme::kInt4GroupAsym, 128}, true},
      {{QuantScheme::kInt8Group, 32}, true},  {{QuantScheme::kInt8Channel, 0}, true},
      {{QuantScheme::kF16Cast, 0}, true},     {{QuantScheme::kInt4K, 16}, true},
  };
  return kCandidates;
}

}  // namespace statepack
