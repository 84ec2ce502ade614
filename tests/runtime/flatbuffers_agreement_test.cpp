// SPDX-License-Identifier: Apache-2.0
// The runtime's own FlatBuffers reader against the oracle: flatc's generated reader and
// flatbuffers::Verifier must accept the same headers and see the same values in every field.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "support/blob_assembler.hpp"
#include "support/sample_checkpoint.hpp"

namespace fb = statepack::fb;

namespace {

void check_agreement(const std::vector<uint8_t> &bytes) {
  spk_blob blob;
  REQUIRE(spk_open(&blob, bytes.data(), bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  const uint8_t *header = blob.header;
  flatbuffers::Verifier verifier(header, blob.header_size);
  REQUIRE(fb::VerifyHeaderBuffer(verifier));
  REQUIRE(fb::HeaderBufferHasIdentifier(header));
  const fb::Header *root = fb::GetHeader(header);

  CHECK(root->alignment() == spk_alignment(&blob));
  REQUIRE(root->segments()->size() == blob.segment_count);
  REQUIRE(root->tensors()->size() == spk_tensor_count(&blob));
  for (uint32_t i = 0; i < spk_tensor_count(&blob); ++i) {
    const fb::Tensor *expected = root->tensors()->Get(i);
    spk_tensor t;
    REQUIRE(spk_tensor_at(&blob, i, &t) == SPK_OK);
    CHECK(expected->name()->str() == std::string(t.name, t.name_length));
    CHECK(static_cast<int>(expected->dtype()) == t.dtype);
    CHECK(static_cast<int>(expected->source_dtype()) == t.source_dtype);
    REQUIRE(expected->shape()->size() == t.rank);
    for (uint32_t d = 0; d < t.rank; ++d) CHECK(expected->shape()->Get(d) == t.shape[d]);
    CHECK(expected->data_segment() == t.segment);
    CHECK(expected->stored_size() == t.stored_size);
    CHECK(expected->decoded_size() == t.decoded_size);
    CHECK(static_cast<int>(expected->codec()) == t.codec);
    CHECK(static_cast<int>(expected->filter()) == t.filter);
    const fb::Segment *segment = root->segments()->Get(t.segment);
    CHECK(blob.data + segment->offset() == t.data);
    CHECK(segment->size() == t.stored_size);
  }
  const auto *metadata = root->metadata();
  REQUIRE((metadata ? metadata->size() : 0) == spk_metadata_count(&blob));
  for (uint32_t i = 0; i < spk_metadata_count(&blob); ++i) {
    const fb::MetaEntry *expected = metadata->Get(i);
    spk_meta m;
    REQUIRE(spk_metadata_at(&blob, i, &m) == SPK_OK);
    CHECK(expected->key()->str() == std::string(m.key, m.key_length));
    CHECK(static_cast<int>(expected->kind()) == m.kind);
    CHECK(expected->int_value() == m.int_value);
    CHECK(expected->float_value() == m.float_value);
    CHECK(static_cast<int>(expected->bool_value()) == m.bool_value);
    const std::string text = expected->string_value() ? expected->string_value()->str() : "";
    CHECK(text == std::string(m.string_value, m.string_length));
  }
}

}  // namespace

TEST_CASE("runtime reader and flatc reader agree on the sample blob") {
  for (const uint32_t alignment : {8u, 64u, 4096u}) {
    statepack::BlobOptions options;
    options.alignment = alignment;
    check_agreement(statepack::build_blob(statepack::test::sample_checkpoint(), options));
  }
}

TEST_CASE("runtime reader and flatc reader agree on many generated checkpoints") {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    statepack::Checkpoint c;
    const auto noise = statepack::test::pattern_bytes(64, seed);
    const uint32_t count = seed % 13;
    for (uint32_t i = 0; i < count; ++i) {
      const uint64_t rows = noise[i] % 5, cols = noise[i + 16] % 7 + 1;
      const std::vector<uint64_t> shape =
          i % 4 == 0 ? std::vector<uint64_t>{} : std::vector<uint64_t>{rows, cols};
      const uint64_t elements = shape.empty() ? 1 : rows * cols;
      const auto dtype = i % 2 ? statepack::DType::kF16 : statepack::DType::kI32;
      const uint64_t bytes = elements * (i % 2 ? 2 : 4);
      c.tensors.push_back(statepack::test::owned_tensor(
          "t" + std::to_string(noise[i + 32]) + "_" + std::to_string(i), dtype, shape,
          statepack::test::pattern_bytes(bytes, seed * 100 + i)));
    }
    if (seed % 3 == 0) c.metadata["k" + std::to_string(seed)] = statepack::MetaValue::of_int(seed);
    if (seed % 5 == 0) c.metadata["note"] = statepack::MetaValue::of_string(std::string(seed, 'x'));
    check_agreement(statepack::build_blob(c, statepack::BlobOptions{}));
  }
}
