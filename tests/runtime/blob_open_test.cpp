// SPDX-License-Identifier: Apache-2.0
// Opening valid blobs: every tensor, name lookup, metadata, tied tensors and alignment, as the
// host wrote them. Blobs are built by the host writer from in-memory checkpoints.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/statepack.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "support/sample_checkpoint.hpp"

using statepack::BlobOptions;
using statepack::Checkpoint;
using statepack::ChecksumAlgo;

namespace {

// The blob copied into memory aligned like a mapped file, so tensor pointers can be checked.
struct AlignedBlob {
  explicit AlignedBlob(const std::vector<uint8_t> &bytes) : storage(bytes.size() + 65536) {
    const auto base = reinterpret_cast<uintptr_t>(storage.data());
    data = storage.data() + ((65536 - base % 65536) % 65536);
    std::memcpy(data, bytes.data(), bytes.size());
    size = bytes.size();
  }
  std::vector<uint8_t> storage;
  uint8_t *data;
  size_t size;
};

const statepack::Tensor *find_source(const Checkpoint &c, const std::string &name) {
  for (const auto &t : c.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("every tensor reads back with its dtype, shape and bytes") {
  const Checkpoint c = statepack::test::sample_checkpoint();
  for (const ChecksumAlgo algo : {ChecksumAlgo::kXxh64, ChecksumAlgo::kXxh32}) {
    CAPTURE(static_cast<int>(algo));
    BlobOptions options;
    options.checksum = algo;
    const AlignedBlob blob(statepack::build_blob(c, options));
    spk_blob b;
    REQUIRE(spk_open(&b, blob.data, blob.size, SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
    CHECK(spk_checksum_algo(&b) == static_cast<spk_checksum>(algo));
    REQUIRE(spk_tensor_count(&b) == c.tensors.size());
    std::string previous;
    for (uint32_t i = 0; i < spk_tensor_count(&b); ++i) {
      spk_tensor t;
      REQUIRE(spk_tensor_at(&b, i, &t) == SPK_OK);
      const std::string name(t.name, t.name_length);
      CHECK(name > previous);
      previous = name;
      const auto *source = find_source(c, name);
      REQUIRE(source != nullptr);
      CHECK(t.dtype == static_cast<spk_dtype>(source->dtype));
      CHECK(t.source_dtype == static_cast<spk_dtype>(source->dtype));
      REQUIRE(t.rank == source->shape.size());
      for (uint32_t d = 0; d < t.rank; ++d) CHECK(t.shape[d] == source->shape[d]);
      CHECK(t.element_count == source->element_count());
      REQUIRE(t.stored_size == source->size);
      CHECK(t.decoded_size == source->size);
      CHECK(t.codec == SPK_CODEC_RAW);
      CHECK(t.quant.scheme == SPK_QUANT_NONE);
      if (source->size > 0) CHECK(std::memcmp(t.data, source->data, source->size) == 0);
      CHECK(reinterpret_cast<uintptr_t>(t.data) % spk_alignment(&b) == 0);
      CHECK(spk_verify_tensor(&b, &t) == SPK_OK);
    }
  }
}

TEST_CASE("find locates every name and reports absent ones") {
  const Checkpoint c = statepack::test::sample_checkpoint();
  const AlignedBlob blob(statepack::build_blob(c, BlobOptions{}));
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data, blob.size, 0) == SPK_OK);
  for (const auto &source : c.tensors) {
    spk_tensor t;
    REQUIRE(spk_find(&b, source.name.c_str(), &t) == SPK_OK);
    CHECK(std::string(t.name) == source.name);
  }
  spk_tensor t;
  CHECK(spk_find(&b, "missing", &t) == SPK_ERR_NOT_FOUND);
  CHECK(spk_find(&b, "", &t) == SPK_ERR_NOT_FOUND);
  CHECK(spk_find(&b, "layer", &t) == SPK_ERR_NOT_FOUND);     // a prefix of a name
  CHECK(spk_find(&b, "zzzz", &t) == SPK_ERR_NOT_FOUND);      // past the last name
  CHECK(spk_find_n(&b, "layer.biasXYZ", 10, &t) == SPK_OK);  // length, not NUL, ends the key
  CHECK(std::string(t.name) == "layer.bias");
}

TEST_CASE("tied tensors share one segment") {
  const AlignedBlob blob(statepack::build_blob(statepack::test::sample_checkpoint(), {}));
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data, blob.size, 0) == SPK_OK);
  spk_tensor embed, head;
  REQUIRE(spk_find(&b, "embed", &embed) == SPK_OK);
  REQUIRE(spk_find(&b, "head.weight", &head) == SPK_OK);
  CHECK(embed.segment == head.segment);
  CHECK(embed.data == head.data);
}

TEST_CASE("metadata keeps its types") {
  const AlignedBlob blob(statepack::build_blob(statepack::test::sample_checkpoint(), {}));
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data, blob.size, 0) == SPK_OK);
  CHECK(spk_metadata_count(&b) == 4);
  spk_meta m;
  REQUIRE(spk_metadata_find(&b, "epoch", &m) == SPK_OK);
  CHECK(m.kind == SPK_META_INT);
  CHECK(m.int_value == 3);
  REQUIRE(spk_metadata_find(&b, "loss", &m) == SPK_OK);
  CHECK(m.kind == SPK_META_FLOAT);
  CHECK(m.float_value == 0.125);
  REQUIRE(spk_metadata_find(&b, "finetuned", &m) == SPK_OK);
  CHECK(m.kind == SPK_META_BOOL);
  CHECK(m.bool_value == 1);
  REQUIRE(spk_metadata_find(&b, "arch", &m) == SPK_OK);
  CHECK(m.kind == SPK_META_STRING);
  CHECK(std::string(m.string_value, m.string_length) == "tiny");
  CHECK(spk_metadata_find(&b, "nope", &m) == SPK_ERR_NOT_FOUND);
  CHECK(spk_metadata_at(&b, 4, &m) == SPK_ERR_OUT_OF_RANGE);
}

