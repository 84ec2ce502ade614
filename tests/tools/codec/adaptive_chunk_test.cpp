// SPDX-License-Identifier: Apache-2.0
// The packer's per-chunk choice (tools/src/codec/segment_codec.cpp): noise-like chunks keep the
// entropy-only frame of the filtered bytes; chunks whose sampled words repeat also try zstd with
// matches on the filtered bytes, on the raw bytes and on the raw bytes after the previous chunk,
// and keep the smallest. Every kind must decode bit for bit the way the runtime add-on does.
#include <doctest/doctest.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "../../runtime/zstd/src/byte_ungroup.hpp"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/codec/segment_codec.hpp"

namespace {

using statepack::ChunkCompressor;
using statepack::ChunkKind;
using statepack::DType;
using statepack::SegmentEncoding;

SegmentEncoding f32_encoding() {
  SegmentEncoding e = statepack::encoding_for(DType::kF32);
  e.chunk_size = 65536;
  return e;
}

std::vector<uint8_t> words(const std::vector<uint32_t> &values) {
  std::vector<uint8_t> out(4 * values.size());
  std::memcpy(out.data(), values.data(), out.size());  // the tests run little-endian
  return out;
}

// Random f32 weights: no word repeats.
std::vector<uint8_t> noise(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<uint32_t> v(count);
  for (uint32_t &x : v) {
    const float f = normal(rng);
    std::memcpy(&x, &f, 4);
  }
  return words(v);
}

// Decodes a chunk's frame as spk_zstd_decode does for its kind.
std::vector<uint8_t> decode(const std::vector<uint8_t> &frame, ChunkKind kind, size_t length,
                            const SegmentEncoding &e, const std::vector<uint8_t> &previous) {
  std::vector<uint8_t> decoded(length);
  size_t written = 0;
  if (kind == ChunkKind::kPrefixed) {
    const std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx *)> context(ZSTD_createDCtx(),
                                                                      ZSTD_freeDCtx);
    written = ZSTD_decompress_usingDict(context.get(), decoded.data(), length, frame.data(),
                                        frame.size(), previous.data(), previous.size());
  } else {
    written = ZSTD_decompress(decoded.data(), length, frame.data(), frame.size());
  }
  REQUIRE(written == length);
  if (kind != ChunkKind::kFiltered || e.width == 0) return decoded;
  std::vector<uint8_t> out(length);
  REQUIRE(statepack::zstd_addon::byte_ungroup(decoded.data(), length / e.width, e.width,
                                              e.filter == statepack::Filter::kByteGroupRotate,
                                              out.data()));
  return out;
}

}  // namespace

TEST_CASE("sampled word repeats tell structured chunks from noise-like weights") {
  CHECK_FALSE(statepack::looks_structured(noise(16384, 1).data(), 65536));
  std::vector<uint8_t> pruned = noise(16384, 2);
  for (size_t i = 0; i < pruned.size(); i += 4) {
    if (i % 40 != 0) std::memset(&pruned[i], 0, 4);  // 90% zeros
  }
  CHECK(statepack::looks_structured(pruned.data(), pruned.size()));
  CHECK_FALSE(statepack::looks_structured(pruned.data(), 12));  // too few words to tell
}

TEST_CASE("a noise-like chunk stays on the entropy-only frame") {
  const std::vector<uint8_t> chunk = noise(16384, 3);
  ChunkCompressor compressor(19);
  std::vector<uint8_t> frame, entropy_only;
  REQUIRE(compressor.compress(chunk.data(), chunk.size(), f32_encoding(), frame, chunk.data(),
                              chunk.size()));
  CHECK(compressor.kind() == ChunkKind::kFiltered);
  REQUIRE(
      compressor.compress_entropy_only(chunk.data(), chunk.size(), f32_encoding(), entropy_only));
  CHECK(frame == entropy_only);
}

