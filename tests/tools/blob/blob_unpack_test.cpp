// SPDX-License-Identifier: Apache-2.0
// blob_to_checkpoint (what `statepack unpack` writes): raw tensors come back as views of the
// blob with their bytes unchanged, compressed ones decoded, quantized ones refused unless asked to
// dequantize and then decoded by the runtime (as F32 or in their source dtype), and the packer's
// own metadata left out.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_unpack.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/quant_rules.hpp"
#include "statepack/tools/quant/quantize.hpp"
#include "support/sample_checkpoint.hpp"
#include "support/temp_dir.hpp"

namespace {

using statepack::BlobFile;
using statepack::BlobOptions;
using statepack::Checkpoint;
using statepack::DType;
using statepack::Tensor;
using statepack::UnpackOptions;
using statepack::test::owned_tensor;

// The tensor's bytes; a decoded tensor (compressed or dequantized) is loaded on demand, as the
// safetensors writer does.
std::vector<uint8_t> bytes_of(const Tensor &t) {
  if (t.load) {
    const statepack::LoadedBytes loaded = t.load();
    return std::vector<uint8_t>(loaded.data, loaded.data + t.size);
  }
  return std::vector<uint8_t>(t.data, t.data + t.size);
}

const Tensor &named(const Checkpoint &c, const std::string &name) {
  for (const Tensor &t : c.tensors) {
    if (t.name == name) return t;
  }
  FAIL("no tensor " << name);
  return c.tensors.front();
}

// Writes `c` as a blob in `dir` and opens it.
BlobFile packed(const statepack::test::TempDir &dir, const Checkpoint &c,
                const BlobOptions &options = {}) {
  const std::string path = dir.file("model.spk");
  statepack::write_blob_file(path, c, options);
  return BlobFile::open(path);
}

// Weights with a different spread per row, as f32 bytes.
std::vector<float> weights(size_t count) {
  std::vector<float> out(count);
  for (size_t i = 0; i < count; ++i) {
    out[i] = static_cast<float>((static_cast<int>(i * 37 % 101) - 50)) * 0.01f *
             static_cast<float>(1 + i / 64);
  }
  return out;
}

// A one-tensor checkpoint "w" of `dtype` (F32, F16, BF16 or F64) holding `values`, quantized
// with `scheme` through the same plan the CLI applies.
Checkpoint quantized(DType dtype, const std::vector<float> &values, const std::string &scheme) {
  std::vector<uint8_t> bytes;
  for (const float v : values) {
    uint8_t b[8];
    size_t n = 4;
    if (dtype == DType::kF16 || dtype == DType::kBF16) {
      const uint16_t h =
          dtype == DType::kF16 ? statepack::f32_to_f16(v) : statepack::f32_to_bf16(v);
      std::memcpy(b, &h, 2);
      n = 2;
    } else if (dtype == DType::kF64) {
      const double d = v;
      std::memcpy(b, &d, 8);
      n = 8;
    } else {
      std::memcpy(b, &v, 4);
    }
    bytes.insert(bytes.end(), b, b + n);
  }
  Checkpoint c;
  c.tensors.push_back(owned_tensor("w", dtype, {values.size() / 64, 64}, bytes));
  const auto spec = statepack::parse_scheme(scheme);
  REQUIRE(spec);
  statepack::QuantPlan plan;
  plan.rules.push_back({"w=" + scheme, "w", *spec});
  statepack::apply_quant_plan(c, plan);
  REQUIRE(c.tensors[0].quant != nullptr);
  return c;
}

std::vector<float> floats_of(const Tensor &t) {
  REQUIRE(t.dtype == DType::kF32);
  const std::vector<uint8_t> bytes = bytes_of(t);
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

std::string unpack_error(const BlobFile &blob, const UnpackOptions &options) {
  try {
    // Decoding happens when a writer loads each tensor, so load them all as it would.
    const Checkpoint out = statepack::blob_to_checkpoint(blob, options);
    for (const Tensor &t : out.tensors) {
      if (t.load) t.load();
    }
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kInput);
    return e.what();
  }
  FAIL("the blob was unpacked");
  return "";
}

}  // namespace

