// SPDX-License-Identifier: Apache-2.0
// Strided views to C order, with the byte swap of big-endian elements (strided_copy.hpp).
#include "statepack/tools/core/strided_copy.hpp"

#include <algorithm>
#include <cstring>

namespace statepack {

uint64_t byte_swap_unit(DType dtype) {
  const uint32_t bits = dtype_bits(dtype);
  if (bits < 16) return 1;
  // A complex number is two floats of half its size, each in its own byte order.
  return dtype == DType::kC64 ? bits / 16 : bits / 8;
}

std::vector<uint64_t> row_major_strides(const std::vector<uint64_t> &shape) {
  std::vector<uint64_t> stride(shape.size());
  uint64_t step = 1;
  for (size_t axis = shape.size(); axis-- > 0;) {
    stride[axis] = step;
    step *= shape[axis];
  }
  return stride;
}

std::vector<uint64_t> column_major_strides(const std::vector<uint64_t> &shape) {
  std::vector<uint64_t> stride(shape.size());
  uint64_t step = 1;
  for (size_t axis = 0; axis < shape.size(); ++axis) {
    stride[axis] = step;
    step *= shape[axis];
  }
  return stride;
}

namespace {

void swap_groups(uint8_t *data, uint64_t size, uint64_t unit) {
  for (uint64_t at = 0; at + unit <= size; at += unit) std::reverse(data + at, data + at + unit);
}

}  // namespace

void copy_strided(const uint8_t *storage, uint64_t offset, const std::vector<uint64_t> &shape,
                  const std::vector<uint64_t> &stride, uint64_t item_size, uint64_t swap_unit,
                  uint8_t *out) {
  uint64_t count = 1;
  for (uint64_t extent : shape) count *= extent;
  if (count == 0) return;
  const size_t rank = shape.size();
  // The last axis is copied as one run (a single memcpy when its elements are adjacent); the
  // index over the other axes advances like an odometer, tracking its storage offset.
  const uint64_t run = rank == 0 ? 1 : shape[rank - 1];
  const uint64_t run_stride = rank == 0 ? 1 : stride[rank - 1];
  const uint64_t run_bytes = run * item_size;
  std::vector<uint64_t> index(rank, 0);
  uint64_t source = offset;
  for (uint64_t done = 0; done < count; done += run) {
    if (run_stride == 1) {
      std::memcpy(out, storage + source * item_size, run_bytes);
    } else {
      for (uint64_t i = 0; i < run; ++i) {
        std::memcpy(out + i * item_size, storage + (source + i * run_stride) * item_size,
                    item_size);
      }
    }
    if (swap_unit > 1) swap_groups(out, run_bytes, swap_unit);
    out += run_bytes;
    const size_t outer_axes = rank == 0 ? 0 : rank - 1;
    for (size_t axis = outer_axes; axis-- > 0;) {
      if (++index[axis] < shape[axis]) {
        source += stride[axis];
        break;
      }
      source -= (shape[axis] - 1) * stride[axis];
      index[axis] = 0;
    }
  }
}

}  // namespace statepack
