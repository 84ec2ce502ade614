// SPDX-License-Identifier: Apache-2.0
// The pieces that keep the tools' resident memory bounded: host verification (same verdict as
// the runtime's spk_verify_report, for any thread count, read through a descriptor or through
// the mapping), the spill file, page release of mapped inputs, and tensors decoded on demand.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_unpack.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/blob/segment_verify.hpp"
#include "statepack/tools/formats/safetensors_reader.hpp"
#include "statepack/tools/formats/safetensors_writer.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/io/spill_file.hpp"
#include "statepack/tools/quant/quant_blocks.hpp"
#include "statepack/tools/quant/quantize.hpp"
#include "support/sample_checkpoint.hpp"
#include "support/temp_dir.hpp"

namespace {

using statepack::BlobFile;
using statepack::Checkpoint;
using statepack::DType;
using statepack::test::owned_tensor;
using statepack::test::pattern_bytes;
using statepack::test::TempDir;

void write_file(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Eight tensors of different sizes (some larger than the verifier's 256 KiB buffer), so
// there are several segments with padding between them.
Checkpoint many_segments() {
  Checkpoint c;
  const size_t sizes[] = {4, 1000, 300000, 64, 700001, 8, 262144, 12};
  for (size_t i = 0; i < std::size(sizes); ++i) {
    c.tensors.push_back(owned_tensor("t" + std::to_string(i), DType::kU8, {sizes[i]},
                                     pattern_bytes(sizes[i], static_cast<uint32_t>(i + 1))));
  }
  return c;
}

// verify_segments and spk_verify_report on the same file, for 1, 2 and 5 threads.
void check_same_verdict(const std::string &path) {
  const BlobFile blob = BlobFile::open(path);
  uint32_t expected_segment = 0;
  const spk_status expected = spk_verify_report(&blob.blob(), &expected_segment);
  for (unsigned threads : {1u, 2u, 5u}) {
    CAPTURE(threads);
    const statepack::SegmentVerdict verdict =
        statepack::verify_segments(*blob.mapping(), blob.blob(), threads);
    CHECK(verdict.status == expected);
    CHECK(verdict.failed_segment == expected_segment);
  }
}

}  // namespace

TEST_CASE("host verification gives the runtime's verdict on intact and damaged blobs") {
  const TempDir dir("statepack-memory");
  statepack::BlobOptions options;
  options.alignment = 4096;
  const std::vector<uint8_t> blob = statepack::build_blob(many_segments(), options);
  const std::string path = dir.file("b.spk");
  write_file(path, blob);
  check_same_verdict(path);
  CHECK(statepack::verify_segments(*BlobFile::open(path).mapping(), BlobFile::open(path).blob(), 2)
            .status == SPK_OK);

  const BlobFile intact = BlobFile::open(path);
  const std::vector<spk_tensor> tensors = intact.tensors();
  SUBCASE("a flipped byte in each segment, the last byte of a large one included") {
    for (const spk_tensor &t : tensors) {
      const auto at = static_cast<size_t>(static_cast<const uint8_t *>(t.data) -
                                          intact.blob().data + t.stored_size - 1);
      std::vector<uint8_t> damaged = blob;
      damaged[at] ^= 0x40;
      write_file(path, damaged);
      CAPTURE(t.segment);
      check_same_verdict(path);
      CHECK(statepack::verify_segments(*BlobFile::open(path).mapping(), BlobFile::open(path).blob(),
                                       3)
                .failed_segment == t.segment);
    }
  }
  SUBCASE("two damaged segments: the lower one is reported, whatever the thread count") {
    std::vector<uint8_t> damaged = blob;
    for (const spk_tensor &t : tensors) {
      if (t.segment == 2 || t.segment == 6) {
        damaged[static_cast<size_t>(static_cast<const uint8_t *>(t.data) - intact.blob().data)] ^=
            1;
      }
    }
    write_file(path, damaged);
    check_same_verdict(path);
  }
  SUBCASE("a non-zero padding byte") {
    std::vector<uint8_t> damaged = blob;
    const spk_tensor &t = tensors[3];
    const auto start =
        static_cast<size_t>(static_cast<const uint8_t *>(t.data) - intact.blob().data);
    REQUIRE(damaged[start - 1] == 0);
    damaged[start - 1] = 1;
    write_file(path, damaged);
    check_same_verdict(path);
    const BlobFile opened = BlobFile::open(path);
    CHECK(statepack::verify_segments(*opened.mapping(), opened.blob(), 2).status ==
          SPK_ERR_PADDING_NOT_ZERO);
  }
  SUBCASE("a file replaced after it was mapped is verified from the mapping") {
    const BlobFile opened = BlobFile::open(path);
    std::vector<uint8_t> other = blob;
    other[other.size() - 1] ^= 0xFF;
    const std::string replacement = dir.file("other.spk");
    write_file(replacement, other);
    REQUIRE(std::rename(replacement.c_str(), path.c_str()) == 0);
    // The mapping still shows the intact blob: its verdict, not the new file's.
    CHECK(statepack::verify_segments(*opened.mapping(), opened.blob(), 2).status == SPK_OK);
    CHECK_NOTHROW(opened.verify());
  }
}

TEST_CASE("spilled bytes read back as written, small ones from memory") {
  const TempDir dir("statepack-spill");
  statepack::set_spill_directory(dir.path().string());
  std::vector<statepack::SpilledBytes> kept;
  std::vector<std::vector<uint8_t>> originals;
  for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{4097},
                      size_t{1} << 20, size_t{3}}) {
    originals.push_back(pattern_bytes(size, static_cast<uint32_t>(size)));
    kept.push_back(statepack::spill(originals.back().data(), size));
  }
  for (size_t i = 0; i < kept.size(); ++i) {
    CAPTURE(originals[i].size());
    REQUIRE(kept[i].owner != nullptr);
    CHECK(std::equal(originals[i].begin(), originals[i].end(), kept[i].data));
  }
  // Views outlive each other in any order; what remains stays readable.
  kept.erase(kept.begin() + 3);
  originals.erase(originals.begin() + 3);
  const std::vector<uint8_t> later = pattern_bytes(8192, 99);
  const statepack::SpilledBytes again = statepack::spill(later.data(), later.size());
  CHECK(std::equal(later.begin(), later.end(), again.data));
  for (size_t i = 0; i < kept.size(); ++i) {
    CHECK(std::equal(originals[i].begin(), originals[i].end(), kept[i].data));
  }
  statepack::set_spill_directory("");
}

