// SPDX-License-Identifier: Apache-2.0
// The blob writer: deterministic output, deduplication, refusal of what the format cannot
// hold, the file-to-file copy of tensors that lie in an input file, and compressed output that
// reused buffers and batched writes leave as it would be without them.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <random>
#include <string>

#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/checkpoint_reader.hpp"
#include "statepack/tools/formats/safetensors_writer.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "support/blob_assembler.hpp"
#include "support/sample_checkpoint.hpp"
#include "support/temp_dir.hpp"

using statepack::BlobOptions;
using statepack::Checkpoint;
using statepack::DType;
using statepack::Tensor;
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

TEST_CASE("the writer's own check of a header agrees with spk_open on every one-byte change") {
  const std::vector<uint8_t> blob = statepack::build_blob(statepack::test::sample_checkpoint(), {});
  const uint64_t header_size = statepack::test::get_u64(blob.data() + SPK_PRE_HEADER_SIZE);
  const auto split = [](const std::vector<uint8_t> &b, uint64_t size) {
    return std::make_pair(
        std::vector<uint8_t>(b.begin(), b.begin() + SPK_PREAMBLE_SIZE_V1),
        std::vector<uint8_t>(b.begin() + SPK_PREAMBLE_SIZE_V1,
                             b.begin() + static_cast<std::ptrdiff_t>(SPK_PREAMBLE_SIZE_V1 + size)));
  };
  const auto [preamble, header] = split(blob, header_size);
  CHECK_NOTHROW(statepack::check_header_with_runtime(preamble, header));
  size_t refused = 0;
  for (uint64_t at = 0; at < header_size; ++at) {
    std::vector<uint8_t> changed = blob;
    changed[SPK_PREAMBLE_SIZE_V1 + at] ^= 0x41;
    statepack::test::reseal(changed);  // checksums right: the structure is what is checked
    spk_blob opened;
    const spk_status verdict = spk_open(&opened, changed.data(), changed.size(), 0);
    const auto [p, h] = split(changed, header_size);
    if (verdict == SPK_OK) {
      CHECK_NOTHROW(statepack::check_header_with_runtime(p, h));
      continue;
    }
    ++refused;
    CAPTURE(at);
    try {
      statepack::check_header_with_runtime(p, h);
      FAIL("accepted a header spk_open refuses");
    } catch (const statepack::Error &e) {
      CHECK(e.kind() == statepack::ErrorKind::kOutput);
      CHECK(std::string(e.what()).find("status " + std::to_string(verdict)) != std::string::npos);
    }
  }
  CHECK(refused > header_size / 4);  // most bytes of a header matter
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

namespace {

// Tensors with every kind of placement: twins ("a", "b"), a near twin with the same size and
// the same sampled bytes but one byte different ("c"), a unique size ("d"), and a small one.
Checkpoint placement_checkpoint() {
  std::vector<uint8_t> big = statepack::test::pattern_bytes(256 * 1024, 3);
  std::vector<uint8_t> near = big;
  near[3 * 4096 + 11] ^= 0x40;  // outside the first, middle and last 4 KiB
  Checkpoint c;
  c.tensors.push_back(owned_tensor("a", DType::kF32, {256, 256}, big));
  c.tensors.push_back(owned_tensor("b", DType::kF32, {256, 256}, big));
  c.tensors.push_back(owned_tensor("c", DType::kF32, {256, 256}, near));
  c.tensors.push_back(owned_tensor("d", DType::kU8, {3 * 1024 * 1024 + 5},
                                   statepack::test::pattern_bytes(3 * 1024 * 1024 + 5, 4)));
  c.tensors.push_back(owned_tensor("e", DType::kU8, {3}, {1, 2, 3}));
  return c;
}

std::vector<uint8_t> read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// A sink in memory that takes part of every file copy it is offered (read with pread, as the
// kernel would copy it) and then reports that it cannot copy more, like a kernel that stops
// part way.
class PartialCopySink : public statepack::BlobSink {
 public:
  void write(uint64_t offset, const void *data, size_t size) override {
    REQUIRE(offset <= bytes.size());
    if (offset + size > bytes.size()) bytes.resize(offset + size);
    if (size > 0) std::memcpy(bytes.data() + offset, data, size);
  }
  uint64_t copy_from_file(uint64_t offset, int fd, uint64_t file_offset, uint64_t size) override {
    REQUIRE(offset == bytes.size());
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size, 1000));
    bytes.resize(offset + n);
    REQUIRE(::pread(fd, bytes.data() + offset, n, static_cast<off_t>(file_offset)) ==
            static_cast<ssize_t>(n));
    ++copies;
    return n;
  }
  uint64_t size() const override { return bytes.size(); }
  void truncate(uint64_t size) override { bytes.resize(size); }

  std::vector<uint8_t> bytes;
  int copies = 0;
};

}  // namespace

