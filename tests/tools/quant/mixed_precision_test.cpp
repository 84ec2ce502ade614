// SPDX-License-Identifier: Apache-2.0
// The budgeted scheme choice: allocate_bits on synthetic (bits, error) points, and --quant auto
// on a checkpoint (plan_auto_quant, then apply_quant_plan).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/auto_quant.hpp"
#include "statepack/tools/quant/mixed_precision.hpp"
#include "statepack/tools/quant/quant_rules.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using statepack::AllocationItem;
using statepack::CandidatePoint;
using statepack::QuantScheme;
using statepack::SchemeSpec;

// A tensor of `elements` weights with the usual ladder: about 4.5, 5, 8.5, 16 and 32 bits a
// weight, errors falling 4x a bit (6 dB), plus some per-item jitter.
AllocationItem ladder(const std::string &name, uint64_t elements, double sensitivity,
                      std::mt19937 &rng) {
  std::uniform_real_distribution<double> jitter(0.7, 1.4);
  AllocationItem item;
  item.name = name;
  item.elements = elements;
  item.sensitivity = sensitivity;
  const double bits[] = {4.5, 5.0, 8.5, 16, 32};
  const double base = 0.01 * jitter(rng);
  for (double b : bits) {
    const double error = b >= 32 ? 0 : base * std::pow(4.0, 4.5 - b) * jitter(rng);
    item.candidates.push_back(
        {SchemeSpec{QuantScheme::kInt4Group, static_cast<uint32_t>(b * 10)},
         static_cast<uint64_t>(std::llround(b * static_cast<double>(elements))), error});
  }
  return item;
}

std::vector<AllocationItem> random_items(uint32_t seed, size_t count) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint64_t> size(1024, 300000);
  std::lognormal_distribution<double> sensitivity(0.0, 1.0);
  std::vector<AllocationItem> items;
  for (size_t i = 0; i < count; ++i) {
    items.push_back(ladder("t" + std::to_string(i), size(rng), sensitivity(rng), rng));
  }
  return items;
}

// Bits of the chosen candidates, summed independently of the allocator's own total.
uint64_t chosen_bits(const std::vector<AllocationItem> &items, const statepack::Allocation &a) {
  uint64_t bits = 0;
  for (size_t i = 0; i < items.size(); ++i) bits += items[i].candidates[a.choice[i]].bits;
  return bits;
}

std::vector<uint8_t> f32_bytes(const std::vector<float> &v) {
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(v.data()),
                              reinterpret_cast<const uint8_t *>(v.data()) + v.size() * 4);
}

// Gaussian weights of a given shape.
statepack::Tensor weight(const std::string &name, std::vector<uint64_t> shape, uint32_t seed) {
  uint64_t count = 1;
  for (uint64_t d : shape) count *= d;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> values(count);
  for (float &v : values) v = normal(rng);
  return statepack::test::owned_tensor(name, statepack::DType::kF32, shape, f32_bytes(values));
}

statepack::Checkpoint model() {
  statepack::Checkpoint c;
  c.tensors.push_back(weight("conv1.weight", {16, 3, 3, 3}, 1));  // 432: not covered
  c.tensors.push_back(weight("layer1.weight", {64, 16, 3, 3}, 2));
  c.tensors.push_back(weight("layer2.weight", {128, 64, 3, 3}, 3));
  c.tensors.push_back(weight("fc.weight", {10, 1152}, 4));
  c.tensors.push_back(weight("fc.bias", {10}, 5));  // rank 1: not covered
  return c;
}

}  // namespace

TEST_CASE("allocate_bits: the budget holds exactly, and the error falls as it grows") {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    const std::vector<AllocationItem> items = random_items(seed, 40);
    const double floor = statepack::minimum_bpw(items);
    CHECK(floor == doctest::Approx(4.5).epsilon(0.001));
    double previous = INFINITY;
    // From the minimum as the error message gives it (4 decimals, rounded up).
    for (double bpw = std::ceil(floor * 1e4) / 1e4; bpw <= 33; bpw += 0.125) {
      CAPTURE(seed);
      CAPTURE(bpw);
      const statepack::Allocation a = statepack::allocate_bits(items, bpw);
      REQUIRE(a.choice.size() == items.size());
      CHECK(a.bits == chosen_bits(items, a));
      // The achieved figure is within the budget exactly, in whole bits.
      CHECK(static_cast<long double>(a.bits) <=
            static_cast<long double>(bpw) * static_cast<long double>(a.elements));
      CHECK(a.objective <= previous);
      previous = a.objective;
    }
    // Enough bits for everything: every tensor is exact.
    CHECK(statepack::allocate_bits(items, 32).objective == 0);
  }
}

