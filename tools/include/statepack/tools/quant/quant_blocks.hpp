// SPDX-License-Identifier: Apache-2.0
// Quantizing a tensor without holding it: levels go to the spill file, and a large tensor is
// converted and quantized a block of rows at a time.
#pragma once

#include <cstdint>
#include <memory>

#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/io/spill_file.hpp"
#include "statepack/tools/quant/quantize.hpp"

namespace statepack {

/// A quantized tensor whose levels wait in the spill file (its `data` is empty).
struct QuantizedSpill {
  std::shared_ptr<QuantizedTensor> quant;
  SpilledBytes bytes;  ///< the levels, `size` bytes
  uint64_t size = 0;
};

/// Rows per block when a tensor of rows of `row_elements` (> 0) elements is quantized about
/// `block_bytes` of f32 at a time: at least 1; even where rows hold an odd count (int4 packs two
/// levels a byte, so every block but the last must hold an even count); and, with
/// `int4k_super_blocks`, a multiple of 16 (int4-k shares an F16 scale among 16 consecutive
/// sub-blocks, which may span rows: blocks of 16 rows keep those super-blocks and their
/// 14-byte records whole). Blocks so sized concatenate to the whole tensor's levels and
/// parameters under every row-separable scheme (int4-k only with `int4k_super_blocks`).
uint64_t quant_block_rows(uint64_t row_elements, uint64_t block_bytes, bool int4k_super_blocks);

/// quantize(t.name, to_f32(t), t.shape, spec), with the levels moved to the spill file and the
/// input's pages released once read. Tensors over 32 MiB of f32 under a scheme whose
/// parameters belong to rows (casts, per-channel and group-wise) are converted and quantized
/// 4 MiB of f32 rows at a time, so their size does not bound memory: levels and parameters
/// are those of the whole tensor; sqnr_db sums signal and noise per block (equal to the whole
/// tensor's up to rounding). `progress` hears of elements done over the whole tensor. Each
/// block is quantized on up to `threads` threads (0 = every core); the result is the same for
/// any count. This is the one function that quantizes a tensor of a checkpoint with a chosen
/// scheme: the pass (apply_quant_plan) and anything choosing schemes per tensor call it.
QuantizedSpill quantize_to_spill(const Tensor &t, const SchemeSpec &spec,
                                 const QuantProgress &progress = {}, unsigned threads = 1);

}  // namespace statepack
