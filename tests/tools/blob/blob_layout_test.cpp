// SPDX-License-Identifier: Apache-2.0
// plan_segments (tools/src/blob/blob_layout.cpp): tensors in bytewise name order, one segment per
// distinct byte string (tied weights share one, whatever the thread count), twins hashed while
// planning, compression giving tensor data an encoding and never merging bytes encoded
// differently, and duplicate names refused.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "statepack/tools/blob/blob_layout.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/error.hpp"
#include "support/sample_checkpoint.hpp"

using statepack::BlobLayout;
using statepack::Checkpoint;
using statepack::ChecksumAlgo;
using statepack::DType;
using statepack::plan_segments;
using statepack::PlanOptions;
using statepack::test::owned_tensor;
using statepack::test::pattern_bytes;

namespace {

// Three tensors with the same 64 bytes (two of them BF16, one I16), one with other bytes of the
// same size, one of another size, and an empty one.
Checkpoint tied_checkpoint() {
  Checkpoint c;
  c.tensors.push_back(owned_tensor("z.lm_head", DType::kBF16, {32}, pattern_bytes(64, 1)));
  c.tensors.push_back(owned_tensor("a.embed", DType::kBF16, {32}, pattern_bytes(64, 1)));
  c.tensors.push_back(owned_tensor("m.as_ints", DType::kI16, {32}, pattern_bytes(64, 1)));
  c.tensors.push_back(owned_tensor("b.other", DType::kBF16, {32}, pattern_bytes(64, 2)));
  c.tensors.push_back(owned_tensor("B.upper", DType::kU8, {5}, pattern_bytes(5, 3)));
  c.tensors.push_back(owned_tensor("empty", DType::kF32, {0}, {}));
  return c;
}

std::vector<std::string> names(const BlobLayout &layout) {
  std::vector<std::string> out;
  for (const auto *t : layout.tensors) out.push_back(t->name);
  return out;
}

uint32_t segment_of(const BlobLayout &layout, const std::string &name) {
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    if (layout.tensors[i]->name == name) return layout.tensor_segments[i].data;
  }
  FAIL("no tensor " << name);
  return statepack::kNoSegment;
}

}  // namespace

TEST_CASE("plan_segments sorts bytewise and gives identical bytes one segment") {
  const Checkpoint c = tied_checkpoint();
  for (const unsigned threads : {1u, 2u, 4u}) {
    CAPTURE(threads);
    PlanOptions options;
    options.threads = threads;
    const BlobLayout layout = plan_segments(c, options);
    CHECK(names(layout) == std::vector<std::string>{"B.upper", "a.embed", "b.other", "empty",
                                                    "m.as_ints", "z.lm_head"});
    REQUIRE(layout.tensor_segments.size() == layout.tensors.size());
    // Uncompressed, equal bytes are one segment whatever their dtype.
    CHECK(segment_of(layout, "a.embed") == segment_of(layout, "z.lm_head"));
    CHECK(segment_of(layout, "m.as_ints") == segment_of(layout, "a.embed"));
    CHECK(segment_of(layout, "b.other") != segment_of(layout, "a.embed"));
    // Segments in first-use order: the sorted tensors number them 0, 1, 2, ...
    CHECK(segment_of(layout, "B.upper") == 0);
    CHECK(segment_of(layout, "a.embed") == 1);
    CHECK(segment_of(layout, "b.other") == 2);
    size_t distinct = layout.segments.size();
    CHECK(distinct == (segment_of(layout, "empty") == statepack::kNoSegment ? 3u : 4u));
    // The twins' checksum is known from planning and is the blob checksum of their bytes.
    const auto &shared = layout.segments[segment_of(layout, "a.embed")];
    CHECK(shared.size == 64);
    REQUIRE(shared.raw_checksum_known);
    CHECK(shared.raw_checksum == statepack::checksum(ChecksumAlgo::kXxh64, shared.data, 64));
    for (const auto &segment : layout.segments) {
      CHECK_FALSE(segment.encoding.compress);
      CHECK_FALSE(segment.compressed);
      CHECK(segment.offset == 0);
    }
  }
}

TEST_CASE("plan_segments with compression merges only bytes encoded the same way") {
  PlanOptions options;
  options.compress = true;
  options.checksum = ChecksumAlgo::kXxh32;
  const Checkpoint c = tied_checkpoint();  // the layout points into it
  const BlobLayout layout = plan_segments(c, options);
  CHECK(segment_of(layout, "a.embed") == segment_of(layout, "z.lm_head"));
  // Same bytes, but I16 is byte-grouped without the BF16 rotation: a segment of its own.
  CHECK(segment_of(layout, "m.as_ints") != segment_of(layout, "a.embed"));
  const auto &bf16 = layout.segments[segment_of(layout, "a.embed")];
  CHECK(bf16.encoding.compress);
  CHECK(bf16.encoding.filter == statepack::Filter::kByteGroupRotate);
  CHECK(bf16.encoding.width == 2);
  REQUIRE(bf16.raw_checksum_known);
  CHECK(bf16.raw_checksum == statepack::checksum(ChecksumAlgo::kXxh32, bf16.data, 64));
  const auto &ints = layout.segments[segment_of(layout, "m.as_ints")];
  CHECK(ints.encoding.filter == statepack::Filter::kByteGroup);
  CHECK(std::memcmp(ints.data, bf16.data, 64) == 0);  // equal bytes, kept apart
}

TEST_CASE("plan_segments refuses two tensors of one name") {
  Checkpoint c = tied_checkpoint();
  c.tensors.push_back(owned_tensor("b.other", DType::kU8, {1}, {1}));
  CHECK_THROWS_WITH_AS(plan_segments(c, PlanOptions{}), "two tensors are named \"b.other\"",
                       statepack::Error);
}
