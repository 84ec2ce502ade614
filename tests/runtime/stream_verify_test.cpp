// SPDX-License-Identifier: Apache-2.0
// The over-the-air verifier (spk_stream_*) against spk_open + spk_verify: the same verdict for
// every chunking, every truncation and every flipped byte of small blobs, the failure reported
// at the exact byte where it becomes certain, and a state that keeps nothing of the chunks.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <type_traits>
#include <vector>

#include "statepack/format.h"
#include "statepack/statepack.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "support/blob_assembler.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using Bytes = std::vector<uint8_t>;

Bytes sample_blob(statepack::ChecksumAlgo algo, uint32_t alignment = 64) {
  statepack::BlobOptions options;
  options.checksum = algo;
  options.alignment = alignment;
  return statepack::build_blob(statepack::test::sample_checkpoint(), options);
}

struct Verdict {
  spk_status status;
  uint32_t segment;
  uint64_t offset;  // stream only: bytes accepted when the verdict was certain
};

// spk_open + spk_verify on an exact-size copy (ASan sees any read past the end).
Verdict oracle(const Bytes &bytes) {
  const Bytes copy(bytes);
  spk_blob blob;
  Verdict v{
      spk_open(&blob, copy.empty() ? "" : static_cast<const void *>(copy.data()), copy.size(), 0),
      SPK_NO_SEGMENT, 0};
  if (v.status == SPK_OK) v.status = spk_verify_report(&blob, &v.segment);
  return v;
}

// Feeds `bytes` in chunks whose sizes `next_size` chooses, each chunk copied into a scratch
// buffer that is overwritten right after the call (so a verifier keeping a pointer to a chunk
// would read garbage). Checks that feed's result is sticky and the offset never moves after.
template <typename NextSize>
Verdict stream(const Bytes &bytes, NextSize next_size, size_t header_capacity = 4096) {
  spk_stream st;
  std::vector<uint8_t> header(header_capacity);
  REQUIRE(spk_stream_begin(&st, header.data(), header.size()) == SPK_OK);
  spk_status fed = SPK_OK;
  size_t at = 0;
  Bytes scratch;
  while (at < bytes.size()) {
    const size_t n = std::min(next_size(), bytes.size() - at);
    scratch.assign(bytes.begin() + static_cast<long>(at),
                   bytes.begin() + static_cast<long>(at + n));
    const spk_status s = spk_stream_feed(&st, scratch.data(), scratch.size());
    std::fill(scratch.begin(), scratch.end(), 0xA5);
    if (fed != SPK_OK) CHECK(s == fed);
    fed = s;
    at += n;
  }
  const uint64_t offset = spk_stream_offset(&st);
  const spk_status finished = spk_stream_finish(&st);
  if (fed != SPK_OK) {
    CHECK(finished == fed);
    const uint8_t more = 0;
    CHECK(spk_stream_feed(&st, &more, 1) == fed);
    CHECK(spk_stream_offset(&st) == offset);
  }
  return Verdict{finished, spk_stream_failed_segment(&st), spk_stream_offset(&st)};
}

Verdict stream_bytewise(const Bytes &bytes) {
  return stream(bytes, [] { return size_t{1}; });
}

Verdict stream_random(const Bytes &bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  return stream(bytes, [&rng] {
    // Mostly small chunks (they straddle every boundary), sometimes big ones.
    const uint32_t r = rng() % 8;
    return r == 0 ? size_t{1} + rng() % 4096 : size_t{1} + rng() % 40;
  });
}

// The blob's layout, from its (intact) header.
struct Layout {
  uint64_t header_end;
  std::vector<std::pair<uint64_t, uint64_t>> segments;  // offset, size
};