TEST_CASE("allocate_bits: spends the budget well (an exhaustive search does barely better)") {
  // Four items with five candidates each: 625 choices, all tried.
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    const std::vector<AllocationItem> items = random_items(100 + seed, 4);
    for (double bpw : {4.75, 5.5, 7.0, 10.0, 20.0}) {
      CAPTURE(seed);
      CAPTURE(bpw);
      const statepack::Allocation a = statepack::allocate_bits(items, bpw);
      const long double limit = static_cast<long double>(bpw) * a.elements;
      double best = INFINITY;
      for (size_t code = 0; code < 625; ++code) {
        uint64_t bits = 0;
        double objective = 0;
        size_t c = code;
        for (const AllocationItem &item : items) {
          bits += item.candidates[c % 5].bits;
          objective += item.sensitivity * item.candidates[c % 5].relative_error;
          c /= 5;
        }
        if (bits <= limit && objective < best) best = objective;
      }
      CHECK(a.objective >= best * (1 - 1e-12));
      // The hull greedy is the optimum at its breakpoints; between them it may leave at most
      // one step's worth of gain, which on these ladders stays within a factor of 4.
      CHECK(a.objective <= best * 4 + 1e-15);
    }
  }
}

TEST_CASE("allocate_bits: a budget below the cheapest choice names the minimum") {
  const std::vector<AllocationItem> items = random_items(7, 5);
  try {
    statepack::allocate_bits(items, 4.4);
    FAIL("expected an error");
  } catch (const statepack::Error &e) {
    const std::string what = e.what();
    CHECK(e.kind() == statepack::ErrorKind::kUsage);
    CHECK(what.find("--bpw 4.4000 is below") != std::string::npos);
    CHECK(what.find("4.5001 bits per weight") != std::string::npos);
  }
  // The minimum it gives fits.
  CHECK(statepack::allocate_bits(items, 4.5001).bits >= 1);
  CHECK_THROWS_AS(statepack::allocate_bits(items, NAN), statepack::Error);
  CHECK_THROWS_AS(statepack::allocate_bits(items, -1), statepack::Error);
}

TEST_CASE("allocate_bits: the more sensitive of two equal tensors gets the bits") {
  std::mt19937 rng(3);
  AllocationItem a = ladder("a", 10000, 1.0, rng);
  AllocationItem b = a;
  b.name = "b";
  // Room for both to take 5 bits and one of them 8.5, not both.
  const double bpw = (5 + 8.5) / 2;
  for (double weight_b : {0.1, 10.0}) {
    b.sensitivity = weight_b;
    const statepack::Allocation r = statepack::allocate_bits({a, b}, bpw);
    const uint64_t bits_a = a.candidates[r.choice[0]].bits;
    const uint64_t bits_b = b.candidates[r.choice[1]].bits;
    CAPTURE(weight_b);
    if (weight_b > 1) {
      CHECK(bits_b > bits_a);
    } else {
      CHECK(bits_a > bits_b);
    }
  }
}

TEST_CASE("allocate_bits: a fixed item (one candidate) counts toward the budget as it is") {
  std::mt19937 rng(4);
  AllocationItem fixed = ladder("fixed", 10000, 100.0, rng);
  fixed.candidates = {fixed.candidates[3]};  // 16 bits, whatever its sensitivity
  const AllocationItem free = ladder("free", 10000, 1.0, rng);
  const statepack::Allocation r = statepack::allocate_bits({fixed, free}, 10.25);
  CHECK(r.choice[0] == 0);
  CHECK(free.candidates[r.choice[1]].bits == 45000);  // 16 + 4.5 = 2 x 10.25
  CHECK_THROWS_AS(statepack::allocate_bits({fixed, free}, 10.2), statepack::Error);
}

