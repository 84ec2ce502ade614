// SPDX-License-Identifier: Apache-2.0
// The add-on on SPK_CODEC_ZSTD_ADAPTIVE tensors: every chunk kind (filtered, unfiltered,
// prefixed, raw) decodes bit for bit through spk_zstd_decode and spk_zstd_dequantize in exactly
// the workspace the size functions report, at any alignment, within the documented bound; a
// damaged kind, a prefix for the first chunk, or a kind table read as plain SPK_CODEC_ZSTD (an
// old reader's view) is SPK_ERR_CORRUPT_DATA, never a misread.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using statepack::Checkpoint;
using statepack::DType;
using statepack::test::owned_tensor;

std::vector<uint8_t> noise_f32(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<uint8_t> out(4 * count);
  for (size_t i = 0; i < count; ++i) {
    const float f = normal(rng);
    std::memcpy(&out[4 * i], &f, 4);
  }
  return out;
}

// A block of words from a small alphabet repeated with a period of one chunk (the second chunk
// onwards copies the previous one), 90%-pruned weights, noise, and int8 bytes repeating.
std::vector<uint8_t> sample_blob() {
  Checkpoint c;
  std::vector<uint8_t> block = noise_f32(16384, 1), basis;
  std::mt19937 rng(4);
  for (size_t i = 4; i < block.size(); i += 4) {
    std::memcpy(&block[i], &block[4 * (rng() % 256)], 4);
    block[i] = static_cast<uint8_t>(rng());
  }
  for (int r = 0; r < 3; ++r) basis.insert(basis.end(), block.begin(), block.end());
  basis.resize(basis.size() - 4000);  // a ragged last chunk
  c.tensors.push_back(owned_tensor("basis", DType::kF32, {basis.size() / 4}, basis));
  std::vector<uint8_t> pruned = noise_f32(40000, 2);
  for (size_t i = 0; i < pruned.size(); i += 4) {
    if (rng() % 10 != 0) std::memset(&pruned[i], 0, 4);
  }
  c.tensors.push_back(owned_tensor("pruned", DType::kF32, {40000}, pruned));
  c.tensors.push_back(owned_tensor("noise", DType::kF32, {40000}, noise_f32(40000, 3)));
  std::vector<uint8_t> bytes(150000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = block[i % block.size()];
  c.tensors.push_back(owned_tensor("int8", DType::kI8, {bytes.size()}, bytes));
  statepack::BlobOptions options;
  options.compression.zstd = true;
  // Chunks within the 64 KiB workspace bound this test uses.
  options.compression.max_chunk = SPK_ZSTD_DEFAULT_CHUNK_SIZE;
  return statepack::build_blob(c, options);
}

std::vector<uint32_t> chunk_table(const spk_tensor &t) {
  const auto *data = static_cast<const uint8_t *>(t.data);
  uint32_t count = 0;
  std::memcpy(&count, data + t.stored_size - 4, 4);
  std::vector<uint32_t> table(count);
  std::memcpy(table.data(), data + t.stored_size - 8 - 4 * count, 4 * count);
  return table;
}

spk_status decode_copy(const spk_tensor &t, const std::vector<uint8_t> &segment) {
  spk_tensor view = t;
  view.data = segment.data();
  std::vector<uint8_t> ws(spk_zstd_workspace_bound(SPK_ZSTD_DEFAULT_CHUNK_SIZE));
  std::vector<uint8_t> out(static_cast<size_t>(t.decoded_size));
  return spk_zstd_decode(&view, ws.data(), ws.size(), out.data(), out.size());
}

}  // namespace