TEST_CASE("structured chunks take LZ in each kind, and every kind decodes bit for bit") {
  std::mt19937 rng(7);
  auto next = [&rng] { return static_cast<uint32_t>(rng()); };
  const SegmentEncoding e = f32_encoding();
  // A row of 64 random words repeated: LZ on the raw bytes (one match per row) wins.
  std::vector<uint32_t> row(64), tiled(16384);
  for (uint32_t &x : row) x = next();
  for (size_t i = 0; i < tiled.size(); ++i) tiled[i] = row[i % 64];
  // Top two bytes periodic, the next one of 4 values, the low one random: only the grouped streams
  // repeat, so LZ on the filtered bytes wins.
  std::vector<uint32_t> streams(16384);
  for (size_t i = 0; i < streams.size(); ++i) {
    streams[i] = (row[i % 64] & 0xFFFF0000u) | (next() % 4) << 8 | (next() & 0xFFu);
  }
  // Words from a small alphabet, the same chunk twice: the second copies the first (prefix).
  std::vector<uint32_t> alphabet(16384);
  for (uint32_t &x : alphabet) x = row[next() % 64] ^ (next() % 512);
  const std::vector<uint8_t> again = words(alphabet);
  std::vector<uint8_t> pruned = noise(16384, 4);
  for (size_t i = 0; i < pruned.size(); i += 4) {
    if (i % 40 != 0) std::memset(&pruned[i], 0, 4);
  }
  struct Case {
    std::vector<uint8_t> chunk, previous;
    SegmentEncoding encoding;
    ChunkKind expected;
  };
  SegmentEncoding bytes = e;  // an int8 tensor: no filter
  bytes.filter = statepack::Filter::kNone;
  bytes.width = 0;
  const std::vector<Case> cases = {
      {words(tiled), {}, e, ChunkKind::kUnfiltered}, {words(streams), {}, e, ChunkKind::kFiltered},
      {again, again, e, ChunkKind::kPrefixed},       {again, again, bytes, ChunkKind::kPrefixed},
      {pruned, {}, e, ChunkKind::kUnfiltered},
  };
  std::set<ChunkKind> kinds;
  ChunkCompressor compressor(19);
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    const Case &c = cases[i];
    std::vector<uint8_t> frame, entropy_only;
    REQUIRE(compressor.compress(c.chunk.data(), c.chunk.size(), c.encoding, frame,
                                c.previous.empty() ? nullptr : c.previous.data(),
                                c.previous.size()));
    const ChunkKind kind = compressor.kind();
    CHECK(kind == c.expected);
    kinds.insert(kind);
    CHECK(decode(frame, kind, c.chunk.size(), c.encoding, c.previous) == c.chunk);
    if (compressor.compress_entropy_only(c.chunk.data(), c.chunk.size(), c.encoding,
                                         entropy_only)) {
      CHECK(frame.size() < entropy_only.size());
    }
  }
  CHECK(kinds.size() == 3);
}

TEST_CASE("a previous chunk that starts with zstd's dictionary magic is never a prefix") {
  std::vector<uint8_t> chunk = noise(16384, 5);
  for (size_t i = 0; i < chunk.size(); i += 4) {
    if (i % 40 != 0) std::memset(&chunk[i], 0, 4);
  }
  std::vector<uint8_t> previous = chunk;
  const uint32_t magic = ZSTD_MAGIC_DICTIONARY;
  std::memcpy(previous.data(), &magic, 4);
  ChunkCompressor compressor(19);
  std::vector<uint8_t> frame;
  REQUIRE(compressor.compress(chunk.data(), chunk.size(), f32_encoding(), frame, previous.data(),
                              previous.size()));
  CHECK(compressor.kind() != ChunkKind::kPrefixed);
}

namespace {

// Top two bytes from a period of 64 values, the low two random: no 4-byte word repeats, but
// the grouped high-byte streams do (like a position table's exponents).
std::vector<uint8_t> structure_in_streams(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> row(64), v(16384);
  for (uint32_t &x : row) x = static_cast<uint32_t>(rng()) & 0xFFFF0000u;
  for (size_t i = 0; i < v.size(); ++i) v[i] = row[i % 64] | (static_cast<uint32_t>(rng()) >> 16);
  return words(v);
}

// The decoded size of each block of a frame, in order.
std::vector<size_t> block_sizes(const std::vector<uint8_t> &frame, size_t length) {
  ZSTD_DCtx *d = ZSTD_createDCtx();
  REQUIRE(ZSTD_isError(ZSTD_decompressBegin(d)) == 0);
  std::vector<uint8_t> out(length);
  std::vector<size_t> sizes;
  size_t at = 0, written = 0;
  for (size_t next = ZSTD_nextSrcSizeToDecompress(d); next != 0;
       next = ZSTD_nextSrcSizeToDecompress(d)) {
    REQUIRE(at + next <= frame.size());
    const ZSTD_nextInputType_e type = ZSTD_nextInputType(d);
    const size_t n =
        ZSTD_decompressContinue(d, out.data() + written, out.size() - written, &frame[at], next);
    REQUIRE(ZSTD_isError(n) == 0);
    if (type == ZSTDnit_block || type == ZSTDnit_lastBlock) sizes.push_back(n);
    written += n;
    at += next;
  }
  ZSTD_freeDCtx(d);
  return sizes;
}

}  // namespace

TEST_CASE("structure that lives only in the grouped streams is found and coded with matches") {
  const std::vector<uint8_t> chunk = structure_in_streams(11);
  CHECK_FALSE(statepack::looks_structured(chunk.data(), chunk.size()));
  ChunkCompressor compressor(19);
  std::vector<uint8_t> frame, entropy_only;
  REQUIRE(compressor.compress(chunk.data(), chunk.size(), f32_encoding(), frame));
  REQUIRE(compressor.kind() == ChunkKind::kFiltered);
  REQUIRE(
      compressor.compress_entropy_only(chunk.data(), chunk.size(), f32_encoding(), entropy_only));
  CHECK(frame.size() * 10 < entropy_only.size() * 7);
  CHECK(decode(frame, compressor.kind(), chunk.size(), f32_encoding(), {}) == chunk);
}

