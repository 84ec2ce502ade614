// Limits on hostile input that docs/LIMITS.md lists: the configurable ones read their
// environment override, say how to raise them when they refuse, and the blob writer refuses
// what the format cannot hold (rank, name and key length, element count) with a message.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "statepack/tools/blob_writer.hpp"
#include "statepack/tools/error.hpp"
#include "statepack/tools/input_limits.hpp"
#include "statepack/tools/pickle_reader.hpp"
#include "statepack/tools/zip_archive.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

// Sets an environment variable for one scope.
struct ScopedEnv {
  ScopedEnv(const char *name, const char *value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  const char *name_;
};

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
