// SPDX-License-Identifier: Apache-2.0
// Damaged and hostile blobs: every truncation, every single-bit flip, resealed header
// mutations, and hand-built headers that break one rule each. The runtime must report an
// error (or, for a resealed mutation it accepts, stay inside the blob), never crash.
#include <doctest/doctest.h>

#include <vector>

#include "statepack/statepack.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "support/blob_assembler.hpp"
#include "support/sample_checkpoint.hpp"

using statepack::test::assemble_blob;
using statepack::test::make_tensor_header;
using statepack::test::TensorRecord;
namespace fb = statepack::fb;

namespace {

std::vector<uint8_t> small_blob() {
  return statepack::build_blob(statepack::test::sample_checkpoint(), statepack::BlobOptions{});
}

// Opens and verifies a copy in an exact-size heap buffer, so ASan sees any read past the end.
spk_status open_and_verify(const std::vector<uint8_t> &bytes) {
  const std::vector<uint8_t> copy(bytes);
  spk_blob blob;
  spk_status s =
      spk_open(&blob, copy.empty() ? "" : static_cast<const void *>(copy.data()), copy.size(), 0);
  if (s == SPK_OK) s = spk_verify(&blob);
  return s;
}

// After an accepted open, every accessor must stay inside the blob.
void exercise(const std::vector<uint8_t> &bytes) {
  spk_blob blob;
  if (spk_open(&blob, bytes.data(), bytes.size(), 0) != SPK_OK) return;
  std::vector<float> values;
  for (uint32_t i = 0; i < spk_tensor_count(&blob); ++i) {
    spk_tensor t;
    if (spk_tensor_at(&blob, i, &t) != SPK_OK) continue;
    const auto *begin = static_cast<const uint8_t *>(t.data);
    CHECK(begin >= bytes.data());
    CHECK(begin + t.stored_size <= bytes.data() + bytes.size());
    if (t.element_count < 4096) {
      values.resize(t.element_count + 1);
      (void)spk_dequantize(&t, values.data(), values.size());
    }
    spk_tensor found;
    (void)spk_find_n(&blob, t.name, t.name_length, &found);
    (void)spk_verify_tensor(&blob, &t);
  }
  (void)spk_verify(&blob);
}

spk_status open_only(const std::vector<uint8_t> &bytes) {
  spk_blob blob;
  return spk_open(&blob, bytes.data(), bytes.size(), 0);
}

}  // namespace

TEST_CASE("a blob truncated at any length is refused") {
  const std::vector<uint8_t> blob = small_blob();
  REQUIRE(open_and_verify(blob) == SPK_OK);
  for (size_t length = 0; length < blob.size(); ++length) {
    CAPTURE(length);
    const std::vector<uint8_t> prefix(blob.begin(), blob.begin() + static_cast<long>(length));
    const spk_status s = open_and_verify(prefix);
    CHECK(s != SPK_OK);
    // Past the magic, truncation is recognised as such (the preamble records the size).
    if (length >= 64) CHECK(s == SPK_ERR_TRUNCATED);
  }
}

TEST_CASE("one flipped bit anywhere in the blob is detected") {
  const std::vector<uint8_t> blob = small_blob();
  size_t flips = 0;
  for (size_t position = 0; position < blob.size(); ++position) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> damaged(blob);
      damaged[position] ^= static_cast<uint8_t>(1u << bit);
      const spk_status s = open_and_verify(damaged);
      if (s == SPK_OK) FAIL("undetected flip at byte ", position, " bit ", bit);
      ++flips;
    }
  }
  CHECK(flips == blob.size() * 8);
}

TEST_CASE("where a flip lands decides which check reports it") {
  const std::vector<uint8_t> blob = small_blob();
  const uint64_t header_size = statepack::test::get_u64(blob.data() + SPK_PRE_HEADER_SIZE);
  auto flipped = [&](size_t position) {
    std::vector<uint8_t> d(blob);
    d[position] ^= 0x10;
    return open_and_verify(d);
  };
  CHECK(flipped(0) == SPK_ERR_BAD_MAGIC);
  CHECK(flipped(SPK_PRE_BLOB_SIZE) == SPK_ERR_PREAMBLE_CHECKSUM);
  CHECK(flipped(SPK_PREAMBLE_SIZE_V1 + 20) == SPK_ERR_HEADER_CHECKSUM);
  CHECK(flipped(SPK_PREAMBLE_SIZE_V1 + header_size) == SPK_ERR_PADDING_NOT_ZERO);
  CHECK(flipped(blob.size() - 1) == SPK_ERR_SEGMENT_CHECKSUM);
}

TEST_CASE("text-mode transfer damage is caught by the magic") {
  std::vector<uint8_t> blob = small_blob();
  blob.erase(blob.begin() + 4);  // CR LF -> LF
  CHECK(open_and_verify(blob) == SPK_ERR_BAD_MAGIC);
}

