// SPDX-License-Identifier: Apache-2.0
// The packer's frames for byte-grouped chunks (tools/src/codec/segment_codec.cpp): one zstd frame
// per chunk whose blocks never mix streams, noise streams in raw blocks, every other stream in
// literal-only compressed blocks (no sequences), streams longer than a zstd block split across
// blocks; plus the byte-group filter and the add-on's inverse against a plain reference.
#include <doctest/doctest.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "../../runtime/zstd/src/byte_ungroup.hpp"
#include "statepack/tools/codec/byte_group_filter.hpp"
#include "statepack/tools/codec/segment_codec.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using statepack::ChunkCompressor;
using statepack::DType;
using statepack::SegmentEncoding;

enum BlockType { kRaw = 0, kRle = 1, kCompressed = 2 };

struct Block {
  int type = 0;
  size_t content = 0;  // bytes the block decodes to
  bool last = false;
  size_t sequences = 0;  // compressed blocks: whether the sequences section is non-empty
};

uint32_t le(const uint8_t *p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

// A compressed block's literals section (RFC 8878, 3.1.1.3.1): its regenerated size and the
// bytes it occupies, so the sequences section that follows can be read.
void literals_section(const uint8_t *p, size_t *regenerated, size_t *occupied) {
  const uint32_t type = p[0] & 3, format = (p[0] >> 2) & 3;
  if (type < 2) {  // raw or RLE
    const int header = format == 1 ? 2 : format == 3 ? 3 : 1;
    *regenerated = header == 1 ? p[0] >> 3 : le(p, header) >> 4;
    *occupied = static_cast<size_t>(header) + (type == 0 ? *regenerated : 1);
    return;
  }
  const int header = format < 2 ? 3 : format == 2 ? 4 : 5;
  const int bits = format < 2 ? 10 : format == 2 ? 14 : 18;
  const uint64_t fields = le(p, header < 5 ? header : 4) | (header == 5 ? uint64_t{p[4]} << 32 : 0);
  *regenerated = (fields >> 4) & ((1u << bits) - 1);
  *occupied = static_cast<size_t>(header) + ((fields >> (4 + bits)) & ((1u << bits) - 1));
}

std::vector<Block> blocks_of(const std::vector<uint8_t> &frame) {
  ZSTD_frameHeader header;
  REQUIRE(ZSTD_getFrameHeader(&header, frame.data(), frame.size()) == 0);
  std::vector<Block> blocks;
  for (size_t at = header.headerSize; at < frame.size();) {
    REQUIRE(frame.size() - at >= 3);
    const uint32_t h = le(frame.data() + at, 3);
    Block b;
    b.type = static_cast<int>((h >> 1) & 3);
    b.last = (h & 1) != 0;
    const size_t body = b.type == kRle ? 1 : h >> 3;
    REQUIRE(frame.size() - at - 3 >= body);
    if (b.type == kCompressed) {
      size_t occupied = 0;
      literals_section(frame.data() + at + 3, &b.content, &occupied);
      REQUIRE(occupied < body);
      b.sequences = frame[at + 3 + occupied];  // Number_of_Sequences: 0 is one zero byte
    } else {
      b.content = b.type == kRaw ? body : h >> 3;
    }
    blocks.push_back(b);
    at += 3 + body;
  }
  return blocks;
}

std::vector<uint8_t> weights_f32(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> tail(6.0f);
  std::vector<uint8_t> out(count * 4);
  for (size_t i = 0; i < count; ++i) {
    const float v = 0.02f * tail(rng);
    std::memcpy(&out[4 * i], &v, 4);
  }
  return out;
}

SegmentEncoding encoding(DType dtype, uint32_t chunk_size) {
  SegmentEncoding e = statepack::encoding_for(dtype);
  e.chunk_size = chunk_size;
  return e;
}

std::vector<uint8_t> grouped(const std::vector<uint8_t> &raw, const SegmentEncoding &e) {
  std::vector<uint8_t> out(raw.size());
  statepack::byte_group(raw.data(), raw.size() / e.width, e.width,
                        e.filter == statepack::Filter::kByteGroupRotate, out.data());
  return out;
}

std::vector<uint8_t> decompressed(const std::vector<uint8_t> &frame, size_t size) {
  std::vector<uint8_t> out(size);
  REQUIRE(ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size()) == size);
  return out;
}

}  // namespace

TEST_CASE("f32 weights: mantissa streams raw, the exponent stream literal-only, one frame") {
  const std::vector<uint8_t> raw = weights_f32(16384, 1);  // one 64 KiB chunk
  const SegmentEncoding e = encoding(DType::kF32, 65536);
  ChunkCompressor compressor(3);
  std::vector<uint8_t> frame;
  REQUIRE(compressor.compress(raw.data(), raw.size(), e, frame));
  const std::vector<Block> blocks = blocks_of(frame);
  REQUIRE(blocks.size() == 4);
  for (size_t k = 0; k < 3; ++k) {
    CHECK(blocks[k].type == kRaw);
    CHECK(blocks[k].content == 16384);
    CHECK_FALSE(blocks[k].last);
  }
  CHECK(blocks[3].type == kCompressed);
  CHECK(blocks[3].content == 16384);
  CHECK(blocks[3].sequences == 0);
  CHECK(blocks[3].last);
  // The frame decodes to the grouped chunk with a stock decoder, and is deterministic.
  CHECK(decompressed(frame, raw.size()) == grouped(raw, e));
  std::vector<uint8_t> again;
  REQUIRE(compressor.compress(raw.data(), raw.size(), e, again));
  CHECK(again == frame);
}

