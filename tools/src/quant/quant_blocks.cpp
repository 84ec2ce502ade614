// SPDX-License-Identifier: Apache-2.0
// Quantizing a tensor of any size with the memory of a few rows (see quantize.hpp,
// quantize_to_spill). Schemes whose parameters belong to one row (per channel along axis 0,
// groups inside rows) or to no row at all (casts) give the same levels and parameters for a
// tensor as for its rows taken a block at a time, concatenated: so a large tensor is
// converted to f32, quantized and measured one block of rows at a time, its levels streamed
// into the spill file.
#include <algorithm>
#include <cmath>

#include "quant_internal.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/quant_blocks.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack {
namespace {

// f32 bytes of rows per block; tensors up to twice this are quantized whole. Small enough that
// the block, its levels and the input pages behind it stay a small part of a pack's memory,
// large enough to keep every thread busy (blocks hold hundreds of slices).
constexpr uint64_t kBlockBytes = uint64_t{4} << 20;

bool row_separable(QuantScheme scheme, const std::vector<uint64_t> &shape) {
  switch (scheme) {
    case QuantScheme::kF16Cast:
    case QuantScheme::kBF16Cast:
      return !shape.empty();
    case QuantScheme::kInt8Channel:
    case QuantScheme::kInt8Asym:
    case QuantScheme::kInt8Group:
    case QuantScheme::kInt4Group:
    case QuantScheme::kInt4GroupAsym:
    case QuantScheme::kInt4K:
      return shape.size() >= 2;
    default:
      return false;
  }
}

void append(std::vector<uint8_t> &to, const std::vector<uint8_t> &bytes) {
  to.insert(to.end(), bytes.begin(), bytes.end());
}

// Values of the whole tensor for an error message: how many cannot be quantized, counted over
// every block (a block alone would undercount).
void count_non_finite_and_fail(const Tensor &t, const SchemeSpec &spec, uint64_t rows,
                               uint64_t row_bytes, uint64_t block_rows) {
  uint64_t bad = 0;
  for (uint64_t row = 0; row < rows; row += block_rows) {
    Tensor block = t;
    const uint64_t k = std::min(block_rows, rows - row);
    block.shape[0] = k;
    block.data = t.data + row * row_bytes;
    block.size = k * row_bytes;
    for (float v : to_f32(block)) bad += std::isfinite(v) ? 0 : 1;
  }
  const bool int4 = spec.scheme == QuantScheme::kInt4Group ||
                    spec.scheme == QuantScheme::kInt4GroupAsym ||
                    spec.scheme == QuantScheme::kInt4K;
  fail_input("tensor \"" + t.name + "\"",
             std::to_string(bad) +
                 (bad == 1 ? " NaN or infinite value cannot" : " NaN or infinite values cannot") +
                 " be quantized to " + (int4 ? "int4" : "int8") + " (keep it, or use f16/bf16)");
}

}  // namespace

uint64_t quant_block_rows(uint64_t row_elements, uint64_t block_bytes, bool int4k_super_blocks) {
  uint64_t block_rows = std::max<uint64_t>(1, block_bytes / (row_elements * 4));
  if (row_elements % 2 != 0 && block_rows % 2 != 0) ++block_rows;
  if (int4k_super_blocks) block_rows = (block_rows + 15) / 16 * 16;
  return block_rows;
}

QuantizedSpill quantize_to_spill(const Tensor &t, const SchemeSpec &spec,
                                 const QuantProgress &progress, unsigned threads) {
  const uint64_t count = t.element_count();
  QuantizedSpill out;
  if (!row_separable(spec.scheme, t.shape) || count * 4 <= 2 * kBlockBytes) {
    const std::vector<float> values = to_f32(t);
    out.quant = std::make_shared<QuantizedTensor>(
        quantize(t.name, values.data(), t.shape, spec, progress, threads));
    MappedFile::release(t.data, t.size);
    out.size = out.quant->data.size();
    out.bytes = spill(out.quant->data.data(), out.size);
    std::vector<uint8_t>().swap(out.quant->data);
    return out;
  }

  const uint64_t rows = t.shape[0];
  const uint64_t row_elements = rows == 0 ? 0 : count / rows;
  const uint64_t row_bytes = t.size / rows;
  const uint64_t block_rows =
      quant_block_rows(row_elements, kBlockBytes, spec.scheme == QuantScheme::kInt4K);

  auto q = std::make_shared<QuantizedTensor>();
  double signal = 0, noise = 0;
  uint64_t row = 0;
  QuantizedTensor block_q;
  // The levels' total size, from the scheme's element width.
  const uint64_t level_bits =
      spec.scheme == QuantScheme::kF16Cast || spec.scheme == QuantScheme::kBF16Cast ? 16
      : spec.scheme == QuantScheme::kInt4Group || spec.scheme == QuantScheme::kInt4GroupAsym ||
              spec.scheme == QuantScheme::kInt4K
          ? 4
          : 8;
  out.size = (count * level_bits + 7) / 8;
  out.bytes = spill_blocks(out.size, [&]() -> std::pair<const uint8_t *, uint64_t> {
    if (row >= rows) return {nullptr, 0};
    const uint64_t k = std::min(block_rows, rows - row);
    Tensor block = t;
    block.shape[0] = k;
    block.data = t.data + row * row_bytes;
    block.size = k * row_bytes;
    const std::vector<float> values = to_f32(block);
    try {
      // Progress over the whole tensor: this block's elements start at row * row_elements.
      const uint64_t first = row * row_elements;
      const QuantProgress block_progress = [&](uint64_t done, uint64_t) {
        if (progress) progress(first + done, count);
      };
      block_q = quantize(t.name, values.data(), block.shape, spec, block_progress, threads);
    } catch (const Error &) {
      if (std::any_of(values.begin(), values.end(), [](float v) { return !std::isfinite(v); }) &&
          spec.scheme != QuantScheme::kF16Cast && spec.scheme != QuantScheme::kBF16Cast) {
        count_non_finite_and_fail(t, spec, rows, row_bytes, block_rows);
      }
      throw;
    }
    MappedFile::release(block.data, block.size);
    if (row == 0) {
      *q = block_q;
      q->data.clear();
      q->scales.clear();
      q->zero_points.clear();
      q->max_abs_error = 0;
      q->overflow_count = 0;
      q->slice_count = 0;
      q->underflow_count = 0;
    }
    append(q->scales, block_q.scales);
    append(q->zero_points, block_q.zero_points);
    signal += block_q.signal_energy;
    noise += block_q.noise_energy;
    q->max_abs_error = std::max(q->max_abs_error, block_q.max_abs_error);
    q->overflow_count += block_q.overflow_count;
    q->slice_count += block_q.slice_count;
    q->underflow_count += block_q.underflow_count;
    row += k;
    return {block_q.data.data(), block_q.data.size()};
  });
  q->signal_energy = signal;
  q->noise_energy = noise;
  q->sqnr_db = quant::sqnr_db_of(signal, noise);
  out.quant = std::move(q);
  return out;
}

}  // namespace statepack