TEST_CASE("unpack returns raw tensors as views of the blob, bytes, dtypes and shapes unchanged") {
  const statepack::test::TempDir dir("unpack-raw");
  const Checkpoint original = statepack::test::sample_checkpoint();
  const BlobFile blob = packed(dir, original);
  const Checkpoint out = statepack::blob_to_checkpoint(blob);
  REQUIRE(out.tensors.size() == original.tensors.size());
  for (size_t i = 1; i < out.tensors.size(); ++i) {
    CHECK(out.tensors[i - 1].name < out.tensors[i].name);  // name order, as the blob holds them
  }
  for (const Tensor &want : original.tensors) {
    CAPTURE(want.name);
    const Tensor &got = named(out, want.name);
    CHECK(got.dtype == want.dtype);
    CHECK(got.shape == want.shape);
    CHECK(bytes_of(got) == bytes_of(want));
    CHECK(got.quant == nullptr);
    // No copy: the bytes lie in the mapping, which the tensor keeps alive.
    CHECK(got.owner == std::static_pointer_cast<const void>(blob.mapping()));
    if (got.size > 0) {
      const uint8_t *base = blob.mapping()->data();
      CHECK(got.data >= base);
      CHECK(got.data + got.size <= base + blob.file_size());
    }
  }
  // Tied tensors share one segment and so come back as the same bytes.
  CHECK(named(out, "embed").data == named(out, "head.weight").data);
}

TEST_CASE("unpack keeps the checkpoint's metadata and drops the packer's statepack.* entries") {
  const statepack::test::TempDir dir("unpack-metadata");
  Checkpoint original = statepack::test::sample_checkpoint();
  original.metadata["statepack.packer"] = statepack::MetaValue::of_string("statepack 0.0");
  original.metadata["statepack.input.0.name"] = statepack::MetaValue::of_string("model.pt");
  original.metadata["statepackage"] = statepack::MetaValue::of_string("kept: no dot");
  const Checkpoint out = statepack::blob_to_checkpoint(packed(dir, original));
  CHECK(out.metadata.count("statepack.packer") == 0);
  CHECK(out.metadata.count("statepack.input.0.name") == 0);
  REQUIRE(out.metadata.size() == 5);
  CHECK(out.metadata.at("statepackage").string_value == "kept: no dot");
  CHECK(out.metadata.at("epoch").kind == statepack::MetaValue::Kind::kInt);
  CHECK(out.metadata.at("epoch").int_value == 3);
  CHECK(out.metadata.at("loss").float_value == 0.125);
  CHECK(out.metadata.at("finetuned").bool_value);
  CHECK(out.metadata.at("arch").string_value == "tiny");
}

TEST_CASE("unpack decodes compressed tensors to their original bytes") {
  const statepack::test::TempDir dir("unpack-zstd");
  Checkpoint original = statepack::test::sample_checkpoint();
  const std::vector<float> w = weights(64 * 256);
  original.tensors.push_back(
      owned_tensor("big", DType::kF32, {256, 64}, statepack::test::f32_bytes(w)));
  BlobOptions options;
  options.compression.zstd = true;
  options.threads = 2;
  const BlobFile blob = packed(dir, original, options);
  spk_tensor stored;
  REQUIRE(spk_find(&blob.blob(), "big", &stored) == SPK_OK);
  REQUIRE(stored.codec == SPK_CODEC_ZSTD);  // else this test would not reach the decoder
  const Checkpoint out = statepack::blob_to_checkpoint(blob);
  for (const Tensor &want : original.tensors) {
    CAPTURE(want.name);
    const Tensor &got = named(out, want.name);
    CHECK(got.dtype == want.dtype);
    CHECK(got.shape == want.shape);
    CHECK(bytes_of(got) == bytes_of(want));
  }
  // Decoded on demand (one tensor at a time while writing), not a view into the mapping.
  const Tensor &big = named(out, "big");
  CHECK(big.data == nullptr);
  CHECK(static_cast<bool>(big.load));
  CHECK(big.size == stored.decoded_size);
}

TEST_CASE("unpack refuses a quantized tensor unless asked to dequantize") {
  const statepack::test::TempDir dir("unpack-refuse");
  const BlobFile blob = packed(dir, quantized(DType::kF32, weights(64 * 8), "int8"));
  CHECK(unpack_error(blob, {}) == blob.path() +
                                      ": tensor \"w\" is quantized; use --dequantize to write its "
                                      "values as floats");
}

TEST_CASE("unpack --dequantize gives the runtime's values for every integer scheme") {
  const std::vector<float> values = weights(64 * 8);
  for (const char *scheme :
       {"int8", "int8-tensor", "int8-asym", "int8-g32", "int4-g32", "int4-g32-asym"}) {
    CAPTURE(scheme);
    for (const bool zstd : {false, true}) {
      CAPTURE(zstd);
      const statepack::test::TempDir dir("unpack-dequantize");
      const Checkpoint c = quantized(DType::kF32, values, scheme);
      const std::vector<float> expected = statepack::reconstruct(c.tensors[0]);
      BlobOptions options;
      options.compression.zstd = zstd;
      const BlobFile blob = packed(dir, c, options);
      UnpackOptions unpack;
      unpack.dequantize = true;
      const Checkpoint out = statepack::blob_to_checkpoint(blob, unpack);
      REQUIRE(out.tensors.size() == 1);
      const Tensor &w = out.tensors[0];
      CHECK(w.shape == std::vector<uint64_t>{8, 64});
      CHECK(w.quant == nullptr);
      CHECK(same_bits(floats_of(w), expected));
    }
  }
}

