// SPDX-License-Identifier: Apache-2.0
// The runtime's own XXH32/XXH64 against published answers and against libxxhash, the reference
// implementation: every length up to 4 KiB, several seeds, every start alignment, and the
// streaming form fed in chunks of any size. A blob packed on the host must verify on the device,
// so the two implementations may never differ on a single byte.
#include <doctest/doctest.h>
#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "../../runtime/src/hash_xxh.hpp"
#include "statepack/statepack.h"
#include "statepack/tools/core/checksum.hpp"

namespace {

constexpr size_t kMaxLength = 4096;
constexpr size_t kMaxOffset = 8;  // start addresses 0..7 bytes past an 8-aligned one

// Deterministic bytes, so a failure reproduces; a different generator seed per caller.
std::vector<uint8_t> random_bytes(size_t size, uint64_t generator_seed) {
  std::mt19937_64 rng(generator_seed);
  std::vector<uint8_t> out(size);
  for (auto &byte : out) byte = static_cast<uint8_t>(rng() >> 56);
  return out;
}

// Picks the next chunk size for a streaming test; 0 is allowed and must be harmless.
using ChunkPicker = size_t (*)(std::mt19937_64 &rng);
size_t one_byte(std::mt19937_64 &) {
  return 1;
}
size_t tiny(std::mt19937_64 &rng) {
  return static_cast<size_t>(rng() % 8);
}
size_t around_stripes(std::mt19937_64 &rng) {
  return static_cast<size_t>(rng() % 70);
}
size_t large(std::mt19937_64 &rng) {
  return static_cast<size_t>(rng() % 1500);
}

template <typename State, typename Reset, typename Update, typename Seed>
State stream(Reset reset, Update update, Seed seed, const uint8_t *data, size_t size,
             ChunkPicker pick, std::mt19937_64 &rng) {
  State state;
  reset(&state, seed);
  size_t done = 0;
  while (done < size) {
    const size_t chunk = std::min(pick(rng), size - done);
    update(&state, data + done, chunk);
    done += chunk;
  }
  return state;
}

}  // namespace

TEST_CASE("xxh32 and xxh64 give the published answers") {
  SUBCASE("empty input, seed 0") {
    CHECK(spk_xxh32(nullptr, 0, 0) == 0x02CC5D05u);
    CHECK(spk_xxh64(nullptr, 0, 0) == 0xEF46DB3751D8E999u);
    CHECK(spk_xxh32("", 0, 0) == 0x02CC5D05u);
    CHECK(spk_xxh64("", 0, 0) == 0xEF46DB3751D8E999u);
  }
  // Seed-0 values below are from `printf ... | xxhsum -H0` / `-H1` (xxHash 0.8.1).
  SUBCASE("one byte") {
    CHECK(spk_xxh32("a", 1, 0) == 0x550D7456u);
    CHECK(spk_xxh64("a", 1, 0) == 0xD24EC4F1A98C6E5Bu);
  }
  SUBCASE("abc") {
    CHECK(spk_xxh32("abc", 3, 0) == 0x32D153FFu);
    CHECK(spk_xxh64("abc", 3, 0) == 0x44BC2CF5AD770999u);
  }
  SUBCASE("43 bytes: the stripe loop and every tail step") {
    const char *fox = "The quick brown fox jumps over the lazy dog";
    CHECK(spk_xxh32(fox, 43, 0) == 0xE85EA4DEu);
    CHECK(spk_xxh64(fox, 43, 0) == 0x0B242D361FDA71BCu);
  }
  SUBCASE("1000 zero bytes") {
    const std::vector<uint8_t> zeros(1000, 0);
    CHECK(spk_xxh32(zeros.data(), zeros.size(), 0) == 0x7F288CD0u);
    CHECK(spk_xxh64(zeros.data(), zeros.size(), 0) == 0x0E2B1EF27944075Au);
  }
  // Non-zero seeds, recorded from libxxhash 0.8.1 (xxhsum cannot set a seed).
  SUBCASE("seeded") {
    const char *fox = "The quick brown fox jumps over the lazy dog";
    CHECK(spk_xxh32("abc", 3, 1) == 0xAA3DA8FFu);
    CHECK(spk_xxh64("abc", 3, 1) == 0xBEA9CA8199328908u);
    CHECK(spk_xxh32(fox, 43, 0x9E3779B1u) == 0x98C7F3BFu);
    CHECK(spk_xxh64(fox, 43, 0x9E3779B185EBCA87u) == 0xB8A8089ADD7E03D9u);
  }
}