TEST_CASE("released pages of a mapped file read back unchanged") {
  const TempDir dir("statepack-release");
  const std::vector<uint8_t> bytes = pattern_bytes(3 << 20, 5);
  write_file(dir.file("f"), bytes);
  const auto file = statepack::MappedFile::open(dir.file("f"));
  REQUIRE(std::equal(bytes.begin(), bytes.end(), file->data()));
  statepack::MappedFile::release(file->data() + 100, file->size() - 200);
  CHECK(std::equal(bytes.begin(), bytes.end(), file->data()));
  // Memory that no MappedFile maps is left alone.
  std::vector<uint8_t> owned = bytes;
  statepack::MappedFile::release(owned.data(), owned.size());
  CHECK(owned == bytes);
}

TEST_CASE("unpack decodes compressed tensors only when the writer asks, bit for bit") {
  const TempDir dir("statepack-unpack");
  statepack::BlobOptions options;
  options.compression.zstd = true;
  Checkpoint source = many_segments();
  std::vector<uint8_t> compressible(500000);
  for (size_t i = 0; i < compressible.size(); ++i) compressible[i] = static_cast<uint8_t>(i % 7);
  source.tensors.push_back(owned_tensor("z", DType::kU8, {compressible.size()}, compressible));
  write_file(dir.file("z.spk"), statepack::build_blob(source, options));
  const BlobFile blob = BlobFile::open(dir.file("z.spk"));
  const Checkpoint unpacked = statepack::blob_to_checkpoint(blob);
  bool any_lazy = false;
  for (const statepack::Tensor &t : unpacked.tensors) {
    if (t.load) {
      any_lazy = true;
      CHECK(t.data == nullptr);
    }
  }
  CHECK(any_lazy);
  statepack::write_safetensors(dir.file("z.safetensors"), unpacked);
  const Checkpoint reread = statepack::read_safetensors(dir.file("z.safetensors"));
  REQUIRE(reread.tensors.size() == source.tensors.size());
  for (const statepack::Tensor &t : source.tensors) {
    bool found = false;
    for (const statepack::Tensor &r : reread.tensors) {
      if (r.name != t.name) continue;
      found = true;
      REQUIRE(r.size == t.size);
      CHECK(std::equal(t.data, t.data + t.size, r.data));
    }
    CHECK(found);
  }
}

