// SPDX-License-Identifier: Apache-2.0
// The sign add-on on blobs the host tools sealed and signed (libsodium): accepted with the
// signer's key, refused for a wrong key, an unsigned blob, a plain blob, any changed byte (every
// position of a signed blob, also by the host's verification), and through the platform hook.
#include <sodium.h>

#include <doctest/doctest.h>
#include <cstring>
#include <random>

#include "runtime_sign/signed_blobs.hpp"
#include "statepack/format.h"
#include "statepack/statepack_sign.h"
#include "statepack/tools/core/error.hpp"

using namespace statepack;
using namespace statepack::test;

namespace {

spk_status open_and_verify(const std::vector<uint8_t> &blob, const PublicKey &key,
                           uint32_t flags = 0, spk_signature_verifier hook = nullptr,
                           void *context = nullptr) {
  spk_blob b;
  const spk_status opened = spk_open(&b, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS);
  if (opened != SPK_OK) return opened;
  return spk_verify_signature_with(&b, key.bytes.data(), flags, hook, context);
}

// The platform hook of a test: libsodium's verification, counting its calls and keeping the
// digest it was given.
struct HookLog {
  int calls = 0;
  Digest256 digest{};
};

spk_status sodium_hook(const uint8_t digest[32], const uint8_t public_key[32],
                       const uint8_t signature[64], void *context) {
  auto *log = static_cast<HookLog *>(context);
  ++log->calls;
  std::memcpy(log->digest.data(), digest, 32);
  return crypto_sign_verify_detached(signature, digest, 32, public_key) == 0 ? SPK_OK
                                                                             : SPK_ERR_SIGNATURE;
}

spk_status accept_all(const uint8_t *, const uint8_t *, const uint8_t *, void *) {
  return SPK_OK;
}

// The host's verdict (blob_seal.hpp) on bytes: true only if every check passes.
bool host_accepts(const std::string &path, const PublicKey &key) {
  try {
    const BlobFile blob = BlobFile::open(path);
    blob.verify(1);
    const auto block = read_digest_block(blob);
    if (!block) return false;
    check_signature(blob, *block, key, "key");
    verify_digests(blob, *block, 1);
    return true;
  } catch (const Error &) {
    return false;
  }
}

}  // namespace

TEST_CASE("a signed blob verifies with its key on the device and on the host") {
  const SecretKey key = test_key(1);
  const std::vector<uint8_t> blob = make_blob(&key);
  CHECK(open_and_verify(blob, key.public_key) == SPK_OK);
  CHECK(spk_verify_signature(nullptr, key.public_key.bytes.data()) == SPK_ERR_INVALID_ARGUMENT);
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data(), blob.size(), 0) == SPK_OK);
  CHECK(spk_verify_signature(&b, key.public_key.bytes.data()) == SPK_OK);
  CHECK(b.format_minor == 1);
  spk_signature_info info;
  REQUIRE(spk_signature_info_get(&b, &info) == SPK_OK);
  CHECK(info.digest_algo == 1);
  CHECK(info.signature_algo == 1);
  const KeyId id = key_id(key.public_key);
  CHECK(std::memcmp(info.key_id, id.data(), 8) == 0);
  TempDir dir;
  write_bytes(dir.file("b.spk"), blob);
  CHECK(host_accepts(dir.file("b.spk"), key.public_key));
}

TEST_CASE("a wrong key, an unsigned sealed blob and a plain blob are refused") {
  const SecretKey key = test_key(1);
  const SecretKey other = test_key(2);
  const std::vector<uint8_t> blob = make_blob(&key);
  CHECK(open_and_verify(blob, other.public_key) == SPK_ERR_SIGNATURE);
  CHECK(open_and_verify(make_blob(nullptr), key.public_key) == SPK_ERR_UNSIGNED);
  CHECK(open_and_verify(make_blob(nullptr, false), key.public_key) == SPK_ERR_UNSIGNED);
  CHECK(std::string(spk_sign_status_str(SPK_ERR_UNSIGNED)) == "blob not signed");
  CHECK(std::string(spk_sign_status_str(SPK_OK)) == "ok");
  // The same key id with another key is still refused by the signature itself: a hook that
  // sees the call proves the key id matched and the signature was checked.
  HookLog log;
  CHECK(open_and_verify(blob, key.public_key, 0, sodium_hook, &log) == SPK_OK);
  CHECK(log.calls == 1);
}