TEST_CASE("segments start at the requested alignment") {
  for (const uint32_t alignment : {8u, 64u, 4096u, 65536u}) {
    CAPTURE(alignment);
    BlobOptions options;
    options.alignment = alignment;
    const AlignedBlob blob(statepack::build_blob(statepack::test::sample_checkpoint(), options));
    spk_blob b;
    REQUIRE(spk_open(&b, blob.data, blob.size, SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
    CHECK(spk_alignment(&b) == alignment);
    for (uint32_t i = 0; i < spk_tensor_count(&b); ++i) {
      spk_tensor t;
      REQUIRE(spk_tensor_at(&b, i, &t) == SPK_OK);
      CHECK((static_cast<const uint8_t *>(t.data) - blob.data) % alignment == 0);
    }
  }
}

TEST_CASE("an empty checkpoint makes a valid blob") {
  const AlignedBlob blob(statepack::build_blob(Checkpoint{}, {}));
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data, blob.size, SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  CHECK(spk_tensor_count(&b) == 0);
  spk_tensor t;
  CHECK(spk_find(&b, "x", &t) == SPK_ERR_NOT_FOUND);
  CHECK(spk_tensor_at(&b, 0, &t) == SPK_ERR_OUT_OF_RANGE);
}

TEST_CASE("bytes after the blob in the caller's buffer are ignored") {
  std::vector<uint8_t> bytes = statepack::build_blob(statepack::test::sample_checkpoint(), {});
  const size_t blob_size = bytes.size();
  bytes.resize(blob_size + 100, 0xEE);  // e.g. the rest of a flash partition
  spk_blob b;
  REQUIRE(spk_open(&b, bytes.data(), bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  CHECK(b.size == blob_size);
}

TEST_CASE("calls on a blob that was not opened are refused") {
  spk_blob b;
  std::memset(&b, 0, sizeof(b));
  spk_tensor t;
  spk_meta m;
  CHECK(spk_tensor_count(&b) == 0);
  CHECK(spk_tensor_at(&b, 0, &t) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_find(&b, "x", &t) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_verify(&b) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_metadata_find(&b, "x", &m) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_open(nullptr, "x", 1, 0) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_open(&b, nullptr, 1, 0) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_open(&b, "x", 1, 0x80) == SPK_ERR_INVALID_ARGUMENT);  // unknown flag
  // A failed open leaves the struct unusable, not half-filled.
  CHECK(spk_open(&b, "not a blob at all", 17, 0) == SPK_ERR_BAD_MAGIC);
  CHECK(spk_tensor_count(&b) == 0);
}

TEST_CASE("the C++ API wraps the same checks") {
  const AlignedBlob blob(statepack::build_blob(statepack::test::sample_checkpoint(), {}));
  const auto opened = statepack::BlobView::open(blob.data, blob.size);
  REQUIRE(opened.ok());
  const statepack::BlobView &b = opened.value();
  CHECK(b.verify().ok());
  const auto weight = b.find("layer.weight");
  REQUIRE(weight.ok());
  CHECK(weight->shape().size == 2);
  CHECK(weight->shape()[1] == 4);
  float values[12];
  REQUIRE(weight->dequantize(values, 12).ok());
  CHECK(values[1] == -2.0f);
  CHECK(b.find("absent").status().code() == SPK_ERR_NOT_FOUND);
  CHECK(statepack::BlobView::open("junk", 4).status().code() == SPK_ERR_BAD_MAGIC);
}
