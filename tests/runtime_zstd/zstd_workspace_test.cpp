// SPDX-License-Identifier: Apache-2.0
// The zstd add-on's workspace contract: the size functions cover what decoding needs, any
// alignment works, too little is refused, and raw tensors go through the same calls.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using statepack::Checkpoint;
using statepack::DType;
using statepack::test::owned_tensor;

// A few compressible tensors of different element widths, and one that stays raw.
std::vector<uint8_t> sample_blob(uint32_t max_chunk) {
  Checkpoint c;
  auto ramp = [](size_t n, size_t width) {
    std::vector<uint8_t> out(n * width);
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<uint8_t>((i / width) % 7 + (i % width));
    return out;
  };
  c.tensors.push_back(owned_tensor("f64", DType::kF64, {30000}, ramp(30000, 8)));
  c.tensors.push_back(owned_tensor("bf16", DType::kBF16, {100000}, ramp(100000, 2)));
  c.tensors.push_back(owned_tensor("u8", DType::kU8, {70000}, ramp(70000, 1)));
  c.tensors.push_back(owned_tensor("raw", DType::kU8, {3}, {1, 2, 3}));
  statepack::BlobOptions options;
  options.compression.zstd = true;
  options.compression.max_chunk = max_chunk;
  return statepack::build_blob(c, options);
}

}  // namespace

TEST_CASE("blobs fit the workspace bound of their largest chunk; a smaller one is refused") {
  // The ramps are structured, so by default they get chunks larger than 64 KiB.
  const std::vector<uint8_t> large = sample_blob(SPK_ZSTD_PACK_MAX_CHUNK_SIZE);
  const std::vector<uint8_t> small = sample_blob(SPK_ZSTD_DEFAULT_CHUNK_SIZE);
  spk_blob big_chunks, small_chunks;
  REQUIRE(spk_open(&big_chunks, large.data(), large.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  REQUIRE(spk_open(&small_chunks, small.data(), small.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  const size_t device = spk_zstd_workspace_bound(SPK_ZSTD_DEFAULT_CHUNK_SIZE);
  CHECK(spk_zstd_blob_workspace_size(&big_chunks) >
        spk_zstd_workspace_bound(SPK_ZSTD_DEFAULT_CHUNK_SIZE));
  CHECK(spk_zstd_blob_workspace_size(&big_chunks) <=
        spk_zstd_workspace_bound(SPK_ZSTD_PACK_MAX_CHUNK_SIZE));
  CHECK(spk_zstd_blob_workspace_size(&small_chunks) <= device);
  std::vector<uint8_t> ws(device);
  size_t refused = 0;
  for (uint32_t i = 0; i < spk_tensor_count(&big_chunks); ++i) {
    spk_tensor big, fitted;
    REQUIRE(spk_tensor_at(&big_chunks, i, &big) == SPK_OK);
    REQUIRE(spk_tensor_at(&small_chunks, i, &fitted) == SPK_OK);
    std::vector<float> values(static_cast<size_t>(big.element_count));
    std::vector<float> expected(values.size());
    REQUIRE(spk_zstd_dequantize(&fitted, ws.data(), ws.size(), expected.data(), expected.size()) ==
            SPK_OK);
    const spk_status s =
        spk_zstd_dequantize(&big, ws.data(), ws.size(), values.data(), values.size());
    if (spk_zstd_dequantize_workspace_size(&big) > device) {
      CHECK(s == SPK_ERR_BUFFER_TOO_SMALL);  // refused before decoding anything
      ++refused;
    } else {
      CHECK(s == SPK_OK);
      CHECK(std::memcmp(values.data(), expected.data(), values.size() * 4) == 0);
    }
  }
  CHECK(refused > 0);
}

TEST_CASE("the workspace functions cover every decode, at any alignment") {
  const std::vector<uint8_t> bytes = sample_blob(SPK_ZSTD_DEFAULT_CHUNK_SIZE);
  spk_blob blob;
  REQUIRE(spk_open(&blob, bytes.data(), bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  const size_t blob_need = spk_zstd_blob_workspace_size(&blob);
  CHECK(blob_need <= spk_zstd_workspace_bound(SPK_ZSTD_DEFAULT_CHUNK_SIZE));
  for (uint32_t i = 0; i < spk_tensor_count(&blob); ++i) {
    spk_tensor t;
    REQUIRE(spk_tensor_at(&blob, i, &t) == SPK_OK);
    CAPTURE(t.name);
    CHECK((t.codec != SPK_CODEC_RAW) == (std::strcmp(t.name, "raw") != 0));
    const size_t need = spk_zstd_workspace_size(&t);
    const size_t need_f32 = spk_zstd_dequantize_workspace_size(&t);
    CHECK(need <= need_f32);
    CHECK(need_f32 <= blob_need);
    if (t.codec == SPK_CODEC_RAW) CHECK(need_f32 == 0);
    std::vector<uint8_t> expected(static_cast<size_t>(t.decoded_size));
    std::vector<float> expected_f32(static_cast<size_t>(t.element_count));
    {
      std::vector<uint8_t> ws(need_f32 + 64);
      REQUIRE(spk_zstd_decode(&t, ws.data(), ws.size(), expected.data(), expected.size()) ==
              SPK_OK);
      REQUIRE(spk_zstd_dequantize(&t, ws.data(), ws.size(), expected_f32.data(),
                                  expected_f32.size()) == SPK_OK);
    }
    for (size_t shift : {1, 3, 8, 13}) {
      std::vector<uint8_t> ws(need_f32 + shift);
      std::vector<uint8_t> out(expected.size());
      std::vector<float> values(expected_f32.size());
      CHECK(spk_zstd_decode(&t, ws.data() + shift, need, out.data(), out.size()) == SPK_OK);
      CHECK(out == expected);
      CHECK(spk_zstd_dequantize(&t, ws.data() + shift, need_f32, values.data(), values.size()) ==
            SPK_OK);
      CHECK(std::memcmp(values.data(), expected_f32.data(), values.size() * 4) == 0);
    }
    if (t.codec != SPK_CODEC_RAW) {
      std::vector<uint8_t> ws(need_f32);
      std::vector<uint8_t> out(expected.size());
      std::vector<float> values(expected_f32.size());
      CHECK(spk_zstd_decode(&t, ws.data(), need - 1, out.data(), out.size()) ==
            SPK_ERR_BUFFER_TOO_SMALL);
      CHECK(spk_zstd_dequantize(&t, ws.data(), need_f32 - 1, values.data(), values.size()) ==
            SPK_ERR_BUFFER_TOO_SMALL);
      CHECK(spk_zstd_decode(&t, nullptr, 0, out.data(), out.size()) == SPK_ERR_BUFFER_TOO_SMALL);
      // The core runtime reports a compressed tensor as such.
      CHECK(spk_dequantize(&t, values.data(), values.size()) == SPK_ERR_UNSUPPORTED);
    }
  }
  CHECK(spk_zstd_workspace_size(nullptr) == 0);
  CHECK(spk_zstd_decode(nullptr, nullptr, 0, nullptr, 0) == SPK_ERR_INVALID_ARGUMENT);
}