TEST_CASE("tensors copied from their input file give the bytes written from memory") {
  statepack::test::TempDir dir("spk-writer");
  const std::string input = (dir.path() / "in.safetensors").string();
  statepack::write_safetensors(input, placement_checkpoint());
  const Checkpoint mapped = statepack::read_checkpoint(input);
  REQUIRE(statepack::MappedFile::locate(mapped.tensors[0].data, mapped.tensors[0].size));
  for (const auto algo : {statepack::ChecksumAlgo::kXxh64, statepack::ChecksumAlgo::kXxh32}) {
    for (const unsigned threads : {1u, 3u}) {
      CAPTURE(threads);
      BlobOptions options;
      options.checksum = algo;
      options.threads = threads;
      const std::vector<uint8_t> from_memory = statepack::build_blob(mapped, options);
      CHECK(from_memory == statepack::build_blob(placement_checkpoint(), options));
      const auto out = dir.path() / "out.spk";
      statepack::write_blob_file(out.string(), mapped, options);
      const std::vector<uint8_t> copied = read_file(out);
      CHECK(copied == from_memory);
      spk_blob blob;
      REQUIRE(spk_open(&blob, copied.data(), copied.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
      CHECK(blob.segment_count == 4);  // a and b share; c differs in one byte
    }
  }
}

TEST_CASE("bytes the sink could not copy from the file are written from memory") {
  statepack::test::TempDir dir("spk-writer");
  const std::string input = (dir.path() / "in.safetensors").string();
  statepack::write_safetensors(input, placement_checkpoint());
  const Checkpoint mapped = statepack::read_checkpoint(input);
  PartialCopySink sink;
  statepack::write_blob(mapped, {}, sink);
  CHECK(sink.copies > 0);
  CHECK(sink.bytes == statepack::build_blob(mapped, {}));
  spk_blob blob;
  CHECK(spk_open(&blob, sink.bytes.data(), sink.bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
}

TEST_CASE("MappedFile::locate finds the file behind mapped bytes and nothing else") {
  statepack::test::TempDir dir("spk-writer");
  const std::string input = (dir.path() / "in.safetensors").string();
  statepack::write_safetensors(input, placement_checkpoint());
  const auto file = statepack::MappedFile::open(input);
  const auto range = statepack::MappedFile::locate(file->data() + 10, 5);
  REQUIRE(range);
  CHECK(range->offset == 10);
  CHECK(range->path == input);
  CHECK_FALSE(statepack::MappedFile::locate(file->data() + file->size() - 4, 5));
  const std::vector<uint8_t> owned(16);
  CHECK_FALSE(statepack::MappedFile::locate(owned.data(), owned.size()));
}

TEST_CASE("pending metadata is written with its final values") {
  const Checkpoint c = statepack::test::sample_checkpoint();
  std::promise<std::map<std::string, statepack::MetaValue>> values;
  BlobOptions options;
  options.pending.placeholders["late"] = statepack::MetaValue::of_string("0000");
  options.pending.values = std::make_shared<
      const statepack::BackgroundTask<std::map<std::string, statepack::MetaValue>>>(
      [future = values.get_future().share()](const std::atomic<bool> &) { return future.get(); });
  SUBCASE("a value of the placeholder's size") {
    values.set_value({{"late", statepack::MetaValue::of_string("beef")}});
    const std::vector<uint8_t> bytes = statepack::build_blob(c, options);
    spk_blob blob;
    REQUIRE(spk_open(&blob, bytes.data(), bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
    spk_meta meta;
    REQUIRE(spk_metadata_find(&blob, "late", &meta) == SPK_OK);
    CHECK(std::string(meta.string_value) == "beef");
  }
  SUBCASE("a value of another size is refused") {
    values.set_value({{"late", statepack::MetaValue::of_string("toolong")}});
    CHECK(error_kind_of(c, options) == statepack::ErrorKind::kOutput);
  }
}

namespace {

// Float weights that compress (a narrow normal distribution: few exponents).
std::vector<uint8_t> weight_bytes(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<uint8_t> out(count * 4);
  for (size_t i = 0; i < count; ++i) {
    const float v = normal(rng);
    std::memcpy(out.data() + 4 * i, &v, 4);
  }
  return out;
}

// Segments in an order that makes the writer reuse every result buffer for chunks of other
// lengths and other segments: a long compressible one (more chunks than any window, so
// streamed), short ones decided before writing, incompressible ones that end up raw after being
// compressed (one streamed, one short), a chunk shorter than those before it, and BF16.
Checkpoint reuse_checkpoint() {
  Checkpoint c;
  c.tensors.push_back(
      owned_tensor("a_long", DType::kF32, {49 * 16384}, weight_bytes(49 * 16384, 1)));
  c.tensors.push_back(owned_tensor("b_short", DType::kF32, {50003}, weight_bytes(50003, 2)));
  c.tensors.push_back(owned_tensor("c_noise_long", DType::kF32, {40 * 16384},
                                   statepack::test::pattern_bytes(40 * 65536, 3)));
  c.tensors.push_back(owned_tensor("d_noise_short", DType::kF32, {25000},
                                   statepack::test::pattern_bytes(100000, 4)));
  c.tensors.push_back(owned_tensor("e_tiny", DType::kF32, {300}, weight_bytes(300, 5)));
  std::vector<uint8_t> bf16 = weight_bytes(150000, 6);
  bf16.resize(bf16.size() / 2);
  c.tensors.push_back(owned_tensor("f_bf16", DType::kBF16, {150000}, bf16));
  // Compressible and incompressible chunks in turn: a buffer that held a frame then holds a
  // chunk stored raw, and the other way round.
  std::vector<uint8_t> mixed = weight_bytes(24 * 16384, 7);
  for (size_t chunk = 1; chunk < 24; chunk += 2) {
    const std::vector<uint8_t> noise =
        statepack::test::pattern_bytes(65536, 8 + static_cast<uint32_t>(chunk));
    std::copy(noise.begin(), noise.end(),
              mixed.begin() + static_cast<std::ptrdiff_t>(chunk * 65536));
  }
  c.tensors.push_back(owned_tensor("g_mixed", DType::kF32, {24 * 16384}, mixed));
  return c;
}

// The stored bytes of a tensor's data segment.
std::vector<uint8_t> stored_bytes(const std::vector<uint8_t> &blob_bytes, const char *name,
                                  spk_codec *codec = nullptr) {
  spk_blob blob;
  REQUIRE(spk_open(&blob, blob_bytes.data(), blob_bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) ==
          SPK_OK);
  spk_tensor t;
  REQUIRE(spk_find(&blob, name, &t) == SPK_OK);
  if (codec != nullptr) *codec = static_cast<spk_codec>(t.codec);
  const auto *data = static_cast<const uint8_t *>(t.data);
  return std::vector<uint8_t>(data, data + t.stored_size);
}

// A tensor's bytes as the runtime decodes them.
std::vector<uint8_t> decoded(const std::vector<uint8_t> &blob_bytes, const char *name) {
  spk_blob blob;
  REQUIRE(spk_open(&blob, blob_bytes.data(), blob_bytes.size(), 0) == SPK_OK);
  spk_tensor t;
  REQUIRE(spk_find(&blob, name, &t) == SPK_OK);
  std::vector<uint8_t> workspace(spk_zstd_workspace_size(&t));
  std::vector<uint8_t> out(static_cast<size_t>(t.decoded_size));
  REQUIRE(spk_zstd_decode(&t, workspace.data(), workspace.size(), out.data(), out.size()) ==
          SPK_OK);
  return out;
}

}  // namespace

TEST_CASE("reused chunk buffers and batched writes store each segment as if packed alone") {
  statepack::test::TempDir dir("spk-writer");
  const std::string input = (dir.path() / "in.safetensors").string();
  const Checkpoint owned = reuse_checkpoint();
  statepack::write_safetensors(input, owned);
  const Checkpoint mapped = statepack::read_checkpoint(input);
  BlobOptions options;
  options.compression.zstd = true;
  for (const auto algo : {statepack::ChecksumAlgo::kXxh64, statepack::ChecksumAlgo::kXxh32}) {
    options.checksum = algo;
    options.threads = 1;
    const std::vector<uint8_t> one = statepack::build_blob(owned, options);
    for (const unsigned threads : {1u, 2u, 5u}) {
      CAPTURE(threads);
      options.threads = threads;
      CHECK(statepack::build_blob(owned, options) == one);
      // From the mapped input into a file: raw fallbacks are copied by the kernel and hashed
      // from the mapping, everything else goes through the batches.
      const auto out = dir.path() / "out.spk";
      statepack::write_blob_file(out.string(), mapped, options);
      CHECK(read_file(out) == one);
    }
    // Each segment equals the one a blob of that tensor alone holds, so nothing carries over
    // from one chunk or segment to the next through a reused buffer.
    for (const Tensor &t : owned.tensors) {
      CAPTURE(t.name);
      Checkpoint alone;
      alone.tensors.push_back(
          owned_tensor(t.name, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.size)));
      spk_codec codec = SPK_CODEC_RAW;
      const std::vector<uint8_t> mixed = stored_bytes(one, t.name.c_str(), &codec);
      CHECK(mixed == stored_bytes(statepack::build_blob(alone, options), t.name.c_str()));
      const bool noise = t.name.find("noise") != std::string::npos;
      CHECK(codec == (noise ? SPK_CODEC_RAW : SPK_CODEC_ZSTD));
      CHECK(decoded(one, t.name.c_str()) == std::vector<uint8_t>(t.data, t.data + t.size));
    }
  }
}
