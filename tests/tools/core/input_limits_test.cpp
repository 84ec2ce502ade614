// SPDX-License-Identifier: Apache-2.0
// Limits on hostile input that docs/LIMITS.md lists: the configurable ones read their
// environment override, say how to raise them when they refuse, and the blob writer refuses
// what the format cannot hold (rank, name and key length, element count) with a message.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/input_limits.hpp"
#include "statepack/tools/formats/checkpoint_reader.hpp"
#include "statepack/tools/formats/safetensors_writer.hpp"
#include "statepack/tools/formats/sharded_index_reader.hpp"
#include "statepack/tools/formats/torch/pickle_reader.hpp"
#include "statepack/tools/io/zip_archive.hpp"
#include "support/sample_checkpoint.hpp"
#include "support/temp_dir.hpp"

namespace {

// Sets an environment variable for one scope.
struct ScopedEnv {
  ScopedEnv(const char *name, const char *value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  const char *name_;
};

// Every test's files go to a fresh directory named after this file.
struct TempDir : statepack::test::TempDir {
  TempDir() : statepack::test::TempDir("spk-limits") {}
};

// A sharded checkpoint of three tensors in two shards: a, b in s1.safetensors, c in
// s2.safetensors.
const char *const kIndexText =
    R"({"metadata": {"total_size": 12}, "weight_map": {"a": "s1.safetensors", )"
    R"("b": "s1.safetensors", "c": "s2.safetensors"}})";

// The tensors of the shard at `shard` (a path ending in the shard's name).
statepack::Checkpoint shard_tensors(const std::string &shard) {
  using statepack::DType;
  using statepack::test::owned_tensor;
  statepack::Checkpoint c;
  if (shard.size() >= 14 && shard.compare(shard.size() - 14, 14, "s1.safetensors") == 0) {
    c.tensors.push_back(owned_tensor("a", DType::kU8, {4}, {1, 2, 3, 4}));
    c.tensors.push_back(owned_tensor("b", DType::kU8, {4}, {5, 6, 7, 8}));
  } else {
    c.tensors.push_back(owned_tensor("c", DType::kU8, {4}, {9, 10, 11, 12}));
  }
  return c;
}

// Writes the index (and, when `with_shards`, the shards) into `dir`; returns the index's path.
std::string write_sharded(const TempDir &dir, bool with_shards) {
  const std::string index = dir.file("model.safetensors.index.json");
  std::ofstream(index, std::ios::binary) << kIndexText;
  if (with_shards) {
    for (const char *shard : {"s1.safetensors", "s2.safetensors"}) {
      statepack::write_safetensors(dir.file(shard), shard_tensors(shard));
    }
  }
  return index;
}

// What read_sharded_index throws under `limits` (empty if it accepts), counting the shards it
// asked for in `shards_read`.
std::string index_refusal(const std::string &index, const statepack::IndexLimits &limits,
                          int &shards_read) {
  shards_read = 0;
  try {
    const statepack::Checkpoint c = statepack::read_sharded_index(
        index,
        [&shards_read](const std::string &shard) {
          ++shards_read;
          return shard_tensors(shard);
        },
        limits);
    CHECK(c.tensors.size() == 3);
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kInput);
    return e.what();
  }
  return "";
}

std::string refusal(const statepack::Checkpoint &c) {
  try {
    statepack::build_blob(c, statepack::BlobOptions{});
  } catch (const statepack::Error &e) {
    CHECK(e.kind() == statepack::ErrorKind::kInput);
    return e.what();
  }
  FAIL("the writer accepted it");
  return "";
}

}  // namespace

