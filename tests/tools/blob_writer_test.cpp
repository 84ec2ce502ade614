// The blob writer: deterministic output, deduplication, and refusal of what the format
// cannot hold.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "statepack/statepack.h"
#include "statepack/tools/blob_writer.hpp"
#include "statepack/tools/error.hpp"
#include "support/sample_checkpoint.hpp"

using statepack::BlobOptions;
using statepack::Checkpoint;
using statepack::DType;
using statepack::test::owned_tensor;

namespace {

statepack::ErrorKind error_kind_of(const Checkpoint &c, const BlobOptions &options = {}) {
  try {
    statepack::build_blob(c, options);
  } catch (const statepack::Error &e) {
    return e.kind();
  }
  FAIL("no error");
  return statepack::ErrorKind::kOutput;
}

}  // namespace

TEST_CASE("the same tensors in any input order give the same bytes") {
  Checkpoint a = statepack::test::sample_checkpoint();
  Checkpoint b = a;
  std::reverse(b.tensors.begin(), b.tensors.end());
  CHECK(statepack::build_blob(a, {}) == statepack::build_blob(b, {}));
}

TEST_CASE("identical bytes are stored once") {
  Checkpoint c;
  c.tensors.push_back(owned_tensor("a", DType::kF32, {4}, statepack::test::pattern_bytes(16, 9)));
  c.tensors.push_back(owned_tensor("b", DType::kF32, {4}, statepack::test::pattern_bytes(16, 9)));
  c.tensors.push_back(
      owned_tensor("c", DType::kI32, {2, 2}, statepack::test::pattern_bytes(16, 9)));
  c.tensors.push_back(owned_tensor("d", DType::kF32, {4}, statepack::test::pattern_bytes(16, 8)));
  const auto bytes = statepack::build_blob(c, {});
  spk_blob blob;
  REQUIRE(spk_open(&blob, bytes.data(), bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  CHECK(blob.segment_count == 2);
  spk_tensor tc;
  REQUIRE(spk_find(&blob, "c", &tc) == SPK_OK);
  CHECK(tc.dtype == SPK_DTYPE_I32);  // shares bytes, keeps its own dtype and shape
  CHECK(tc.rank == 2);
}

TEST_CASE("tensors the format cannot hold are refused before writing") {
  SUBCASE("duplicate names") {
    Checkpoint c;
    c.tensors.push_back(owned_tensor("x", DType::kU8, {1}, {1}));
    c.tensors.push_back(owned_tensor("x", DType::kU8, {1}, {2}));
    CHECK(error_kind_of(c) == statepack::ErrorKind::kInput);
  }
  SUBCASE("rank above 8") {
    Checkpoint c;
    c.tensors.push_back(owned_tensor("x", DType::kU8, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {1}));
    CHECK(error_kind_of(c) == statepack::ErrorKind::kInput);
  }
  SUBCASE("bytes that do not match the shape") {
    Checkpoint c;
    c.tensors.push_back(owned_tensor("x", DType::kF32, {2}, {1, 2, 3}));
    CHECK(error_kind_of(c) == statepack::ErrorKind::kInput);
  }
  SUBCASE("an empty name") {
    Checkpoint c;
    c.tensors.push_back(owned_tensor("", DType::kU8, {1}, {1}));
    CHECK(error_kind_of(c) == statepack::ErrorKind::kInput);
  }
}

TEST_CASE("bad options are usage errors") {
  const Checkpoint c = statepack::test::sample_checkpoint();
  for (const uint32_t alignment : {0u, 3u, 4u, 96u, 131072u}) {
    CAPTURE(alignment);
    BlobOptions options;
    options.alignment = alignment;
    CHECK(error_kind_of(c, options) == statepack::ErrorKind::kUsage);
  }
}
