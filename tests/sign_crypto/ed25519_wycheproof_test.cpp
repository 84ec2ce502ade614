// SPDX-License-Identifier: Apache-2.0
// Ed25519 verification against Project Wycheproof's EdDSA vectors (tests/data/wycheproof, a
// line-per-test conversion of testvectors/eddsa_test.json; README.md there names the source).
// "valid" must verify, "invalid" must not; signatures or keys of the wrong length are refused
// before verification (statepack_sign's callers pass exactly 64 + 32 bytes) and count as refused.
// An "acceptable" vector (none in this file) would have to get libsodium's answer. The number of
// vectors read must be the file's numberOfTests, so a truncated copy fails.
#include <sodium.h>

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sign_crypto/hex.hpp"
#include "spk_crypto.hpp"

using statepack::test::from_hex;

namespace {

struct Vector {
  int id = 0;
  std::string result;
  std::vector<uint8_t> key, message, signature;
  std::string comment;
};

std::vector<uint8_t> field(const std::string &hex) {
  return hex == "-" ? std::vector<uint8_t>() : from_hex(hex);
}

// Lines: "# numberOfTests N", comments "# ...", "key PK" before each test group, then
// "tcId result msg sig comment..." with "-" for an empty field.
std::vector<Vector> read_vectors(const std::string &path, int *declared) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot read " << path);
  std::vector<Vector> vectors;
  std::vector<uint8_t> key;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# numberOfTests ", 0) == 0) *declared = std::stoi(line.substr(16));
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    if (line.rfind("key ", 0) == 0) {
      std::string word, hex;
      fields >> word >> hex;
      key = field(hex);
      continue;
    }
    Vector v;
    std::string message, signature;
    fields >> v.id >> v.result >> message >> signature;
    REQUIRE_MESSAGE(fields, path << ": malformed line: " << line);
    std::getline(fields >> std::ws, v.comment);
    REQUIRE_MESSAGE(!key.empty(), path << ": test " << v.id << " before any key line");
    v.key = key;
    v.message = field(message);
    v.signature = field(signature);
    vectors.push_back(v);
  }
  return vectors;
}

}  // namespace

TEST_CASE("ed25519 gives Wycheproof's expected result for every EdDSA vector") {
  REQUIRE(sodium_init() >= 0);
  int declared = -1;
  const std::vector<Vector> vectors =
      read_vectors(std::string(STATEPACK_WYCHEPROOF_DIR) + "/eddsa_test.txt", &declared);
  CHECK(declared == 145);
  CHECK(vectors.size() == static_cast<size_t>(declared));
  int valid = 0;
  int last_id = 0;
  for (const Vector &v : vectors) {
    CAPTURE(v.id);
    CAPTURE(v.comment);
    CHECK(v.id == last_id + 1);  // every tcId once, in order: nothing dropped in the conversion
    last_id = v.id;
    const bool sizes_fit = v.signature.size() == 64 && v.key.size() == 32;
    const bool ours =
        sizes_fit && statepack::crypto::ed25519_verify(v.signature.data(), v.message.data(),
                                                       v.message.size(), v.key.data());
    const bool libsodium =
        sizes_fit && crypto_sign_verify_detached(v.signature.data(), v.message.data(),
                                                 v.message.size(), v.key.data()) == 0;
    if (v.result == "valid") {
      CHECK(ours);
      ++valid;
    } else if (v.result == "invalid") {
      CHECK_FALSE(ours);
    } else {
      REQUIRE(v.result == "acceptable");
      CHECK(ours == libsodium);
    }
    CHECK(ours == libsodium);
  }
  CHECK(valid > 0);
}
