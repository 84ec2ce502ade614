// SPDX-License-Identifier: Apache-2.0
// The signed stream: a signed update passes in any chunking; a forged one (another key, or a
// changed header with every checksum and digest recomputed, as a forger can) fails on the byte
// that completes the header, before any segment byte is accepted; a changed segment byte fails
// at that segment's last byte.
#include <doctest/doctest.h>
#include <algorithm>
#include <cstring>
#include <random>

#include "runtime_sign/signed_blobs.hpp"
#include "statepack/format.h"
#include "statepack/statepack_sign.h"

using namespace statepack;
using namespace statepack::test;

namespace {

struct Outcome {
  spk_status status;
  uint64_t offset;
  uint32_t failed_segment;
  uint64_t accepted_before_failure;  // bytes for which feed returned SPK_OK
};

// Feeds `blob` in chunks of 1..max_chunk bytes (max_chunk 1: byte by byte).
Outcome run(const std::vector<uint8_t> &blob, const PublicKey &key, size_t max_chunk,
            uint32_t seed = 1, spk_signature_verifier hook = nullptr) {
  std::vector<uint8_t> header(blob.size());
  spk_signed_stream st;
  REQUIRE(spk_signed_stream_begin(&st, header.data(), header.size(), key.bytes.data(), hook,
                                  nullptr) == SPK_OK);
  std::mt19937 random(seed);
  uint64_t accepted = 0;
  spk_status status = SPK_OK;
  for (size_t at = 0; at < blob.size() && status == SPK_OK;) {
    const size_t n = std::min(blob.size() - at, 1 + random() % max_chunk);
    status = spk_signed_stream_feed(&st, blob.data() + at, n);
    if (status == SPK_OK) accepted += n;
    at += n;
  }
  if (status == SPK_OK) status = spk_signed_stream_finish(&st);
  return {status, spk_signed_stream_offset(&st), spk_signed_stream_failed_segment(&st), accepted};
}

// From the preamble's fields (a forgery in progress does not open).
uint64_t header_end(const std::vector<uint8_t> &blob) {
  uint64_t size = 0;
  for (int i = 7; i >= 0; --i) size = (size << 8) | blob[SPK_PRE_HEADER_SIZE + i];
  return SPK_PREAMBLE_SIZE_DIGESTS + size;
}

void store_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// What a forger without the key can do: recompute the header's xxHash and SHA-256 and the
// preamble checksum after changing bytes (the signature stays the old one).
void reseal_forgery(std::vector<uint8_t> &blob) {
  const uint64_t end = header_end(blob);
  const uint8_t *header = blob.data() + SPK_PREAMBLE_SIZE_DIGESTS;
  const size_t size = static_cast<size_t>(end - SPK_PREAMBLE_SIZE_DIGESTS);
  store_u64(blob.data() + SPK_PRE_HEADER_CHECKSUM, spk_xxh64(header, size, 0));
  const Digest256 digest = sha256(header, size);
  std::memcpy(blob.data() + SPK_PRE_HEADER_DIGEST, digest.data(), 32);
  store_u64(blob.data() + SPK_PREAMBLE_SIZE_DIGESTS - 8,
            spk_xxh64(blob.data(), SPK_PREAMBLE_SIZE_DIGESTS - 8, 0));
}

spk_status accept_all(const uint8_t *, const uint8_t *, const uint8_t *, void *) {
  return SPK_OK;
}

}  // namespace

TEST_CASE("a signed update passes the signed stream in any chunking") {
  const SecretKey key = test_key(1);
  const std::vector<uint8_t> blob = make_blob(&key);
  for (size_t max_chunk : {size_t{1}, size_t{7}, size_t{64}, blob.size()}) {
    const Outcome o = run(blob, key.public_key, max_chunk);
    CHECK(o.status == SPK_OK);
    CHECK(o.offset == blob.size());
  }
  // Authenticated exactly from the header's end on.
  std::vector<uint8_t> header(blob.size());
  spk_signed_stream st;
  REQUIRE(spk_signed_stream_begin(&st, header.data(), header.size(), key.public_key.bytes.data(),
                                  nullptr, nullptr) == SPK_OK);
  const uint64_t end = header_end(blob);
  REQUIRE(spk_signed_stream_feed(&st, blob.data(), static_cast<size_t>(end - 1)) == SPK_OK);
  CHECK(spk_signed_stream_authenticated(&st) == 0);
  REQUIRE(spk_signed_stream_feed(&st, blob.data() + end - 1, 1) == SPK_OK);
  CHECK(spk_signed_stream_authenticated(&st) == 1);
}