TEST_CASE("streams longer than a zstd block are split across blocks") {
  // 1 MiB of f32: four streams of 256 KiB, each at most 128 KiB per block.
  const std::vector<uint8_t> raw = weights_f32(262144, 2);
  const SegmentEncoding e = encoding(DType::kF32, 1 << 20);
  ChunkCompressor compressor(3);
  std::vector<uint8_t> frame;
  REQUIRE(compressor.compress_entropy_only(raw.data(), raw.size(), e, frame));
  const std::vector<Block> blocks = blocks_of(frame);
  REQUIRE(blocks.size() == 8);
  for (size_t i = 0; i < blocks.size(); ++i) {
    CAPTURE(i);
    CHECK(blocks[i].content == 131072);
    CHECK(blocks[i].type == (i < 6 ? kRaw : kCompressed));
    CHECK(blocks[i].last == (i == 7));
  }
  CHECK(decompressed(frame, raw.size()) == grouped(raw, e));
}

TEST_CASE("several compressible streams splice into one decodable frame") {
  // Small i64 values: the low byte is skewed, the six high bytes are all zero (RLE-like), so
  // seven literal-only sub-frames are spliced after one another (the entropy-only frame: zstd
  // with matches would beat it on these repeating words).
  std::vector<uint8_t> raw(8 * 5000);
  std::mt19937 rng(3);
  for (size_t i = 0; i < 5000; ++i) raw[8 * i] = static_cast<uint8_t>(rng() % 11);
  for (size_t i = 0; i < 5000; i += 3) raw[8 * i + 1] = 1;
  const SegmentEncoding e = encoding(DType::kI64, 65536);
  ChunkCompressor compressor(3);
  std::vector<uint8_t> frame;
  REQUIRE(compressor.compress_entropy_only(raw.data(), raw.size(), e, frame));
  const std::vector<Block> blocks = blocks_of(frame);
  REQUIRE(blocks.size() == 8);
  for (const Block &b : blocks) {
    CHECK(b.type != kRaw);
    CHECK(b.sequences == 0);
  }
  CHECK(decompressed(frame, raw.size()) == grouped(raw, e));
}

TEST_CASE("a chunk of noise is not compressed; a bf16 chunk keeps its mantissa stream raw") {
  ChunkCompressor compressor(3);
  std::vector<uint8_t> frame;
  const std::vector<uint8_t> noise = statepack::test::pattern_bytes(65536, 4);
  CHECK_FALSE(compressor.compress(noise.data(), noise.size(), encoding(DType::kF32, 65536), frame));

  const std::vector<uint8_t> f32 = weights_f32(32768, 5);
  std::vector<uint8_t> bf16(65536);
  for (size_t i = 0; i < 32768; ++i) {
    float v;
    std::memcpy(&v, &f32[4 * i], 4);
    const uint16_t b = statepack::f32_to_bf16(v);
    bf16[2 * i] = static_cast<uint8_t>(b);
    bf16[2 * i + 1] = static_cast<uint8_t>(b >> 8);
  }
  const SegmentEncoding e = encoding(DType::kBF16, 65536);
  REQUIRE(compressor.compress(bf16.data(), bf16.size(), e, frame));
  const std::vector<Block> blocks = blocks_of(frame);
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[0].type == kRaw);
  CHECK(blocks[1].type == kCompressed);
  CHECK(decompressed(frame, bf16.size()) == grouped(bf16, e));
}

TEST_CASE("byte groups and their inverse match a plain reference at every length") {
  for (uint32_t width : {2u, 4u, 8u}) {
    for (bool rotate : {false, true}) {
      for (size_t count : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{33},
                           size_t{100}, size_t{1000}}) {
        CAPTURE(width);
        CAPTURE(rotate);
        CAPTURE(count);
        const std::vector<uint8_t> raw = statepack::test::pattern_bytes(count * width, 6);
        std::vector<uint8_t> expected(raw.size());
        for (size_t i = 0; i < count; ++i) {
          uint64_t x = 0;
          for (uint32_t k = 0; k < width; ++k) x |= uint64_t{raw[i * width + k]} << (8 * k);
          const uint64_t mask = width == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * width)) - 1;
          if (rotate) x = ((x << 1) | (x >> (8 * width - 1))) & mask;
          for (uint32_t k = 0; k < width; ++k)
            expected[k * count + i] = static_cast<uint8_t>(x >> (8 * k));
        }
        std::vector<uint8_t> streams(raw.size() + 1, 0xEE), back(raw.size() + 1, 0xEE);
        statepack::byte_group(raw.data(), count, width, rotate, streams.data());
        CHECK(std::vector<uint8_t>(streams.begin(), streams.end() - 1) == expected);
        CHECK(streams.back() == 0xEE);  // nothing written past the end
        REQUIRE(
            statepack::zstd_addon::byte_ungroup(streams.data(), count, width, rotate, back.data()));
        CHECK(std::vector<uint8_t>(back.begin(), back.end() - 1) == raw);
        CHECK(back.back() == 0xEE);
      }
    }
  }
}