TEST_CASE("xxh32 equals libxxhash for every length, seed and alignment") {
  uint32_t seed = 0;
  SUBCASE("seed 0") {
    seed = 0;
  }
  SUBCASE("seed 1") {
    seed = 1;
  }
  SUBCASE("seed 0x9E3779B1") {
    seed = 0x9E3779B1u;
  }
  SUBCASE("seed 0xFFFFFFFF") {
    seed = 0xFFFFFFFFu;
  }
  const std::vector<uint8_t> bytes = random_bytes(kMaxLength + kMaxOffset, seed + 32u);
  for (size_t offset = 0; offset < kMaxOffset; ++offset) {
    for (size_t length = 0; length <= kMaxLength; ++length) {
      const uint8_t *p = bytes.data() + offset;
      const uint32_t expected = XXH32(p, length, seed);
      const uint32_t actual = spk_xxh32(p, length, seed);
      if (actual != expected) {
        INFO("length " << length << ", offset " << offset);
        REQUIRE(actual == expected);  // one report is enough; the rest would repeat it
      }
    }
  }
}

TEST_CASE("xxh64 equals libxxhash for every length, seed and alignment") {
  uint64_t seed = 0;
  SUBCASE("seed 0") {
    seed = 0;
  }
  SUBCASE("seed 1") {
    seed = 1;
  }
  SUBCASE("seed 0x9E3779B185EBCA87") {
    seed = 0x9E3779B185EBCA87u;
  }
  SUBCASE("seed 2^64-1") {
    seed = UINT64_MAX;
  }
  const std::vector<uint8_t> bytes = random_bytes(kMaxLength + kMaxOffset, seed + 64u);
  for (size_t offset = 0; offset < kMaxOffset; ++offset) {
    for (size_t length = 0; length <= kMaxLength; ++length) {
      const uint8_t *p = bytes.data() + offset;
      const uint64_t expected = XXH64(p, length, seed);
      const uint64_t actual = spk_xxh64(p, length, seed);
      if (actual != expected) {
        INFO("length " << length << ", offset " << offset);
        REQUIRE(actual == expected);
      }
    }
  }
}

TEST_CASE("streaming equals one-shot for chunks of any size") {
  ChunkPicker pick = one_byte;
  SUBCASE("1-byte chunks") {
    pick = one_byte;
  }
  SUBCASE("0 to 7 bytes") {
    pick = tiny;
  }
  SUBCASE("0 to 69 bytes, across stripe boundaries") {
    pick = around_stripes;
  }
  SUBCASE("0 to 1499 bytes") {
    pick = large;
  }
  const std::vector<uint8_t> bytes = random_bytes(kMaxLength + 1, 7);
  std::mt19937_64 rng(11);
  static constexpr size_t kLengths[] = {0,  1,  3,  4,  15, 16,  17,   31,
                                        32, 33, 63, 64, 65, 100, 1000, 4097};
  for (const size_t length : kLengths) {
    for (const uint64_t seed : {uint64_t{0}, uint64_t{1}, UINT64_MAX}) {
      INFO("length " << length << ", seed " << seed);
      const auto seed32 = static_cast<uint32_t>(seed);
      const auto s32 =
          stream<statepack::rt::Xxh32State>(statepack::rt::xxh32_reset, statepack::rt::xxh32_update,
                                            seed32, bytes.data(), length, pick, rng);
      CHECK(statepack::rt::xxh32_digest(&s32) == spk_xxh32(bytes.data(), length, seed32));
      const auto s64 =
          stream<statepack::rt::Xxh64State>(statepack::rt::xxh64_reset, statepack::rt::xxh64_update,
                                            seed, bytes.data(), length, pick, rng);
      CHECK(statepack::rt::xxh64_digest(&s64) == spk_xxh64(bytes.data(), length, seed));
    }
  }
}