TEST_CASE("configured_limit reads counts with K/M/G/T suffixes and refuses anything else") {
  const char *var = "STATEPACK_TEST_LIMIT";
  ::unsetenv(var);
  CHECK(statepack::configured_limit(var, 7) == 7);
  {
    ScopedEnv env(var, "123");
    CHECK(statepack::configured_limit(var, 7) == 123);
  }
  {
    ScopedEnv env(var, "8G");
    CHECK(statepack::configured_limit(var, 7) == (uint64_t{8} << 30));
  }
  {
    ScopedEnv env(var, "2k");
    CHECK(statepack::configured_limit(var, 7) == 2048);
  }
  for (const char *bad : {"lots", "12X", "-1", "G", "1.5G", "99999999999999999999", "17000000T"}) {
    CAPTURE(bad);
    ScopedEnv env(var, bad);
    try {
      statepack::configured_limit(var, 7);
      FAIL("accepted");
    } catch (const statepack::Error &e) {
      CHECK(e.kind() == statepack::ErrorKind::kUsage);
      CHECK(std::string(e.what()).find(var) != std::string::npos);
    }
  }
}

TEST_CASE("zip and pickle limits take their defaults from the environment") {
  CHECK(statepack::ZipLimits{}.max_inflated_size == (uint64_t{4} << 30));
  CHECK(statepack::pickle::Limits{}.max_bytes == (256u << 20));
  ScopedEnv inflated(statepack::kEnvZipMaxInflated, "16G");
  ScopedEnv entries(statepack::kEnvZipMaxEntries, "10");
  ScopedEnv bytes(statepack::kEnvPickleMaxBytes, "1G");
  ScopedEnv string(statepack::kEnvPickleMaxString, "128M");
  CHECK(statepack::ZipLimits{}.max_inflated_size == (uint64_t{16} << 30));
  CHECK(statepack::ZipLimits{}.max_entries == 10);
  CHECK(statepack::pickle::Limits{}.max_bytes == (uint64_t{1} << 30));
  CHECK(statepack::pickle::Limits{}.max_string == (uint64_t{128} << 20));
}

TEST_CASE("a sharded index past a limit is refused before any shard is read, naming the file") {
  TempDir dir;
  const std::string index = write_sharded(dir, false);
  const uint64_t size = std::filesystem::file_size(index);
  int shards_read = 0;
  statepack::IndexLimits limits;
  SUBCASE("index JSON size") {
    limits.max_bytes = size;  // exactly at the limit: accepted
    CHECK(index_refusal(index, limits, shards_read).empty());
    CHECK(shards_read == 2);
    limits.max_bytes = size - 1;
    const std::string message = index_refusal(index, limits, shards_read);
    CHECK(message.find(index) != std::string::npos);
    CHECK(message.find("index JSON of " + std::to_string(size) + " bytes") != std::string::npos);
    CHECK(message.find("STATEPACK_INDEX_MAX_BYTES") != std::string::npos);
    CHECK(shards_read == 0);
  }
  SUBCASE("weight_map entries") {
    limits.max_tensors = 3;
    CHECK(index_refusal(index, limits, shards_read).empty());
    limits.max_tensors = 2;
    const std::string message = index_refusal(index, limits, shards_read);
    CHECK(message.find(index) != std::string::npos);
    CHECK(message.find("weight_map has 3 tensors, over the limit of 2") != std::string::npos);
    CHECK(message.find("STATEPACK_INDEX_MAX_TENSORS") != std::string::npos);
    CHECK(shards_read == 0);
  }
  SUBCASE("shard files") {
    limits.max_shards = 2;
    CHECK(index_refusal(index, limits, shards_read).empty());
    limits.max_shards = 1;
    const std::string message = index_refusal(index, limits, shards_read);
    CHECK(message.find(index) != std::string::npos);
    CHECK(message.find("names 2 shard files, over the limit of 1") != std::string::npos);
    CHECK(message.find("STATEPACK_INDEX_MAX_SHARDS") != std::string::npos);
    CHECK(shards_read == 0);
  }
}

