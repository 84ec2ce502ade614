// SPDX-License-Identifier: Apache-2.0
// Mixed precision to a size budget (`pack --quant auto --bpw B`): given, for each tensor, the
// exact stored size and the relative squared error of every candidate scheme, choose one
// candidate per tensor so that the total stored bits are at most B bits per weight and the sum
// of sensitivity x relative error is as small as the allocation below can make it.
//
// The algorithm (allocate_bits): every tensor starts at its cheapest candidate. Its other
// candidates are reduced to the lower convex hull of its (bits, error) points: a point that a
// mix of two others beats can never be the best use of bits at any price of a bit. Walking a
// hull from the cheapest point, each step buys an error reduction dE for extra bits dB, and the
// slopes dE/dB fall along the hull. All steps of all tensors are taken in one global order of
// falling slope (a greedy on marginal error reduction per bit, i.e. a sweep of the Lagrange
// multiplier from infinity down); a prefix of that order is the exact optimum of the budget it
// spends (Lagrangian relaxation of the multiple-choice knapsack). When a step does not fit,
// its tensor stays where it is (its later steps need that one first) and the walk goes on
// through the other tensors' steps in the same order, taking those that still fit, so little
// of the budget is left over. The prefix before the first step that does not fit only grows
// with B and every step lowers the error; the steps taken after it are not proven monotone in
// B, which the tests check on random instances instead (and that an exhaustive search of
// small ones does not beat the result by much). Points inside a hull are never chosen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "statepack/tools/quant/quant_schemes.hpp"

namespace statepack {

/// One way to store one tensor: its exact stored bits (levels + scales + zero points, as the
/// blob holds them) and its relative squared error noise_energy / signal_energy (0 if exact).
struct CandidatePoint {
  SchemeSpec spec;
  uint64_t bits = 0;
  double relative_error = 0;
};

/// A tensor to allocate: its candidates (at least one) and how much its error matters. A tensor
/// whose scheme an explicit rule fixed has exactly one candidate.
struct AllocationItem {
  std::string name;
  uint64_t elements = 0;
  double sensitivity = 1;
  std::vector<CandidatePoint> candidates;
};

/// The chosen candidate of every item (index into its `candidates`), with the totals.
struct Allocation {
  std::vector<size_t> choice;
  uint64_t bits = 0;      ///< sum of the chosen candidates' bits
  uint64_t elements = 0;  ///< sum of the items' elements
  double objective = 0;   ///< sum of sensitivity x relative_error of the chosen candidates
  double bpw() const {
    return elements == 0 ? 0 : static_cast<double>(bits) / static_cast<double>(elements);
  }
};

/// The smallest bits per weight any choice reaches (every item at its cheapest candidate).
double minimum_bpw(const std::vector<AllocationItem> &items);

/// Chooses a candidate per item with total bits <= bpw x total elements, minimising the
/// objective as described at the top of this header. Deterministic (ties go to the earlier
/// item, then the cheaper candidate). Throws a usage Error when even the cheapest choice
/// exceeds the budget, giving the minimum achievable bits per weight.
Allocation allocate_bits(const std::vector<AllocationItem> &items, double bpw);

/// A candidate scheme of `--quant auto`, from the one table in mixed_precision.cpp.
struct AutoCandidate {
  SchemeSpec spec;
  /// Its parameters belong to one row (axis 0) or to no row, so a tensor of rank >= 2 can be
  /// measured a block of rows at a time.
  bool row_separable = true;
};

/// The candidates `--quant auto` chooses from (besides keeping a tensor as it is).
const std::vector<AutoCandidate> &auto_candidates();

}  // namespace statepack