TEST_CASE("--quant auto: measured schemes, stored bits within the budget, rules first") {
  for (double bpw : {4.6, 5.5, 7.0}) {
    CAPTURE(bpw);
    statepack::Checkpoint c = model();
    statepack::QuantPlan plan = statepack::parse_quant_plan("auto", {});
    REQUIRE(plan.automatic);
    const statepack::AutoQuantPlan chosen = statepack::plan_auto_quant(c, plan, bpw, nullptr, "");
    CHECK(chosen.names == std::vector<std::string>{"fc.weight", "layer1.weight", "layer2.weight"});
    CHECK(plan.assigned.size() == 3);
    statepack::apply_quant_plan(c, plan);
    const double stored = statepack::stored_bpw(c, chosen.names);
    // What the blob stores is what the allocation counted.
    CHECK(stored == doctest::Approx(chosen.planned_bpw).epsilon(1e-12));
    CHECK(stored <= bpw);
    CHECK(stored > bpw - 1.0);
    CHECK(c.tensors[0].quant.get() == nullptr);  // not covered: kept
    CHECK(c.tensors[4].quant.get() == nullptr);
  }

  // A rule wins: fc.weight takes int8 and its 8.03 bits a weight count toward the budget.
  statepack::Checkpoint c = model();
  statepack::QuantPlan plan = statepack::parse_quant_plan("auto", {"fc.*=int8"});
  const statepack::AutoQuantPlan chosen = statepack::plan_auto_quant(c, plan, 5.0, nullptr, "");
  CHECK(plan.assigned.count("fc.weight") == 0);
  statepack::apply_quant_plan(c, plan);
  REQUIRE(c.tensors[3].quant.get() != nullptr);
  CHECK(c.tensors[3].quant->spec.scheme == QuantScheme::kInt8Channel);
  const double stored = statepack::stored_bpw(c, chosen.names);
  CHECK(stored == doctest::Approx(chosen.planned_bpw).epsilon(1e-12));
  CHECK(stored <= 5.0);
  // The int8 fc (11520 weights) leaves the other 82944 at most 4.58 bits a weight.
  CHECK(statepack::stored_bpw(c, {"layer1.weight", "layer2.weight"}) < 4.59);

  // Infeasible: 11520 weights kept at 32 bits cannot average 5.5 with the rest (7.54 at
  // least).
  statepack::Checkpoint again = model();
  statepack::QuantPlan keep_fc = statepack::parse_quant_plan("auto", {"fc.*=keep"});
  CHECK_THROWS_WITH_AS(statepack::plan_auto_quant(again, keep_fc, 5.5, nullptr, ""),
                       doctest::Contains("is below the smallest size the candidates reach: 7.5"),
                       statepack::Error);
}

TEST_CASE("--quant auto: measured sensitivities move bits, and their names are checked") {
  statepack::Checkpoint c = model();
  const auto bits_of = [&](const std::map<std::string, double> &s) {
    statepack::QuantPlan plan = statepack::parse_quant_plan("auto", {});
    statepack::Checkpoint copy = model();
    statepack::plan_auto_quant(copy, plan, 5.0, &s, "s.json");
    statepack::apply_quant_plan(copy, plan);
    return std::pair{statepack::stored_bpw(copy, {"layer1.weight"}),
                     statepack::stored_bpw(copy, {"fc.weight"})};
  };
  const auto layer1_heavy = bits_of({{"layer1.weight", 1000}, {"fc.weight", 0.001}});
  const auto fc_heavy = bits_of({{"layer1.weight", 0.001}, {"fc.weight", 1000}});
  CHECK(layer1_heavy.first > fc_heavy.first);
  CHECK(fc_heavy.second > layer1_heavy.second);

  // A name the input does not have is refused; one it has but the budget skips is ignored.
  statepack::QuantPlan plan = statepack::parse_quant_plan("auto", {});
  const std::map<std::string, double> unknown = {{"layer9.weight", 1}, {"fc.bias", 1}};
  CHECK_THROWS_WITH_AS(statepack::plan_auto_quant(c, plan, 5.0, &unknown, "s.json"),
                       doctest::Contains("s.json: 1 name is not a tensor of the input: "
                                         "\"layer9.weight\""),
                       statepack::Error);
  const std::map<std::string, double> partial = {{"fc.bias", 1}, {"fc.weight", 3}};
  const statepack::AutoQuantPlan r = statepack::plan_auto_quant(c, plan, 5.0, &partial, "s.json");
  CHECK(r.defaulted == 2);
}