Layout layout_of(const Bytes &blob) {
  Layout l;
  const uint64_t header_size = statepack::test::get_u64(blob.data() + SPK_PRE_HEADER_SIZE);
  l.header_end = SPK_PREAMBLE_SIZE_V1 + header_size;
  const auto *header = statepack::fb::GetHeader(blob.data() + SPK_PREAMBLE_SIZE_V1);
  for (const statepack::fb::Segment *s : *header->segments()) {
    l.segments.emplace_back(s->offset(), s->size());
  }
  return l;
}

// Where damage at byte `position` of an otherwise valid blob becomes certain, and as what.
Verdict expected_after_flip(const Bytes &damaged, const Layout &l, size_t position) {
  if (position < SPK_PRE_FORMAT_MAJOR) return {SPK_ERR_BAD_MAGIC, SPK_NO_SEGMENT, position + 1};
  if (position < SPK_PRE_FORMAT_MINOR) {
    return {SPK_ERR_UNSUPPORTED_VERSION, SPK_NO_SEGMENT, SPK_PRE_FORMAT_MINOR};
  }
  if (position >= SPK_PRE_PREAMBLE_SIZE && position < SPK_PRE_PREAMBLE_SIZE + 4) {
    uint32_t size = 0;
    std::memcpy(&size, damaged.data() + SPK_PRE_PREAMBLE_SIZE, 4);
    if (size < 64 || size > 4096 || size % 8 != 0) {
      return {SPK_ERR_BAD_PREAMBLE, SPK_NO_SEGMENT, SPK_PRE_PREAMBLE_SIZE + 4};
    }
    // A larger preamble takes header bytes for its own; its checksum then fails at its end,
    // unless the blob is shorter than that.
    if (size > damaged.size()) return {SPK_ERR_TRUNCATED, SPK_NO_SEGMENT, damaged.size()};
    return {SPK_ERR_PREAMBLE_CHECKSUM, SPK_NO_SEGMENT, size};
  }
  if (position == SPK_PRE_CHECKSUM_ALGO && damaged[position] != SPK_CHECKSUM_XXH64 &&
      damaged[position] != SPK_CHECKSUM_XXH32) {
    return {SPK_ERR_BAD_PREAMBLE, SPK_NO_SEGMENT, SPK_PRE_CHECKSUM_ALGO + 1};
  }
  if (position < SPK_PREAMBLE_SIZE_V1) {
    return {SPK_ERR_PREAMBLE_CHECKSUM, SPK_NO_SEGMENT, SPK_PREAMBLE_SIZE_V1};
  }
  if (position < l.header_end) return {SPK_ERR_HEADER_CHECKSUM, SPK_NO_SEGMENT, l.header_end};
  for (uint32_t i = 0; i < l.segments.size(); ++i) {
    const auto [offset, size] = l.segments[i];
    if (position < offset) return {SPK_ERR_PADDING_NOT_ZERO, i, position + 1};
    if (position < offset + size) return {SPK_ERR_SEGMENT_CHECKSUM, i, offset + size};
  }
  FAIL("position past the last segment");
  return {};
}

}  // namespace

TEST_CASE("the stream state is small plain data") {
  CHECK(std::is_trivially_copyable<spk_stream>::value);
  CHECK(sizeof(spk_stream) <= 320);
  MESSAGE("sizeof(spk_stream) = ", sizeof(spk_stream));
}

TEST_CASE("a valid blob checks out in chunks of any size") {
  for (const auto algo : {statepack::ChecksumAlgo::kXxh64, statepack::ChecksumAlgo::kXxh32}) {
    for (const uint32_t alignment : {8u, 64u, 4096u}) {
      CAPTURE(static_cast<int>(algo));
      CAPTURE(alignment);
      const Bytes blob = sample_blob(algo, alignment);
      REQUIRE(oracle(blob).status == SPK_OK);
      const Verdict whole = stream(blob, [&] { return blob.size(); });
      CHECK(whole.status == SPK_OK);
      CHECK(whole.offset == blob.size());
      CHECK(whole.segment == SPK_NO_SEGMENT);
      CHECK(stream_bytewise(blob).status == SPK_OK);
      for (uint32_t seed = 0; seed < 50; ++seed) {
        const Verdict v = stream_random(blob, seed);
        CHECK(v.status == SPK_OK);
        CHECK(v.offset == blob.size());
      }
    }
  }
}