TEST_CASE("a streaming digest mid-stream is the hash of the prefix and changes nothing") {
  const std::vector<uint8_t> bytes = random_bytes(300, 13);
  statepack::rt::Xxh32State s32;
  statepack::rt::Xxh64State s64;
  statepack::rt::xxh32_reset(&s32, 5);
  statepack::rt::xxh64_reset(&s64, 5);
  for (size_t length = 0; length < bytes.size(); ++length) {
    INFO("prefix length " << length);
    REQUIRE(statepack::rt::xxh32_digest(&s32) == XXH32(bytes.data(), length, 5));
    REQUIRE(statepack::rt::xxh64_digest(&s64) == XXH64(bytes.data(), length, 5));
    statepack::rt::xxh32_update(&s32, &bytes[length], 1);
    statepack::rt::xxh64_update(&s64, &bytes[length], 1);
  }
}

TEST_CASE("reset discards earlier input and takes the new seed") {
  const std::vector<uint8_t> bytes = random_bytes(100, 17);
  statepack::rt::Xxh32State s32;
  statepack::rt::Xxh64State s64;
  std::memset(&s32, 0xA5, sizeof s32);  // reset must not depend on prior contents
  std::memset(&s64, 0xA5, sizeof s64);
  statepack::rt::xxh32_reset(&s32, 1);
  statepack::rt::xxh64_reset(&s64, 1);
  statepack::rt::xxh32_update(&s32, bytes.data(), 77);
  statepack::rt::xxh64_update(&s64, bytes.data(), 77);
  statepack::rt::xxh32_reset(&s32, 2);
  statepack::rt::xxh64_reset(&s64, 2);
  statepack::rt::xxh32_update(&s32, bytes.data(), bytes.size());
  statepack::rt::xxh64_update(&s64, bytes.data(), bytes.size());
  CHECK(statepack::rt::xxh32_digest(&s32) == XXH32(bytes.data(), bytes.size(), 2));
  CHECK(statepack::rt::xxh64_digest(&s64) == XXH64(bytes.data(), bytes.size(), 2));
}

TEST_CASE("an empty update, even with a null pointer, changes nothing") {
  statepack::rt::Xxh32State s32;
  statepack::rt::Xxh64State s64;
  statepack::rt::xxh32_reset(&s32, 0);
  statepack::rt::xxh64_reset(&s64, 0);
  statepack::rt::xxh32_update(&s32, nullptr, 0);
  statepack::rt::xxh64_update(&s64, nullptr, 0);
  CHECK(statepack::rt::xxh32_digest(&s32) == 0x02CC5D05u);
  CHECK(statepack::rt::xxh64_digest(&s64) == 0xEF46DB3751D8E999u);
}

// The packer writes checksums with tools/src/core/checksum.cpp; the device checks them with the
// runtime. This is the agreement the blob format relies on.
TEST_CASE("the host checksum helper agrees with the runtime") {
  const std::vector<uint8_t> bytes = random_bytes(1000, 19);
  SUBCASE("algorithm values match the C API") {
    CHECK(static_cast<int>(statepack::ChecksumAlgo::kXxh64) == SPK_CHECKSUM_XXH64);
    CHECK(static_cast<int>(statepack::ChecksumAlgo::kXxh32) == SPK_CHECKSUM_XXH32);
  }
  SUBCASE("one-shot, XXH32 zero-extended") {
    CHECK(statepack::checksum(statepack::ChecksumAlgo::kXxh64, bytes.data(), bytes.size()) ==
          spk_xxh64(bytes.data(), bytes.size(), 0));
    CHECK(statepack::checksum(statepack::ChecksumAlgo::kXxh32, bytes.data(), bytes.size()) ==
          uint64_t{spk_xxh32(bytes.data(), bytes.size(), 0)});
  }
  SUBCASE("Hasher fed in pieces") {
    for (const auto algo : {statepack::ChecksumAlgo::kXxh64, statepack::ChecksumAlgo::kXxh32}) {
      statepack::Hasher hasher(algo);
      hasher.update(bytes.data(), 10);
      hasher.update(nullptr, 0);
      hasher.update(bytes.data() + 10, bytes.size() - 10);
      CHECK(hasher.digest() == statepack::checksum(algo, bytes.data(), bytes.size()));
    }
  }
}