TEST_CASE("every chunk kind decodes bit for bit in the workspace the add-on asks for") {
  const std::vector<uint8_t> bytes = sample_blob();
  spk_blob blob;
  REQUIRE(spk_open(&blob, bytes.data(), bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  CHECK(spk_zstd_blob_workspace_size(&blob) <=
        spk_zstd_workspace_bound(SPK_ZSTD_DEFAULT_CHUNK_SIZE));
  std::set<uint32_t> kinds;
  for (uint32_t i = 0; i < spk_tensor_count(&blob); ++i) {
    spk_tensor t;
    REQUIRE(spk_tensor_at(&blob, i, &t) == SPK_OK);
    const std::string name = t.name;
    CAPTURE(name);
    const bool noise = std::strcmp(t.name, "noise") == 0;
    CHECK(t.codec == (noise ? SPK_CODEC_ZSTD : SPK_CODEC_ZSTD_ADAPTIVE));
    for (uint32_t entry : chunk_table(t)) {
      kinds.insert((entry & SPK_ZSTD_RAW_CHUNK) != 0 ? 7u : entry >> SPK_ZSTD_KIND_SHIFT);
    }
    spk_tensor raw_view = t;  // the tensor's bytes, from a raw copy decoded once
    std::vector<uint8_t> expected(static_cast<size_t>(t.decoded_size));
    std::vector<uint8_t> big(spk_zstd_workspace_bound(SPK_ZSTD_DEFAULT_CHUNK_SIZE));
    REQUIRE(spk_zstd_decode(&t, big.data(), big.size(), expected.data(), expected.size()) ==
            SPK_OK);
    raw_view.codec = SPK_CODEC_RAW;
    raw_view.filter = SPK_FILTER_NONE;
    raw_view.data = expected.data();
    raw_view.stored_size = raw_view.decoded_size;
    std::vector<float> expected_f32(static_cast<size_t>(t.element_count));
    REQUIRE(spk_dequantize(&raw_view, expected_f32.data(), expected_f32.size()) == SPK_OK);
    const size_t need = spk_zstd_workspace_size(&t),
                 need_f32 = spk_zstd_dequantize_workspace_size(&t);
    for (size_t shift : {0, 5}) {
      std::vector<uint8_t> ws(need_f32 + shift);
      std::vector<uint8_t> out(expected.size());
      std::vector<float> values(expected_f32.size());
      CHECK(spk_zstd_decode(&t, ws.data() + shift, need, out.data(), out.size()) == SPK_OK);
      CHECK(out == expected);
      CHECK(spk_zstd_dequantize(&t, ws.data() + shift, need_f32, values.data(), values.size()) ==
            SPK_OK);
      CHECK(std::memcmp(values.data(), expected_f32.data(), 4 * values.size()) == 0);
      CHECK(spk_zstd_dequantize(&t, ws.data() + shift, need_f32 - 1, values.data(),
                                values.size()) == SPK_ERR_BUFFER_TOO_SMALL);
    }
  }
  // Filtered, unfiltered and prefixed frames all occur (7: a raw chunk, which may or may not).
  CHECK(kinds.count(SPK_ZSTD_KIND_FILTERED) == 1);
  CHECK(kinds.count(SPK_ZSTD_KIND_UNFILTERED) == 1);
  CHECK(kinds.count(SPK_ZSTD_KIND_PREFIXED) == 1);
}

TEST_CASE("a damaged kind, a prefix for chunk 0, or kinds read as codec Zstd are corrupt") {
  const std::vector<uint8_t> bytes = sample_blob();
  spk_blob blob;
  REQUIRE(spk_open(&blob, bytes.data(), bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  spk_tensor t;
  REQUIRE(spk_find(&blob, "basis", &t) == SPK_OK);
  REQUIRE(t.codec == SPK_CODEC_ZSTD_ADAPTIVE);
  const auto *data = static_cast<const uint8_t *>(t.data);
  const std::vector<uint8_t> segment(data, data + t.stored_size);
  CHECK(decode_copy(t, segment) == SPK_OK);
  const std::vector<uint32_t> table = chunk_table(t);
  const size_t at = segment.size() - 8 - 4 * table.size();
  size_t prefixed = table.size();
  for (size_t i = 0; i < table.size(); ++i) {
    if ((table[i] & SPK_ZSTD_RAW_CHUNK) == 0 &&
        table[i] >> SPK_ZSTD_KIND_SHIFT == SPK_ZSTD_KIND_PREFIXED) {
      prefixed = i;
    }
  }
  REQUIRE(prefixed < table.size());
  for (uint32_t kind : {3u, 7u}) {
    std::vector<uint8_t> damaged = segment;
    const uint32_t entry = (table[prefixed] & ~SPK_ZSTD_KIND_MASK) | kind << SPK_ZSTD_KIND_SHIFT;
    std::memcpy(&damaged[at + 4 * prefixed], &entry, 4);
    CHECK(decode_copy(t, damaged) == SPK_ERR_CORRUPT_DATA);
  }
  {
    std::vector<uint8_t> damaged = segment;  // chunk 0 claims a prefix
    const uint32_t entry = (table[0] & ~SPK_ZSTD_KIND_MASK) | SPK_ZSTD_KIND_PREFIXED
                                                                  << SPK_ZSTD_KIND_SHIFT;
    if ((table[0] & SPK_ZSTD_RAW_CHUNK) == 0) {
      std::memcpy(&damaged[at], &entry, 4);
      CHECK(decode_copy(t, damaged) == SPK_ERR_CORRUPT_DATA);
    }
  }
  spk_tensor old_view = t;  // what a reader of codec Zstd alone would make of the table
  old_view.codec = SPK_CODEC_ZSTD;
  CHECK(decode_copy(old_view, segment) == SPK_ERR_CORRUPT_DATA);
}