TEST_CASE("unpack --dequantize --source-dtype narrows to F16, BF16 or F64 and leaves F32") {
  const std::vector<float> values = weights(64 * 4);
  for (const DType source : {DType::kF16, DType::kBF16, DType::kF64, DType::kF32}) {
    CAPTURE(static_cast<int>(source));
    const statepack::test::TempDir dir("unpack-source-dtype");
    const Checkpoint c = quantized(source, values, "int8");
    const std::vector<float> decoded = statepack::reconstruct(c.tensors[0]);
    const BlobFile blob = packed(dir, c);
    UnpackOptions unpack;
    unpack.dequantize = true;
    // Without --source-dtype: F32 whatever the source.
    CHECK(same_bits(floats_of(statepack::blob_to_checkpoint(blob, unpack).tensors[0]), decoded));
    unpack.source_dtype = true;
    const Tensor w = statepack::blob_to_checkpoint(blob, unpack).tensors[0];
    CHECK(w.dtype == source);
    std::vector<uint8_t> expected;
    for (const float v : decoded) {
      if (source == DType::kF16 || source == DType::kBF16) {
        const uint16_t h =
            source == DType::kF16 ? statepack::f32_to_f16(v) : statepack::f32_to_bf16(v);
        expected.push_back(static_cast<uint8_t>(h));
        expected.push_back(static_cast<uint8_t>(h >> 8));
      } else if (source == DType::kF64) {
        const double d = v;
        uint8_t b[8];
        std::memcpy(b, &d, 8);
        expected.insert(expected.end(), b, b + 8);
      } else {
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        expected.insert(expected.end(), b, b + 4);
      }
    }
    CHECK(bytes_of(w) == expected);
  }
}

TEST_CASE("unpack keeps f16 and bf16 casts as stored, or widens them with --dequantize") {
  const std::vector<float> values = weights(64 * 2);
  for (const auto &[scheme, dtype] :
       {std::make_pair("f16", DType::kF16), std::make_pair("bf16", DType::kBF16)}) {
    CAPTURE(scheme);
    const statepack::test::TempDir dir("unpack-cast");
    const Checkpoint c = quantized(DType::kF32, values, scheme);
    const BlobFile blob = packed(dir, c);
    const Tensor as_stored = statepack::blob_to_checkpoint(blob).tensors[0];
    CHECK(as_stored.dtype == dtype);
    CHECK(bytes_of(as_stored) == bytes_of(c.tensors[0]));
    UnpackOptions unpack;
    unpack.dequantize = true;
    const Tensor widened = statepack::blob_to_checkpoint(blob, unpack).tensors[0];
    CHECK(same_bits(floats_of(widened), statepack::reconstruct(c.tensors[0])));
  }
}

TEST_CASE("unpack names the tensor whose compressed segment does not decode") {
  const statepack::test::TempDir dir("unpack-corrupt");
  Checkpoint c;
  c.tensors.push_back(
      owned_tensor("big", DType::kF32, {256, 64}, statepack::test::f32_bytes(weights(64 * 256))));
  BlobOptions options;
  options.compression.zstd = true;
  const std::string path = dir.file("model.spk");
  statepack::write_blob_file(path, c, options);
  size_t offset = 0;
  {
    const BlobFile blob = BlobFile::open(path);
    spk_tensor t;
    REQUIRE(spk_find(&blob.blob(), "big", &t) == SPK_OK);
    REQUIRE(t.codec == SPK_CODEC_ZSTD);
    offset = static_cast<size_t>(static_cast<const uint8_t *>(t.data) - blob.mapping()->data());
  }
  // Damage the start of the segment (the header's checks, which spk_open runs, still pass).
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  for (size_t at = offset; at < offset + 8; ++at) {
    file.seekp(static_cast<std::streamoff>(at));
    file.put(static_cast<char>(0xA5));
  }
  file.close();
  const BlobFile damaged = BlobFile::open(path);
  const std::string message = unpack_error(damaged, {});
  CHECK(message.rfind(path + ": tensor \"big\": ", 0) == 0);
  CHECK(message.find("(status " + std::to_string(SPK_ERR_CORRUPT_DATA) + ")") != std::string::npos);
}