TEST_CASE("a large tensor quantized a block of rows at a time equals the whole-tensor result") {
  // 2049 x 4097 f32 (32 MiB and a bit): over the block threshold, with an odd row length (int4
  // blocks must hold an even count; int4-k blocks whole super-blocks of 16 sub-blocks, here 257
  // a row) and a last block shorter than the others.
  const uint64_t rows = 2049, cols = 4097;
  std::vector<float> values(rows * cols);
  uint32_t state = 7;
  for (size_t i = 0; i < values.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    values[i] = (static_cast<float>(state >> 8) / 16777216.0f - 0.5f) *
                static_cast<float>(1 + (i / cols) % 5);
  }
  const statepack::Tensor tensor = owned_tensor(
      "w", DType::kF32, {rows, cols},
      std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(values.data()),
                           reinterpret_cast<const uint8_t *>(values.data()) + values.size() * 4));
  for (const char *name : {"int8", "int4-g32-asym", "int4-k", "bf16"}) {
    CAPTURE(name);
    const auto spec = statepack::parse_scheme(name);
    REQUIRE(spec);
    const statepack::QuantizedTensor whole =
        statepack::quantize("w", values.data(), tensor.shape, *spec);
    const statepack::QuantizedSpill blocks = statepack::quantize_to_spill(tensor, *spec);
    REQUIRE(blocks.size == whole.data.size());
    CHECK(std::equal(whole.data.begin(), whole.data.end(), blocks.bytes.data));
    CHECK(blocks.quant->data.empty());
    CHECK(blocks.quant->scales == whole.scales);
    CHECK(blocks.quant->zero_points == whole.zero_points);
    CHECK(blocks.quant->axis == whole.axis);
    CHECK(blocks.quant->dtype == whole.dtype);
    CHECK(blocks.quant->max_abs_error == whole.max_abs_error);
    CHECK(blocks.quant->overflow_count == whole.overflow_count);
    CHECK(blocks.quant->sqnr_db == doctest::Approx(whole.sqnr_db).epsilon(1e-9));
  }
}

TEST_CASE("blocks of rows hold an even count of int4 levels and whole int4-k super-blocks") {
  // 4 MiB of f32 rows of 4096: 256 rows, already even and a multiple of 16.
  CHECK(statepack::quant_block_rows(4096, uint64_t{4} << 20, false) == 256);
  CHECK(statepack::quant_block_rows(4096, uint64_t{4} << 20, true) == 256);
  // Rows of 4097 (odd): 255 rows would end a block in the middle of a byte.
  CHECK(statepack::quant_block_rows(4097, uint64_t{4} << 20, false) == 256);
  // 100 rows of 10000 go up to 112 for int4-k's 16-row super-blocks.
  CHECK(statepack::quant_block_rows(10000, 4'000'000, false) == 100);
  CHECK(statepack::quant_block_rows(10000, 4'000'000, true) == 112);
  // A row longer than the block: one row (two if odd), 16 with int4-k.
  CHECK(statepack::quant_block_rows(uint64_t{1} << 22, uint64_t{4} << 20, false) == 1);
  CHECK(statepack::quant_block_rows((uint64_t{1} << 22) + 1, uint64_t{4} << 20, false) == 2);
  CHECK(statepack::quant_block_rows((uint64_t{1} << 22) + 1, uint64_t{4} << 20, true) == 16);
}

TEST_CASE("block-wise quantization counts every non-finite value of the tensor") {
  const uint64_t rows = 4096, cols = 4096;  // 64 MiB of f32
  std::vector<float> values(rows * cols, 0.5f);
  values[3] = NAN;
  values[values.size() - 1] = INFINITY;
  const statepack::Tensor tensor = owned_tensor(
      "w", DType::kF32, {rows, cols},
      std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(values.data()),
                           reinterpret_cast<const uint8_t *>(values.data()) + values.size() * 4));
  CHECK_THROWS_WITH(statepack::quantize_to_spill(tensor, *statepack::parse_scheme("int8")),
                    doctest::Contains("2 NaN or infinite values"));
}