TEST_CASE("every truncation is reported as truncated, where the bytes ran out") {
  const Bytes blob = sample_blob(statepack::ChecksumAlgo::kXxh64);
  for (size_t length = 0; length < blob.size(); ++length) {
    CAPTURE(length);
    const Bytes prefix(blob.begin(), blob.begin() + static_cast<long>(length));
    const Verdict expected = oracle(prefix);
    const Verdict v = stream_random(prefix, static_cast<uint32_t>(length));
    CHECK(v.status == expected.status);
    CHECK(v.status == SPK_ERR_TRUNCATED);
    CHECK(v.offset == length);
  }
}

TEST_CASE("every flipped byte gives spk_open + spk_verify's verdict at the exact byte") {
  for (const auto algo : {statepack::ChecksumAlgo::kXxh64, statepack::ChecksumAlgo::kXxh32}) {
    const Bytes blob = sample_blob(algo);
    const Layout layout = layout_of(blob);
    REQUIRE(layout.segments.size() > 2);
    for (size_t position = 0; position < blob.size(); ++position) {
      for (const unsigned mask : {0x01u, 0x80u, 0xFFu}) {
        CAPTURE(static_cast<int>(algo));
        CAPTURE(position);
        CAPTURE(mask);
        Bytes damaged(blob);
        damaged[position] ^= static_cast<uint8_t>(mask);
        const Verdict truth = oracle(damaged);
        const Verdict expected = expected_after_flip(damaged, layout, position);
        REQUIRE(truth.status == expected.status);
        // One byte at a time proves no shorter prefix shows the failure; random chunks prove
        // the chunking does not matter.
        for (const Verdict &v :
             {stream_bytewise(damaged),
              stream_random(damaged, static_cast<uint32_t>(position * 3 + mask))}) {
          CHECK(v.status == truth.status);
          CHECK(v.segment == truth.segment);
          CHECK(v.offset == expected.offset);
          CHECK(v.segment == expected.segment);
        }
      }
    }
  }
}

TEST_CASE("resealed header mutations get spk_open's verdict at the header's end") {
  // These pass the header checksum, so only the structural and semantic checks can see them.
  const Bytes blob = sample_blob(statepack::ChecksumAlgo::kXxh32);
  const Layout layout = layout_of(blob);
  size_t refused = 0;
  for (uint64_t i = SPK_PREAMBLE_SIZE_V1; i < layout.header_end; ++i) {
    for (const unsigned mask : {0x01u, 0x40u, 0xFFu}) {
      CAPTURE(i);
      CAPTURE(mask);
      Bytes damaged(blob);
      damaged[i] ^= static_cast<uint8_t>(mask);
      statepack::test::reseal(damaged);
      const Verdict truth = oracle(damaged);
      const Verdict v = stream_random(damaged, static_cast<uint32_t>(i + mask));
      CHECK(v.status == truth.status);
      CHECK(v.segment == truth.segment);
      if (truth.status != SPK_OK && truth.status != SPK_ERR_SEGMENT_CHECKSUM &&
          truth.status != SPK_ERR_PADDING_NOT_ZERO && truth.status != SPK_ERR_TRUNCATED) {
        CHECK(v.offset == layout.header_end);
        ++refused;
      }
    }
  }
  CHECK(refused > 0);
}

