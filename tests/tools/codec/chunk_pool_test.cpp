// SPDX-License-Identifier: Apache-2.0
// ChunkPool (tools/src/codec/chunk_pool.cpp): results come back in submission order whatever the
// thread count, equal to what one ChunkCompressor makes of each chunk; the window bounds the jobs
// in flight; a job that fails rethrows from its own take() and leaves the pool working.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "statepack/tools/codec/chunk_pool.hpp"
#include "statepack/tools/core/error.hpp"

using statepack::ChunkCompressor;
using statepack::ChunkJob;
using statepack::ChunkPool;
using statepack::ChunkResult;
using statepack::Filter;
using statepack::SegmentEncoding;

namespace {

// Chunks of different sizes and contents, so a result handed back out of order cannot match:
// runs of one byte value (compressible) alternating with random bytes (stored raw).
std::vector<std::vector<uint8_t>> make_chunks(size_t count) {
  std::mt19937 random(7);
  std::vector<std::vector<uint8_t>> chunks;
  for (size_t i = 0; i < count; ++i) {
    std::vector<uint8_t> chunk(4096 + 37 * i);
    if (i % 3 == 2) {
      for (uint8_t &b : chunk) b = static_cast<uint8_t>(random());
    } else {
      for (size_t k = 0; k < chunk.size(); ++k) chunk[k] = static_cast<uint8_t>(i + k / 512);
    }
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

SegmentEncoding plain_zstd() {
  SegmentEncoding e;
  e.compress = true;
  e.chunk_size = 1 << 16;
  return e;
}

// A job ChunkCompressor refuses: a byte-grouped stream longer than a chunk may be (16 MiB).
SegmentEncoding grouped_by_two() {
  SegmentEncoding e;
  e.compress = true;
  e.filter = Filter::kByteGroup;
  e.width = 2;
  e.chunk_size = 1u << 24;
  return e;
}

ChunkResult expected(const std::vector<uint8_t> &chunk, const SegmentEncoding &e) {
  ChunkCompressor compressor(3);
  ChunkResult result;
  result.compressed = compressor.compress(chunk.data(), chunk.size(), e, result.frame);
  if (!result.compressed) result.frame.clear();
  return result;
}

}  // namespace

TEST_CASE("chunk pool hands results back in submission order, as one compressor makes them") {
  const std::vector<std::vector<uint8_t>> chunks = make_chunks(40);
  std::vector<ChunkResult> want;
  for (const auto &chunk : chunks) want.push_back(expected(chunk, plain_zstd()));
  size_t stored_raw = 0;
  for (const ChunkResult &r : want) stored_raw += r.compressed ? 0 : 1;
  REQUIRE(stored_raw > 0);  // both kinds of result are exercised
  REQUIRE(stored_raw < chunks.size());

  for (const unsigned threads : {1u, 2u, 4u}) {
    for (const size_t window : {size_t{1}, size_t{3}, size_t{16}}) {
      CAPTURE(threads);
      CAPTURE(window);
      ChunkPool pool(threads, window, 3);
      ChunkResult result;
      size_t next = 0;
      for (size_t taken = 0; taken < chunks.size(); ++taken) {
        // Keep the window full, as the writer does.
        while (next < chunks.size() && pool.has_room()) {
          pool.submit(ChunkJob{chunks[next].data(), chunks[next].size(), plain_zstd()});
          ++next;
        }
        CHECK(pool.outstanding() == std::min(window, next - taken));
        pool.take(result);
        CAPTURE(taken);
        CHECK(result.compressed == want[taken].compressed);
        CHECK(result.frame == want[taken].frame);
      }
      CHECK(pool.outstanding() == 0);
    }
  }
}

TEST_CASE("chunk pool accepts no more than its window") {
  const std::vector<std::vector<uint8_t>> chunks = make_chunks(4);
  ChunkPool pool(2, 3, 3);
  CHECK(pool.has_room());
  for (size_t i = 0; i < 3; ++i) {
    pool.submit(ChunkJob{chunks[i].data(), chunks[i].size(), plain_zstd()});
  }
  CHECK_FALSE(pool.has_room());
  CHECK(pool.outstanding() == 3);
  ChunkResult result;
  pool.take(result);
  CHECK(pool.has_room());
  CHECK(pool.outstanding() == 2);
  // Destroying the pool with jobs outstanding drops them (and must not hang or leak).
}

TEST_CASE("a failing job rethrows from its own take, and the pool keeps working") {
  const std::vector<std::vector<uint8_t>> chunks = make_chunks(4);
  const std::vector<uint8_t> too_long((1u << 24) + (1u << 20), 0);
  {
    ChunkCompressor compressor(3);
    std::vector<uint8_t> frame;
    REQUIRE_THROWS_AS(
        compressor.compress(too_long.data(), too_long.size(), grouped_by_two(), frame),
        statepack::Error);
  }
  for (const unsigned threads : {1u, 3u}) {
    CAPTURE(threads);
    ChunkPool pool(threads, 4, 3);
    pool.submit(ChunkJob{chunks[0].data(), chunks[0].size(), plain_zstd()});
    pool.submit(ChunkJob{too_long.data(), too_long.size(), grouped_by_two()});
    pool.submit(ChunkJob{chunks[1].data(), chunks[1].size(), plain_zstd()});
    ChunkResult result;
    pool.take(result);
    CHECK(result.frame == expected(chunks[0], plain_zstd()).frame);
    try {
      pool.take(result);
      FAIL_CHECK("the oversized job did not fail");
    } catch (const statepack::Error &error) {
      CHECK(std::string(error.what()).find("chunk too large") != std::string::npos);
    }
    pool.take(result);
    CHECK(result.frame == expected(chunks[1], plain_zstd()).frame);
    // Later jobs run as before.
    pool.submit(ChunkJob{chunks[2].data(), chunks[2].size(), plain_zstd()});
    pool.take(result);
    CHECK(result.compressed == expected(chunks[2], plain_zstd()).compressed);
    CHECK(result.frame == expected(chunks[2], plain_zstd()).frame);
    CHECK(pool.outstanding() == 0);
  }
}

TEST_CASE("resolve_threads: 0 means every core, at least one; other counts are kept") {
  CHECK(statepack::resolve_threads(0) >= 1);
  CHECK(statepack::resolve_threads(1) == 1);
  CHECK(statepack::resolve_threads(5) == 5);
}
