// SPDX-License-Identifier: Apache-2.0
// View materialisation (tools/src/core/strided_copy.cpp and torch_model::materialise): strided,
// transposed, expanded and offset views gathered into C order, and big-endian elements swapped
// per scalar component, so a complex64 keeps its real part first.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "formats/torch/torch_pickle_model.hpp"
#include "statepack/tools/core/strided_copy.hpp"

namespace statepack {
namespace {

using Bytes = std::vector<uint8_t>;

// 1-byte elements 0, 1, 2, ... gathered through a view: the result lists the storage indices.
Bytes gather_indices(uint64_t offset, const std::vector<uint64_t> &shape,
                     const std::vector<uint64_t> &stride) {
  Bytes storage(64);
  for (size_t i = 0; i < storage.size(); ++i) storage[i] = static_cast<uint8_t>(i);
  uint64_t count = 1;
  for (uint64_t d : shape) count *= d;
  Bytes out(count);
  copy_strided(storage.data(), offset, shape, stride, 1, 1, out.data());
  return out;
}

Bytes big_endian_f32(const std::vector<float> &values) {
  Bytes out;
  for (float v : values) {
    uint32_t bits = 0;
    std::memcpy(&bits, &v, 4);
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(bits >> shift));
  }
  return out;
}

std::vector<float> floats_of(const uint8_t *data, size_t count) {
  std::vector<float> out(count);
  std::memcpy(out.data(), data, count * 4);
  return out;
}

TEST_CASE("the swap unit is the scalar component's size") {
  CHECK(byte_swap_unit(DType::kC64) == 4);  // two floats, each swapped in place
  CHECK(byte_swap_unit(DType::kF64) == 8);
  CHECK(byte_swap_unit(DType::kI64) == 8);
  CHECK(byte_swap_unit(DType::kF32) == 4);
  CHECK(byte_swap_unit(DType::kBF16) == 2);
  CHECK(byte_swap_unit(DType::kU8) == 1);
  CHECK(byte_swap_unit(DType::kBool) == 1);
  CHECK(byte_swap_unit(DType::kI4) == 1);
}

TEST_CASE("C-order and Fortran-order strides") {
  CHECK(row_major_strides({2, 3, 4}) == std::vector<uint64_t>{12, 4, 1});
  CHECK(column_major_strides({2, 3, 4}) == std::vector<uint64_t>{1, 2, 6});
  CHECK(row_major_strides({}).empty());
}

TEST_CASE("views gather into C order") {
  SUBCASE("contiguous") {
    CHECK(gather_indices(0, {2, 3}, {3, 1}) == Bytes{0, 1, 2, 3, 4, 5});
  }
  SUBCASE("transposed: a 2x3 storage read as its 3x2 transpose") {
    CHECK(gather_indices(0, {3, 2}, {1, 3}) == Bytes{0, 3, 1, 4, 2, 5});
  }
  SUBCASE("permuted rank 3") {
    // storage [2][2][2] read with axes (2, 0, 1)
    CHECK(gather_indices(0, {2, 2, 2}, {1, 4, 2}) == Bytes{0, 2, 4, 6, 1, 3, 5, 7});
  }
  SUBCASE("expanded: stride 0 repeats a row, and a column") {
    CHECK(gather_indices(0, {2, 3}, {0, 1}) == Bytes{0, 1, 2, 0, 1, 2});
    CHECK(gather_indices(5, {2, 3}, {1, 0}) == Bytes{5, 5, 5, 6, 6, 6});
  }
  SUBCASE("offset and step: a slice [1::2, 2:4] of an 4x5 storage") {
    CHECK(gather_indices(7, {2, 2}, {10, 1}) == Bytes{7, 8, 17, 18});
    CHECK(gather_indices(1, {3}, {2}) == Bytes{1, 3, 5});
  }
  SUBCASE("rank 0 is one element, an empty shape none") {
    CHECK(gather_indices(9, {}, {}) == Bytes{9});
    Bytes out;
    copy_strided(nullptr, 0, {0, 3}, {3, 1}, 4, 4, out.data());  // reads and writes nothing
    CHECK(out.empty());
  }
}

TEST_CASE("big-endian elements are swapped per component") {
  SUBCASE("f32, contiguous and transposed") {
    const Bytes storage = big_endian_f32({1.5f, -2.0f, 3.25f, 4.0f, 5.0f, 6.5f});
    std::vector<uint8_t> out(24);
    copy_strided(storage.data(), 0, {2, 3}, {3, 1}, 4, 4, out.data());
    CHECK(floats_of(out.data(), 6) == std::vector<float>{1.5f, -2.0f, 3.25f, 4.0f, 5.0f, 6.5f});
    copy_strided(storage.data(), 0, {3, 2}, {1, 3}, 4, 4, out.data());
    CHECK(floats_of(out.data(), 6) == std::vector<float>{1.5f, 4.0f, -2.0f, 5.0f, 3.25f, 6.5f});
  }
  SUBCASE("complex64 keeps the real part first") {
    // Two complex numbers 1+2i, 3-4i as a big-endian machine stores them.
    const Bytes storage = big_endian_f32({1.0f, 2.0f, 3.0f, -4.0f});
    std::vector<uint8_t> out(16);
    copy_strided(storage.data(), 0, {2}, {1}, 8, byte_swap_unit(DType::kC64), out.data());
    CHECK(floats_of(out.data(), 4) == std::vector<float>{1.0f, 2.0f, 3.0f, -4.0f});
    // An offset view: the second number alone.
    copy_strided(storage.data(), 1, {1}, {1}, 8, 4, out.data());
    CHECK(floats_of(out.data(), 2) == std::vector<float>{3.0f, -4.0f});
  }
  SUBCASE("f64 swaps all 8 bytes") {
    const double value = 0.1;
    uint8_t big[8];
    std::memcpy(big, &value, 8);
    std::reverse(big, big + 8);
    double back = 0;
    copy_strided(big, 0, {}, {}, 8, byte_swap_unit(DType::kF64),
                 reinterpret_cast<uint8_t *>(&back));
    CHECK(back == value);
  }
}

// A torch tensor view over `bytes` (a storage of `dtype`).
torch_model::TensorView view_of(const std::shared_ptr<Bytes> &bytes, DType dtype, uint64_t offset,
                                std::vector<uint64_t> shape, std::vector<uint64_t> stride) {
  auto storage = std::make_shared<torch_model::Storage>();
  storage->key = "0";
  storage->dtype = dtype;
  storage->data = bytes->data();
  storage->size = bytes->size();
  storage->owner = bytes;
  torch_model::TensorView view;
  view.storage = storage;
  view.dtype = dtype;
  view.offset = offset;
  view.shape = std::move(shape);
  view.stride = std::move(stride);
  return view;
}

TEST_CASE("torch views materialise through the same routine") {
  SUBCASE("a contiguous little-endian view is not copied") {
    auto bytes = std::make_shared<Bytes>(24);
    const Tensor t =
        torch_model::materialise("x.pt", "w", view_of(bytes, DType::kF32, 2, {4}, {1}), false);
    CHECK(t.data == bytes->data() + 8);
    CHECK(t.size == 16);
  }
  SUBCASE("a transposed big-endian complex64 tensor") {
    // Storage: a 2x2 complex matrix [[1+2i, 3+4i], [5+6i, 7+8i]], big-endian.
    auto bytes = std::make_shared<Bytes>(big_endian_f32({1, 2, 3, 4, 5, 6, 7, 8}));
    const Tensor t =
        torch_model::materialise("x.pt", "c", view_of(bytes, DType::kC64, 0, {2, 2}, {1, 2}), true);
    REQUIRE(t.size == 32);
    CHECK(floats_of(t.data, 8) == std::vector<float>{1, 2, 5, 6, 3, 4, 7, 8});
  }
  SUBCASE("an expanded big-endian f32 row") {
    auto bytes = std::make_shared<Bytes>(big_endian_f32({0.5f, 1.5f, 2.5f}));
    const Tensor t =
        torch_model::materialise("x.pt", "e", view_of(bytes, DType::kF32, 0, {2, 3}, {0, 1}), true);
    REQUIRE(t.size == 24);
    CHECK(floats_of(t.data, 6) == std::vector<float>{0.5f, 1.5f, 2.5f, 0.5f, 1.5f, 2.5f});
  }
  SUBCASE("a view past its storage is refused") {
    auto bytes = std::make_shared<Bytes>(16);
    CHECK_THROWS(
        torch_model::materialise("x.pt", "v", view_of(bytes, DType::kF32, 1, {4}, {1}), false));
  }
}

}  // namespace
}  // namespace statepack