TEST_CASE("resealed header mutations never crash and never escape the blob") {
  const std::vector<uint8_t> blob = small_blob();
  const uint64_t header_size = statepack::test::get_u64(blob.data() + SPK_PRE_HEADER_SIZE);
  size_t accepted = 0;
  for (size_t i = 0; i < header_size; ++i) {
    for (const unsigned mask : {0x01u, 0x80u, 0xFFu}) {
      std::vector<uint8_t> damaged(blob);
      damaged[SPK_PREAMBLE_SIZE_V1 + i] ^= static_cast<uint8_t>(mask);
      statepack::test::reseal(damaged);
      if (open_only(damaged) == SPK_OK) ++accepted;
      exercise(damaged);
    }
  }
  // Some header bytes are padding FlatBuffers itself ignores; the rest must be caught.
  MESSAGE("resealed header mutations accepted: ", accepted, " of ", header_size * 3);
  CHECK(accepted < header_size);
}

TEST_CASE("hand-built headers that break one rule are refused") {
  const std::vector<uint8_t> four_floats(16, 0);
  const TensorRecord good{"w", fb::DType::F32, {2, 2}, 0, 16, 16};
  REQUIRE(open_only(assemble_blob(make_tensor_header({good}), {four_floats})) == SPK_OK);

  SUBCASE("decoded size disagrees with shape") {
    TensorRecord r = good;
    r.shape = {2, 3};
    CHECK(open_only(assemble_blob(make_tensor_header({r}), {four_floats})) == SPK_ERR_BAD_TENSOR);
  }
  SUBCASE("shape product overflows") {
    TensorRecord r = good;
    r.shape = {1ull << 33, 1ull << 33};
    CHECK(open_only(assemble_blob(make_tensor_header({r}), {four_floats})) == SPK_ERR_BAD_TENSOR);
  }
  SUBCASE("rank above 8") {
    TensorRecord r = good;
    r.shape = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(open_only(assemble_blob(make_tensor_header({r}), {four_floats})) == SPK_ERR_HEADER_LIMIT);
  }
  SUBCASE("unknown dtype") {
    TensorRecord r = good;
    r.dtype = static_cast<fb::DType>(99);
    CHECK(open_only(assemble_blob(make_tensor_header({r}), {four_floats})) == SPK_ERR_BAD_TENSOR);
  }
  SUBCASE("segment index past the table") {
    TensorRecord r = good;
    r.segment = 1;
    CHECK(open_only(assemble_blob(make_tensor_header({r}), {four_floats})) == SPK_ERR_BAD_TENSOR);
  }
  SUBCASE("stored size disagrees with the segment") {
    TensorRecord r = good;
    r.stored_size = 12;
    CHECK(open_only(assemble_blob(make_tensor_header({r}), {four_floats})) == SPK_ERR_BAD_TENSOR);
  }
  SUBCASE("raw codec with a filter") {
    TensorRecord r = good;
    r.filter = fb::Filter::ByteGroup;
    CHECK(open_only(assemble_blob(make_tensor_header({r}), {four_floats})) == SPK_ERR_BAD_TENSOR);
  }
  SUBCASE("names out of order or duplicated") {
    TensorRecord a = good, b = good;
    a.name = "b";
    b.name = "a";
    CHECK(open_only(assemble_blob(make_tensor_header({a, b}), {four_floats})) ==
          SPK_ERR_NOT_SORTED);
    b.name = "b";
    CHECK(open_only(assemble_blob(make_tensor_header({a, b}), {four_floats})) ==
          SPK_ERR_NOT_SORTED);
  }
  SUBCASE("empty name") {
    TensorRecord r = good;
    r.name = "";
    CHECK(open_only(assemble_blob(make_tensor_header({r}), {four_floats})) == SPK_ERR_BAD_TENSOR);
  }
  SUBCASE("segment not at the next aligned offset") {
    auto shift = [](std::vector<fb::Segment> &t) {
      t[0] = fb::Segment(t[0].offset() + 64, t[0].size(), t[0].checksum());
    };
    CHECK(open_only(assemble_blob(make_tensor_header({good}), {four_floats}, 64, shift)) ==
          SPK_ERR_BAD_SEGMENT);
  }
  SUBCASE("segment running past the blob") {
    auto grow = [](std::vector<fb::Segment> &t) {
      t[0] = fb::Segment(t[0].offset(), ~0ull - 8, t[0].checksum());
    };
    TensorRecord r = good;
    CHECK(open_only(assemble_blob(make_tensor_header({r}), {four_floats}, 64, grow)) ==
          SPK_ERR_BAD_SEGMENT);
  }
  SUBCASE("alignment not a power of two") {
    CHECK(open_only(assemble_blob(make_tensor_header({good}, 48), {four_floats}, 48)) ==
          SPK_ERR_BAD_SEGMENT);
  }
  SUBCASE("wrong file identifier") {
    std::vector<uint8_t> blob = assemble_blob(make_tensor_header({good}), {four_floats});
    blob[SPK_PREAMBLE_SIZE_V1 + 4] = 'X';
    statepack::test::reseal(blob);
    CHECK(open_only(blob) == SPK_ERR_HEADER_MALFORMED);
  }
  SUBCASE("unsupported major version") {
    std::vector<uint8_t> blob = assemble_blob(make_tensor_header({good}), {four_floats});
    blob[SPK_PRE_FORMAT_MAJOR] = 2;
    statepack::test::reseal(blob);
    CHECK(open_only(blob) == SPK_ERR_UNSUPPORTED_VERSION);
  }
}
