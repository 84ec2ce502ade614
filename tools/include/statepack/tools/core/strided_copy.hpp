// SPDX-License-Identifier: Apache-2.0
// Gathering a strided view of elements into C order, byte-swapping big-endian elements on the
// way: one routine for every reader that materialises views (torch's strided and expanded
// tensors, numpy's Fortran-order and big-endian arrays).
#pragma once

#include <cstdint>
#include <vector>

#include "statepack/tools/core/dtype.hpp"

namespace statepack {

/// Bytes reversed together when a big-endian element of `dtype` is made little-endian: the size
/// of its scalar component, so complex64 swaps each of its two floats and keeps the real part
/// first (4), F64 swaps 8 bytes; 1 (nothing to swap) for one-byte and sub-byte types.
uint64_t byte_swap_unit(DType dtype);

/// Strides (in elements) of a C-order (row-major, last axis fastest) array of `shape`.
std::vector<uint64_t> row_major_strides(const std::vector<uint64_t> &shape);

/// Strides (in elements) of a Fortran-order (column-major, first axis fastest) array.
std::vector<uint64_t> column_major_strides(const std::vector<uint64_t> &shape);

/// Copies the elements of a strided view into `out` in C order (last axis fastest): element
/// (i0, i1, ...) is read from storage + (offset + sum(i_k * stride[k])) * item_size. Strides may
/// be 0 (expanded views) or describe any permutation. With swap_unit > 1, every group of
/// swap_unit bytes of each element is reversed (byte_swap_unit of a big-endian dtype); 1 copies
/// bytes as they are. The caller has checked that shape and stride have the same rank, that
/// every element lies inside the storage, that swap_unit divides item_size, and that `out` holds
/// (product of shape) * item_size bytes. A rank-0 view is one element.
void copy_strided(const uint8_t *storage, uint64_t offset, const std::vector<uint64_t> &shape,
                  const std::vector<uint64_t> &stride, uint64_t item_size, uint64_t swap_unit,
                  uint8_t *out);

}  // namespace statepack
