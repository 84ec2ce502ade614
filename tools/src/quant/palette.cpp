// SPDX-License-Identifier: Apache-2.0
// Finding a small palette (palette.hpp). The distinct values are collected by their bit
// patterns in a small open-addressing table: a tensor of ordinary weights shows its 257th
// distinct value within its first few hundred elements, so rejection is nearly free.
#include "statepack/tools/quant/palette.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "quant_internal.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/quant/float_convert.hpp"

namespace statepack {
namespace {

// Twice the palette's capacity, a power of two: probe chains stay short.
constexpr uint32_t kSlots = 2 * kMaxPaletteSize;
constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();

bool palette_source(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

// Element i's f32 bit pattern (an F16/BF16 value widened exactly), and whether it is NaN.
uint32_t f32_bits(const Tensor &t, uint64_t i, bool *nan) {
  uint32_t bits = 0;
  if (t.dtype == DType::kF32) {
    bits = load_le32(t.data + 4 * i);
  } else {
    const uint16_t half = load_le16(t.data + 2 * i);
    if (t.dtype == DType::kBF16) {
      bits = static_cast<uint32_t>(half) << 16;
    } else {
      const float v = f16_to_f32(half);
      std::memcpy(&bits, &v, sizeof(bits));
    }
  }
  *nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
  return bits;
}

// The distinct f32 bit patterns seen so far, each with its palette index once sorted.
class ValueSet {
 public:
  ValueSet() { keys_.fill(kEmpty); }
  // Adds `bits`; false when that would make more than kMaxPaletteSize values. kEmpty (all ones)
  // is a NaN, which callers refuse before adding.
  bool add(uint32_t bits) {
    uint32_t &slot = keys_[find(bits)];
    if (slot == bits) return true;
    if (count_ == kMaxPaletteSize) return false;
    slot = bits;
    ++count_;
    return true;
  }
  uint32_t count() const { return count_; }
  // The values in ascending order (-0.0 before +0.0; no NaN is present), and each one's
  // position in that order recorded for index().
  std::vector<uint32_t> sort() {
    std::vector<uint32_t> values;
    for (uint32_t k : keys_) {
      if (k != kEmpty) values.push_back(k);
    }
    // Negative floats order by descending bits, positive ones by ascending bits above them.
    auto order = [](uint32_t b) { return (b & 0x80000000u) != 0 ? ~b : b | 0x80000000u; };
    std::sort(values.begin(), values.end(),
              [&](uint32_t a, uint32_t b) { return order(a) < order(b); });
    for (uint32_t i = 0; i < values.size(); ++i) positions_[find(values[i])] = i;
    return values;
  }
  uint32_t index(uint32_t bits) const { return positions_[find(bits)]; }

 private:
  uint32_t find(uint32_t bits) const {
    uint32_t slot = (bits * 2654435761u) >> 23;  // 9 bits: kSlots == 512
    while (keys_[slot] != kEmpty && keys_[slot] != bits) slot = (slot + 1) % kSlots;
    return slot;
  }
  std::array<uint32_t, kSlots> keys_{};
  std::array<uint32_t, kSlots> positions_{};
  uint32_t count_ = 0;
};
static_assert(kSlots == 512, "find() hashes to 9 bits");

// Collects t's distinct values; false at the first NaN or the 257th value.
bool collect(const Tensor &t, ValueSet &set) {
  if (!palette_source(t.dtype) || t.data == nullptr) return false;
  const uint64_t n = t.element_count();
  if (n == 0) return false;
  for (uint64_t i = 0; i < n; ++i) {
    bool nan = false;
    const uint32_t bits = f32_bits(t, i, &nan);
    if (nan || !set.add(bits)) return false;
  }
  return true;
}

}  // namespace

bool may_be_palette(const Tensor &t) {
  ValueSet set;
  return collect(t, set);
}

std::optional<QuantizedTensor> find_palette(const Tensor &t) {
  ValueSet set;
  if (!collect(t, set)) return std::nullopt;
  const std::vector<uint32_t> values = set.sort();
  const uint64_t n = t.element_count();
  QuantizedTensor q;
  q.spec.scheme = QuantScheme::kPalette;
  q.spec.group_size = static_cast<uint32_t>(values.size());
  q.axis = -1;
  q.scale_dtype = DType::kF32;
  for (uint32_t bits : values) {
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    quant::append_f32(q.scales, v);
  }
  const bool nibbles = values.size() <= 16;
  q.dtype = nibbles ? DType::kU4 : DType::kU8;
  q.data.assign(nibbles ? (n + 1) / 2 : n, 0);
  double signal = 0;
  for (uint64_t i = 0; i < n; ++i) {
    bool nan = false;
    const uint32_t bits = f32_bits(t, i, &nan);
    const uint32_t k = set.index(bits);
    if (nibbles) {
      q.data[i / 2] = static_cast<uint8_t>(q.data[i / 2] | k << (i % 2 != 0 ? 4 : 0));
    } else {
      q.data[i] = static_cast<uint8_t>(k);
    }
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    if (v - v == 0) signal += static_cast<double>(v) * v;  // finite values only
  }
  q.signal_energy = signal;
  q.sqnr_db = std::numeric_limits<double>::infinity();
  q.slice_count = 1;
  q.lossless = true;
  // The promise is the decoder's output, so check exactly that, bit for bit.
  const std::vector<float> back = reconstruct(q, t.shape);
  for (uint64_t i = 0; i < n; ++i) {
    bool nan = false;
    uint32_t got;
    std::memcpy(&got, &back[i], sizeof(got));
    if (got != f32_bits(t, i, &nan)) return std::nullopt;
  }
  return q;
}

}  // namespace statepack

namespace statepack {
namespace quant {

std::vector<float> reconstruct_palette(const QuantizedTensor &q, uint64_t count) {
  const uint64_t entries = q.scales.size() / 4;
  const bool nibbles = q.dtype == DType::kU4;
  if (q.scale_dtype != DType::kF32 || entries != q.spec.group_size ||
      (!nibbles && q.dtype != DType::kU8) || q.data.size() < (nibbles ? (count + 1) / 2 : count)) {
    fail_inconsistent(q, "palette without its F32 values or U8/U4 indices");
  }
  std::vector<float> out(count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint32_t k = nibbles ? (q.data[i / 2] >> (i % 2 != 0 ? 4 : 0)) & 15u : q.data[i];
    if (k >= entries) fail_inconsistent(q, "palette index past the palette");
    const uint32_t bits = load_le32(q.scales.data() + 4 * k);
    std::memcpy(&out[i], &bits, sizeof(float));
  }
  return out;
}

}  // namespace quant
}  // namespace statepack