TEST_CASE("a forged update fails when its header completes, before any segment byte") {
  const SecretKey key = test_key(1);
  const SecretKey other = test_key(2);
  const std::vector<uint8_t> blob = make_blob(&key);
  const uint64_t end = header_end(blob);
  // Signed by someone else.
  Outcome o = run(make_blob(&other), key.public_key, 1);
  CHECK(o.status == SPK_ERR_SIGNATURE);
  // The key id is checked at the preamble's end, before the header even arrives.
  CHECK(o.offset == SPK_PREAMBLE_SIZE_DIGESTS);
  // A header byte changed (metadata "arch": "tiny" becomes "tinz", still a valid header),
  // every checksum recomputed: only the signature can tell, and it does on the header's last
  // byte, in any chunking.
  std::vector<uint8_t> forged = blob;
  const auto tiny = std::search(forged.begin(), forged.begin() + static_cast<long>(end),
                                std::begin("tiny"), std::end("tiny") - 1);
  REQUIRE(tiny != forged.begin() + static_cast<long>(end));
  tiny[3] = 'z';
  reseal_forgery(forged);
  spk_blob opened;
  REQUIRE(spk_open(&opened, forged.data(), forged.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  for (size_t max_chunk : {size_t{1}, size_t{13}, forged.size()}) {
    o = run(forged, key.public_key, max_chunk);
    CHECK(o.status == SPK_ERR_SIGNATURE);
    CHECK(o.offset == end);
    CHECK(o.accepted_before_failure < end);
  }
  // Unsigned and plain updates: refused as soon as the preamble says so.
  o = run(make_blob(nullptr), key.public_key, 1);
  CHECK(o.status == SPK_ERR_UNSIGNED);
  CHECK(o.offset == SPK_PREAMBLE_SIZE_DIGESTS);
  o = run(make_blob(nullptr, false), key.public_key, 1);
  CHECK(o.status == SPK_ERR_UNSIGNED);
  CHECK(o.offset == 16);
}

TEST_CASE("a changed segment byte fails at that segment's end") {
  const SecretKey key = test_key(1);
  const std::vector<uint8_t> blob = make_blob(&key);
  spk_blob b;
  REQUIRE(spk_open(&b, blob.data(), blob.size(), 0) == SPK_OK);
  spk_tensor t;
  REQUIRE(spk_find(&b, "layer.weight", &t) == SPK_OK);
  const size_t first = static_cast<size_t>(static_cast<const uint8_t *>(t.data) - blob.data());
  const uint64_t segment_end = first + t.stored_size;
  std::vector<uint8_t> changed = blob;
  changed[first + 2] ^= 0x10;
  // As received: the core's xxHash fails at the segment's end.
  Outcome o = run(changed, key.public_key, 5);
  CHECK(o.status == SPK_ERR_SEGMENT_CHECKSUM);
  CHECK(o.offset == segment_end);
  CHECK(o.failed_segment == t.segment);
  // With the segment's xxHash recomputed in the header (and everything a forger can redo), a
  // hook that accepts every signature lets the header through: the segment's SHA-256 alone
  // catches the byte, at the same place.
  std::vector<uint8_t> hidden = changed;
  const uint8_t *record = b.header + b.segments + 24u * t.segment + 16;
  const size_t checksum_at = static_cast<size_t>(record - blob.data());
  store_u64(hidden.data() + checksum_at, spk_xxh64(hidden.data() + first, t.stored_size, 0));
  reseal_forgery(hidden);
  spk_blob hb;
  REQUIRE(spk_open(&hb, hidden.data(), hidden.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  for (size_t max_chunk : {size_t{1}, size_t{11}, hidden.size()}) {
    o = run(hidden, key.public_key, max_chunk, 3, accept_all);
    CHECK(o.status == SPK_ERR_SEGMENT_CHECKSUM);
    CHECK(o.offset == segment_end);
    CHECK(o.failed_segment == t.segment);
  }
  // And with the real signature check it never gets that far.
  o = run(hidden, key.public_key, 1);
  CHECK(o.status == SPK_ERR_SIGNATURE);
}

TEST_CASE("signed stream argument checks") {
  const SecretKey key = test_key(1);
  uint8_t header[16];
  spk_signed_stream st;
  CHECK(spk_signed_stream_begin(nullptr, header, sizeof header, key.public_key.bytes.data(),
                                nullptr, nullptr) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_signed_stream_begin(&st, header, sizeof header, nullptr, nullptr, nullptr) ==
        SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_signed_stream_feed(&st, header, 1) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_signed_stream_finish(&st) == SPK_ERR_INVALID_ARGUMENT);
  REQUIRE(spk_signed_stream_begin(&st, header, sizeof header, key.public_key.bytes.data(), nullptr,
                                  nullptr) == SPK_OK);
  CHECK(spk_signed_stream_finish(&st) == SPK_ERR_TRUNCATED);
}