TEST_CASE("LZ on the grouped bytes ends a block at every stream's end") {
  // Each stream gets its own literal statistics, as in the entropy-only frame.
  const std::vector<uint8_t> chunk = structure_in_streams(12);
  ChunkCompressor compressor(19);
  std::vector<uint8_t> frame;
  REQUIRE(compressor.compress(chunk.data(), chunk.size(), f32_encoding(), frame));
  REQUIRE(compressor.kind() == ChunkKind::kFiltered);
  const std::vector<size_t> sizes = block_sizes(frame, chunk.size());
  std::set<size_t> ends;
  size_t end = 0;
  for (size_t n : sizes) ends.insert(end += n);
  CHECK(end == chunk.size());
  for (size_t k = 1; k <= 4; ++k) CHECK(ends.count(k * chunk.size() / 4) == 1);
}

namespace {

// A sinusoidal position table (rows of positions, columns of frequencies), f32: its words
// never repeat, its structure is the period of each column, far beyond one 64 KiB chunk.
std::vector<uint8_t> position_table(size_t rows, size_t cols) {
  std::vector<uint32_t> v(rows * cols);
  for (size_t p = 0; p < rows; ++p) {
    for (size_t i = 0; i < cols; ++i) {
      // As torch computes it in f32 (bench/make_structured_tensors.py).
      const float rate = std::exp(static_cast<float>(i / 2 * 2) *
                                  (-std::log(10000.0f) / static_cast<float>(cols)));
      const float angle = static_cast<float>(p) * rate;
      const float f = i % 2 == 0 ? std::sin(angle) : std::cos(angle);
      std::memcpy(&v[p * cols + i], &f, 4);
    }
  }
  return words(v);
}

}  // namespace

TEST_CASE("--max-chunk sizes parse from 4K to 16M") {
  using statepack::parse_chunk_limit;
  CHECK(parse_chunk_limit("64K") == 65536u);
  CHECK(parse_chunk_limit("2m") == 2u << 20);
  CHECK(parse_chunk_limit("4096") == 4096u);
  CHECK(parse_chunk_limit("16M") == 16u << 20);
  CHECK_FALSE(parse_chunk_limit("17M"));
  CHECK_FALSE(parse_chunk_limit("4095"));
  CHECK_FALSE(parse_chunk_limit("1G"));
  CHECK_FALSE(parse_chunk_limit("K"));
  CHECK_FALSE(parse_chunk_limit("64KB"));
  CHECK_FALSE(parse_chunk_limit(""));
  CHECK(statepack::encoding_for(DType::kF32, 4096).chunk_size == 4096u);
  CHECK(statepack::encoding_for(DType::kF6_E2M3, 4096).chunk_size == 4095u);  // whole granules
}

TEST_CASE("a tensor gets large chunks only where they code smaller, within --max-chunk") {
  const SegmentEncoding e = statepack::encoding_for(DType::kF32);
  REQUIRE(e.chunk_size == SPK_ZSTD_DEFAULT_CHUNK_SIZE);
  const std::vector<uint8_t> weights = noise(1u << 18, 7);  // 1 MiB
  CHECK(statepack::chunk_size_for(weights.data(), weights.size(), e, 2u << 20) == e.chunk_size);
  const std::vector<uint8_t> table = position_table(512, 1024);  // 2 MiB
  const uint32_t large = statepack::chunk_size_for(table.data(), table.size(), e, 2u << 20);
  CHECK(large == table.size());
  CHECK(statepack::chunk_size_for(table.data(), table.size(), e, 1u << 18) == 1u << 18);
  CHECK(statepack::chunk_size_for(table.data(), table.size(), e, 65536) == e.chunk_size);

  // Coded in chunks of that size, every chunk decodes bit for bit, and the whole is smaller
  // than in default chunks.
  auto coded = [&](uint32_t chunk) {
    SegmentEncoding c = e;
    c.chunk_size = chunk;
    ChunkCompressor compressor(statepack::kDefaultZstdLevel);
    std::vector<uint8_t> frame;
    size_t total = 0;
    for (size_t at = 0; at < table.size(); at += chunk) {
      const size_t n = std::min<size_t>(chunk, table.size() - at);
      std::vector<uint8_t> previous;
      if (at != 0) previous.assign(table.begin() + at - chunk, table.begin() + at);
      REQUIRE(compressor.compress(table.data() + at, n, c, frame,
                                  at != 0 ? table.data() + at - chunk : nullptr,
                                  at != 0 ? chunk : 0));
      CHECK(decode(frame, compressor.kind(), n, c, previous) ==
            std::vector<uint8_t>(table.begin() + at, table.begin() + at + n));
      total += frame.size();
    }
    return total;
  };
  CHECK(coded(large) < coded(e.chunk_size));
}