TEST_CASE("hand-built headers that break one rule are refused as spk_open refuses them") {
  using statepack::test::assemble_blob;
  using statepack::test::make_tensor_header;
  using statepack::test::TensorRecord;
  namespace fb = statepack::fb;
  const Bytes four_floats(16, 0);
  const TensorRecord good{"w", fb::DType::F32, {2, 2}, 0, 16, 16};
  TensorRecord bad_shape = good;
  bad_shape.shape = {2, 3};
  TensorRecord a = good, b = good;
  a.name = "b";
  b.name = "a";
  auto shift = [](std::vector<fb::Segment> &t) {
    t[0] = fb::Segment(t[0].offset() + 64, t[0].size(), t[0].checksum());
  };
  auto wrong_sum = [](std::vector<fb::Segment> &t) {
    t[0] = fb::Segment(t[0].offset(), t[0].size(), t[0].checksum() ^ 1);
  };
  const Bytes cases[] = {
      assemble_blob(make_tensor_header({good}), {four_floats}),
      assemble_blob(make_tensor_header({bad_shape}), {four_floats}),
      assemble_blob(make_tensor_header({a, b}), {four_floats}),
      assemble_blob(make_tensor_header({good}), {four_floats}, 64, shift),
      assemble_blob(make_tensor_header({good}), {four_floats}, 64, wrong_sum),
      assemble_blob(make_tensor_header({good}), {four_floats, {}}),
  };
  for (const Bytes &bytes : cases) {
    const Verdict truth = oracle(bytes);
    const Verdict v = stream_bytewise(bytes);
    CHECK(v.status == truth.status);
    CHECK(v.segment == truth.segment);
  }
}

TEST_CASE("a header larger than the caller's buffer is reported at the preamble's end") {
  const Bytes blob = sample_blob(statepack::ChecksumAlgo::kXxh64);
  const uint64_t header_size = statepack::test::get_u64(blob.data() + SPK_PRE_HEADER_SIZE);
  std::vector<uint8_t> header(header_size - 1);
  spk_stream st;
  REQUIRE(spk_stream_begin(&st, header.data(), header.size()) == SPK_OK);
  CHECK(spk_stream_header_size(&st) == 0);
  CHECK(spk_stream_feed(&st, blob.data(), blob.size()) == SPK_ERR_BUFFER_TOO_SMALL);
  CHECK(spk_stream_offset(&st) == SPK_PREAMBLE_SIZE_V1);
  CHECK(spk_stream_header_size(&st) == header_size);
  CHECK(spk_stream_finish(&st) == SPK_ERR_BUFFER_TOO_SMALL);

  // Exactly header_size bytes are enough.
  header.resize(header_size);
  REQUIRE(spk_stream_begin(&st, header.data(), header.size()) == SPK_OK);
  CHECK(spk_stream_feed(&st, blob.data(), blob.size()) == SPK_OK);
  CHECK(spk_stream_finish(&st) == SPK_OK);
}

TEST_CASE("bytes past the blob's end are ignored, as spk_open ignores them") {
  Bytes blob = sample_blob(statepack::ChecksumAlgo::kXxh64);
  const size_t size = blob.size();
  blob.resize(size + 100, 0xEE);
  CHECK(oracle(blob).status == SPK_OK);
  const Verdict v = stream_random(blob, 7);
  CHECK(v.status == SPK_OK);
  CHECK(v.offset == size);
}

TEST_CASE("misuse is refused") {
  uint8_t header[64];
  spk_stream st;
  CHECK(spk_stream_begin(nullptr, header, sizeof header) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_stream_begin(&st, nullptr, 0) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_stream_feed(&st, header, 1) == SPK_ERR_INVALID_ARGUMENT);  // not begun
  CHECK(spk_stream_finish(nullptr) == SPK_ERR_INVALID_ARGUMENT);
  REQUIRE(spk_stream_begin(&st, header, sizeof header) == SPK_OK);
  CHECK(spk_stream_feed(&st, nullptr, 1) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_stream_feed(&st, nullptr, 0) == SPK_OK);
  CHECK(spk_stream_finish(&st) == SPK_ERR_TRUNCATED);
  CHECK(spk_stream_offset(nullptr) == 0);
  CHECK(spk_stream_failed_segment(nullptr) == SPK_NO_SEGMENT);
}