TEST_CASE("sharded index limits come from the environment when a checkpoint is read") {
  CHECK(statepack::IndexLimits{}.max_bytes == (uint64_t{128} << 20));
  CHECK(statepack::IndexLimits{}.max_tensors == 1'000'000);
  CHECK(statepack::IndexLimits{}.max_shards == 10'000);
  TempDir dir;
  const std::string index = write_sharded(dir, true);
  CHECK(statepack::read_checkpoint(index).tensors.size() == 3);
  for (const char *variable : {statepack::kEnvIndexMaxBytes, statepack::kEnvIndexMaxTensors,
                               statepack::kEnvIndexMaxShards}) {
    CAPTURE(variable);
    ScopedEnv env(variable, "1");
    try {
      statepack::read_checkpoint(index);
      FAIL("accepted");
    } catch (const statepack::Error &e) {
      CHECK(e.kind() == statepack::ErrorKind::kInput);
      CHECK(std::string(e.what()).find(index) != std::string::npos);
      CHECK(std::string(e.what()).find(variable) != std::string::npos);
    }
  }
  ScopedEnv bytes(statepack::kEnvIndexMaxBytes, "1K");
  ScopedEnv tensors(statepack::kEnvIndexMaxTensors, "3");
  ScopedEnv shards(statepack::kEnvIndexMaxShards, "2");
  CHECK(statepack::IndexLimits{}.max_bytes == 1024);
  CHECK(statepack::read_checkpoint(index).tensors.size() == 3);
}

TEST_CASE("a pickle over a configurable limit says how to raise it") {
  // PROTO 2, SHORT_BINUNICODE of 16 bytes, STOP: over a 10-byte max_string, then a 4-byte size.
  std::vector<uint8_t> pickle = {0x80, 0x02, 0x8c, 16};
  pickle.insert(pickle.end(), 16, 'x');
  pickle.push_back('.');
  statepack::pickle::Limits limits;
  limits.max_string = 10;
  try {
    statepack::pickle::read_pickle(pickle.data(), pickle.size(), {}, limits);
    FAIL("accepted");
  } catch (const statepack::Error &e) {
    CHECK(std::string(e.what()).find("STATEPACK_PICKLE_MAX_STRING") != std::string::npos);
  }
  limits = {};
  limits.max_bytes = 4;
  try {
    statepack::pickle::read_pickle(pickle.data(), pickle.size(), {}, limits);
    FAIL("accepted");
  } catch (const statepack::Error &e) {
    CHECK(std::string(e.what()).find("STATEPACK_PICKLE_MAX_BYTES") != std::string::npos);
  }
}

TEST_CASE("the writer refuses what the format cannot hold, naming the tensor") {
  using statepack::DType;
  using statepack::test::owned_tensor;
  SUBCASE("rank 9") {
    statepack::Checkpoint c;
    c.tensors.push_back(owned_tensor("deep", DType::kU8, std::vector<uint64_t>(9, 1), {7}));
    const std::string message = refusal(c);
    CHECK(message.find("deep") != std::string::npos);
    CHECK(message.find("rank 9") != std::string::npos);
  }
  SUBCASE("a name of 65536 bytes (65535 is the most)") {
    statepack::Checkpoint c;
    c.tensors.push_back(owned_tensor(std::string(65535, 'n'), DType::kU8, {1}, {1}));
    CHECK_NOTHROW(statepack::build_blob(c, statepack::BlobOptions{}));
    c.tensors[0].name.push_back('n');
    CHECK(refusal(c).find("name longer than 65535 bytes") != std::string::npos);
  }
  SUBCASE("a metadata key of 65536 bytes") {
    statepack::Checkpoint c;
    c.metadata[std::string(65536, 'k')] = statepack::MetaValue::of_int(1);
    CHECK(refusal(c).find("longer than 65535 bytes") != std::string::npos);
  }
  SUBCASE("dims whose product overflows 64 bits") {
    statepack::Checkpoint c;
    c.tensors.push_back(owned_tensor("huge", DType::kU8, {1ull << 32, 1ull << 32}, {}));
    const std::string message = refusal(c);
    CHECK(message.find("huge") != std::string::npos);
    CHECK(message.find("overflows") != std::string::npos);
  }
}
