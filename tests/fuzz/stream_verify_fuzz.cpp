// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the over-the-air verifier (spk_stream_*) fed the blob in chunks whose sizes come
// from the input, against spk_open(..., SPK_OPEN_VERIFY_SEGMENTS) on the same bytes. The
// header promises the same verdict, except that a blob cut short after damage may report the
// damage where spk_open reports SPK_ERR_TRUNCATED; a failure must stay sticky, and the offset
// it reports may not run past what was fed.
//
// The same bytes go through the sign add-on's signed stream too (spk_signed_stream_*), with
// the seeds' public key and (control bit 1) a hook that accepts every signature, so mutations
// reach the SHA-256 checks: its verdict must be spk_open's plus spk_verify_signature_with's on
// the blob in memory (the same checks in the same order), and sticky.
//
// Input: byte 0 = control (bit 0: reseal checksums first; bit 1: accept any signature), bytes
// 1-4 = chunking seed, then the blob.
#include <cstring>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "statepack/statepack.h"
#include "statepack/statepack_sign.h"

namespace {

// xorshift32 chunk sizes: mostly small (byte by byte through the preamble), sometimes empty,
// sometimes large.
size_t next_chunk(uint32_t *seed, size_t left) {
  *seed ^= *seed << 13;
  *seed ^= *seed >> 17;
  *seed ^= *seed << 5;
  size_t chunk = 0;
  switch (*seed % 4) {
    case 0:
      chunk = 0;
      break;
    case 1:
      chunk = 1;
      break;
    case 2:
      chunk = (*seed >> 8) % 17;
      break;
    default:
      chunk = (*seed >> 8) % 4096;
      break;
  }
  return chunk < left ? chunk : left;
}

bool known_sign_status(spk_status s) {
  return statepack::fuzz::known_status(s) || s == SPK_ERR_UNSIGNED || s == SPK_ERR_SIGNATURE;
}

// The signed stream over `blob` in the chunks `seed` makes; checks stickiness and offsets.
spk_status signed_stream_verdict(const std::vector<uint8_t> &blob, uint32_t seed,
                                 spk_signature_verifier hook) {
  std::vector<uint8_t> header(blob.size() + 1);
  spk_signed_stream st;
  FUZZ_CHECK(spk_signed_stream_begin(&st, header.data(), header.size(),
                                     statepack::fuzz::kSeedPublicKey, hook, nullptr) == SPK_OK);
  size_t fed = 0;
  spk_status first_failure = SPK_OK;
  while (fed < blob.size()) {
    const size_t chunk = next_chunk(&seed, blob.size() - fed);
    std::vector<uint8_t> piece(blob.begin() + static_cast<ptrdiff_t>(fed),
                               blob.begin() + static_cast<ptrdiff_t>(fed + chunk));
    const spk_status s = spk_signed_stream_feed(&st, piece.data(), piece.size());
    FUZZ_CHECK(known_sign_status(s));
    fed += chunk;
    if (first_failure != SPK_OK) FUZZ_CHECK(s == first_failure);
    if (s != SPK_OK && first_failure == SPK_OK) {
      first_failure = s;
      FUZZ_CHECK(spk_signed_stream_offset(&st) <= fed);
      FUZZ_CHECK(spk_signed_stream_authenticated(&st) == 0);
    }
  }
  const spk_status verdict = spk_signed_stream_finish(&st);
  if (first_failure != SPK_OK) FUZZ_CHECK(verdict == first_failure);
  return verdict;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  statepack::fuzz::Input in(data, size);
  const uint8_t control = in.u8();
  uint32_t seed = in.u32() | 1u;
  const uint32_t first_seed = seed;
  std::vector<uint8_t> blob = in.bytes(in.remaining());
  if ((control & 1) != 0) statepack::fuzz::reseal(blob.data(), blob.size());

  spk_blob opened;
  const spk_status expected =
      spk_open(&opened, blob.empty() ? reinterpret_cast<const uint8_t *>("") : blob.data(),
               blob.size(), SPK_OPEN_VERIFY_SEGMENTS);

  // The header never exceeds the blob, so a buffer of the blob's size always holds it.
  std::vector<uint8_t> header(blob.size() + 1);
  spk_stream stream;
  FUZZ_CHECK(spk_stream_begin(&stream, header.data(), header.size()) == SPK_OK);
  size_t fed = 0;
  spk_status first_failure = SPK_OK;
  while (fed < blob.size()) {
    const size_t chunk = next_chunk(&seed, blob.size() - fed);
    // A copy of exactly the chunk, so ASan catches a read past it.
    std::vector<uint8_t> piece(blob.begin() + static_cast<ptrdiff_t>(fed),
                               blob.begin() + static_cast<ptrdiff_t>(fed + chunk));
    const spk_status s = spk_stream_feed(&stream, piece.data(), piece.size());
    FUZZ_CHECK(statepack::fuzz::known_status(s));
    fed += chunk;
    if (first_failure != SPK_OK) FUZZ_CHECK(s == first_failure);
    if (s != SPK_OK && first_failure == SPK_OK) {
      first_failure = s;
      FUZZ_CHECK(spk_stream_offset(&stream) <= fed);
    }
  }
  const spk_status verdict = spk_stream_finish(&stream);
  FUZZ_CHECK(statepack::fuzz::known_status(verdict));
  if (first_failure != SPK_OK) FUZZ_CHECK(verdict == first_failure);
  if (expected == SPK_ERR_TRUNCATED) {
    FUZZ_CHECK(verdict != SPK_OK);
  } else {
    if (verdict != expected) {
      std::fprintf(stderr, "stream verdict %d (%s), spk_open %d (%s)\n", verdict,
                   spk_status_str(verdict), expected, spk_status_str(expected));
    }
    FUZZ_CHECK(verdict == expected);
  }

  const spk_signature_verifier hook =
      (control & 2) != 0 ? statepack::fuzz::accept_any_signature : nullptr;
  const spk_status signed_verdict = signed_stream_verdict(blob, first_seed, hook);
  if (expected != SPK_OK) {
    FUZZ_CHECK(signed_verdict != SPK_OK);
  } else {
    const spk_status in_memory =
        spk_verify_signature_with(&opened, statepack::fuzz::kSeedPublicKey, 0, hook, nullptr);
    if (signed_verdict != in_memory) {
      std::fprintf(stderr, "signed stream %d (%s), in memory %d (%s)\n", signed_verdict,
                   spk_sign_status_str(signed_verdict), in_memory, spk_sign_status_str(in_memory));
    }
    FUZZ_CHECK(signed_verdict == in_memory);
  }
  return 0;
}