TEST_CASE("the platform hook gets the blob digest the host signed, and its verdict counts") {
  const SecretKey key = test_key(3);
  const std::vector<uint8_t> blob = make_blob(&key);
  HookLog log;
  CHECK(open_and_verify(blob, key.public_key, 0, sodium_hook, &log) == SPK_OK);
  CHECK(log.calls == 1);
  CHECK(log.digest == blob_digest(blob.data()));
  // A hook that refuses: its status comes back unchanged.
  auto refuse = [](const uint8_t *, const uint8_t *, const uint8_t *, void *) {
    return SPK_ERR_UNSUPPORTED;
  };
  CHECK(open_and_verify(blob, key.public_key, 0, refuse, nullptr) == SPK_ERR_UNSUPPORTED);
  // A forged signature (another key's, with this key's id) fails the libsodium hook.
  std::vector<uint8_t> forged = blob;
  const Signature bad = sign_digest(test_key(4), blob_digest(blob.data()));
  std::memcpy(forged.data() + SPK_PRE_SIGNATURE, bad.data(), 64);
  {
    const uint64_t sum = spk_xxh64(forged.data(), SPK_PREAMBLE_SIZE_DIGESTS - 8, 0);
    for (int i = 0; i < 8; ++i) forged[SPK_PREAMBLE_SIZE_DIGESTS - 8 + i] = uint8_t(sum >> (8 * i));
  }
  HookLog forged_log;
  CHECK(open_and_verify(forged, key.public_key, 0, sodium_hook, &forged_log) == SPK_ERR_SIGNATURE);
  CHECK(forged_log.calls == 1);
  CHECK(open_and_verify(forged, key.public_key) == SPK_ERR_SIGNATURE);
}

TEST_CASE("header-only verification, then segments one by one") {
  const SecretKey key = test_key(5);
  std::vector<uint8_t> blob = make_blob(&key);
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data(), blob.size(), 0) == SPK_OK);
  CHECK(spk_verify_signature_with(&b, key.public_key.bytes.data(), SPK_SIGN_HEADER_ONLY, nullptr,
                                  nullptr) == SPK_OK);
  for (uint32_t i = 0; i < b.segment_count; ++i) CHECK(spk_verify_segment_digest(&b, i) == SPK_OK);
  CHECK(spk_verify_segment_digest(&b, b.segment_count) == SPK_ERR_OUT_OF_RANGE);
  CHECK(spk_verify_signature_with(&b, key.public_key.bytes.data(), 0x80, nullptr, nullptr) ==
        SPK_ERR_INVALID_ARGUMENT);
  // A changed segment byte, opened without the core's segment checks: the segment's SHA-256
  // catches it (the full check too, even past a hook that accepts every signature).
  spk_tensor t;
  REQUIRE(spk_find(&b, "layer.weight", &t) == SPK_OK);
  const size_t at = static_cast<size_t>(static_cast<const uint8_t *>(t.data) - blob.data());
  blob[at] ^= 0x40;
  REQUIRE(spk_open(&b, blob.data(), blob.size(), 0) == SPK_OK);
  CHECK(spk_verify_segment_digest(&b, t.segment) == SPK_ERR_SEGMENT_CHECKSUM);
  CHECK(spk_verify_signature_with(&b, key.public_key.bytes.data(), 0, accept_all, nullptr) ==
        SPK_ERR_SEGMENT_CHECKSUM);
  CHECK(spk_verify_signature_with(&b, key.public_key.bytes.data(), SPK_SIGN_HEADER_ONLY, accept_all,
                                  nullptr) == SPK_OK);
}

TEST_CASE("every changed byte of a signed blob is refused, by the device and by the host") {
  const SecretKey key = test_key(6);
  const std::vector<uint8_t> blob = make_blob(&key, true, ChecksumAlgo::kXxh32);
  TempDir dir;
  const std::string path = dir.file("flip.spk");
  std::mt19937 random(16);
  size_t host_checked = 0;
  for (size_t i = 0; i < blob.size(); ++i) {
    std::vector<uint8_t> changed = blob;
    changed[i] = static_cast<uint8_t>(changed[i] ^ (1u << (random() % 8)));
    INFO("byte " << i);
    CHECK(open_and_verify(changed, key.public_key) != SPK_OK);
    write_bytes(path, changed);
    CHECK_FALSE(host_accepts(path, key.public_key));
    ++host_checked;
  }
  CHECK(host_checked == blob.size());
}
