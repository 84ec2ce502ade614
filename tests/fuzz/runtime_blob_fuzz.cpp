// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the device side on an untrusted blob. Opens it (optionally with every segment
// checked), walks every tensor and metadata entry, looks each up by name, verifies, and decodes
// every tensor (spk_dequantize, spk_dequantize_rows, spk_dequantize_from, spk_quant_param,
// spk_quant_lossless and the zstd add-on). Beyond "no crash", it checks the runtime's promises:
// lookups find what iteration found, statuses are known codes, and decoding never writes past
// what it reports.
//
// Input: byte 0 = control (bit 0: reseal the header and preamble checksums first, so mutated
// headers reach the structural checks; bit 1: SPK_OPEN_VERIFY_SEGMENTS; bits 2-4: misalign the
// blob by that many bytes), byte 1 = row selector, then the blob. Opened blobs also go through
// the sign add-on (seeds signed with fuzz_support.hpp's key pass it), with the built-in
// Ed25519 and with a hook that accepts any signature, so mutations reach the SHA-256 checks.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "statepack/statepack.h"
#include "statepack/statepack_sign.h"
#include "statepack/statepack_zstd.h"

namespace {

using statepack::fuzz::known_status;

// Decoded sizes above this are skipped, so a tiny compressed input cannot ask for gigabytes.
constexpr uint64_t kMaxDecoded = uint64_t{8} << 20;

void decode_tensor(const spk_tensor &t, uint8_t selector) {
  const uint64_t count = t.element_count;
  if (count > kMaxDecoded / 4 || t.decoded_size > kMaxDecoded) return;
  // One spare element after the buffer: it must stay untouched.
  std::vector<float> out(static_cast<size_t>(count) + 1, -12345.0f);
  const spk_status whole = spk_dequantize(&t, out.data(), static_cast<size_t>(count));
  FUZZ_CHECK(known_status(whole));
  FUZZ_CHECK(out[count] == -12345.0f);
  if (count > 0) {
    FUZZ_CHECK(spk_dequantize(&t, out.data(), static_cast<size_t>(count - 1)) != SPK_OK);
  }

  // Rows: a slice chosen by the selector byte, into a buffer of exactly its size.
  const uint64_t rows = t.rank == 0 ? 1 : t.shape[0];
  const uint64_t row_size = rows == 0 ? 0 : count / rows;
  if (rows > 0) {
    const uint64_t first = selector % rows;
    const uint64_t row_count = rows - first < 3 ? rows - first : 1 + selector % 3;
    std::vector<float> part(static_cast<size_t>(row_count * row_size) + 1, -12345.0f);
    const spk_status s = spk_dequantize_rows(&t, first, row_count, part.data(), part.size() - 1);
    FUZZ_CHECK(known_status(s));
    FUZZ_CHECK(part.back() == -12345.0f);
    if (s == SPK_OK && whole == SPK_OK) {
      // The same values as the whole-tensor decode (bit for bit; NaNs compared as bits).
      FUZZ_CHECK(std::memcmp(part.data(), out.data() + first * row_size,
                             static_cast<size_t>(row_count * row_size) * sizeof(float)) == 0);
    }
  }
  FUZZ_CHECK(spk_dequantize_rows(&t, rows, 1, out.data(), out.size()) != SPK_OK);

  // From the stored bytes, starting at an element that begins a byte.
  if (t.codec == SPK_CODEC_RAW && count > 0) {
    const uint32_t bits = spk_dtype_bits(static_cast<spk_dtype>(t.dtype));
    uint64_t first = selector % count;
    while (bits != 0 && (first * bits) % 8 != 0) --first;
    const uint64_t n = count - first;
    const uint64_t byte_offset = bits == 0 ? 0 : first * bits / 8;
    if (byte_offset <= t.decoded_size) {
      const spk_status s =
          spk_dequantize_from(&t, static_cast<const uint8_t *>(t.data) + byte_offset,
                              static_cast<size_t>(t.decoded_size - byte_offset), first, n,
                              out.data(), static_cast<size_t>(count));
      FUZZ_CHECK(known_status(s));
    }
  }

  for (uint64_t i = 0; i < t.quant.scale_count && i < 64; ++i) {
    float scale = 0;
    int32_t zero_point = 0;
    const spk_status s = spk_quant_param(&t, i, &scale, &zero_point);
    if (s != SPK_OK) {
      std::fprintf(stderr,
                   "spk_quant_param(%s, %llu): %s (scheme %d, dtype %d, scale_count %llu)\n",
                   t.name, static_cast<unsigned long long>(i), spk_status_str(s), t.quant.scheme,
                   t.dtype, static_cast<unsigned long long>(t.quant.scale_count));
    }
    FUZZ_CHECK(s == SPK_OK);
  }

  if (t.codec != SPK_CODEC_RAW) {
    const size_t workspace_size = spk_zstd_workspace_size(&t);
    const size_t dq_workspace_size = spk_zstd_dequantize_workspace_size(&t);
    if (workspace_size > (size_t{64} << 20) || dq_workspace_size > (size_t{64} << 20)) return;
    std::vector<uint8_t> workspace(workspace_size > dq_workspace_size ? workspace_size
                                                                      : dq_workspace_size);
    std::vector<uint8_t> decoded(static_cast<size_t>(t.decoded_size) + 1, 0xA5);
    const spk_status s = spk_zstd_decode(&t, workspace.data(), workspace_size, decoded.data(),
                                         static_cast<size_t>(t.decoded_size));
    FUZZ_CHECK(known_status(s));
    FUZZ_CHECK(decoded.back() == 0xA5);
    std::vector<float> values(static_cast<size_t>(count) + 1, -12345.0f);
    const spk_status dq = spk_zstd_dequantize(&t, workspace.data(), dq_workspace_size,
                                              values.data(), static_cast<size_t>(count));
    FUZZ_CHECK(known_status(dq));
    FUZZ_CHECK(values.back() == -12345.0f);
    if (s == SPK_OK && dq == SPK_OK) {
      // Decoding the decoded bytes must give what the add-on's own dequantize gave.
      std::vector<float> again(static_cast<size_t>(count) + 1, 0);
      if (spk_dequantize_from(&t, decoded.data(), static_cast<size_t>(t.decoded_size), 0, count,
                              again.data(), static_cast<size_t>(count)) == SPK_OK) {
        FUZZ_CHECK(std::memcmp(again.data(), values.data(),
                               static_cast<size_t>(count) * sizeof(float)) == 0);
      }
    }
  }
}

void walk(const spk_blob &blob, uint8_t selector) {
  const uint32_t count = spk_tensor_count(&blob);
  for (uint32_t i = 0; i < count; ++i) {
    spk_tensor t;
    FUZZ_CHECK(spk_tensor_at(&blob, i, &t) == SPK_OK);
    FUZZ_CHECK(t.index == i && t.rank <= SPK_MAX_RANK && t.name[t.name_length] == '\0');
    spk_tensor found;
    FUZZ_CHECK(spk_find_n(&blob, t.name, t.name_length, &found) == SPK_OK && found.index == i);
    if (std::strlen(t.name) == t.name_length) {
      FUZZ_CHECK(spk_find(&blob, t.name, &found) == SPK_OK && found.index == i);
    }
    FUZZ_CHECK(known_status(spk_verify_tensor(&blob, &t)));
    // The lossless flag is read on request (spk_open does not look at it): any header gives a
    // known status and 0 or 1, and 1 only for an integer scheme (a palette counts: its
    // indices are integers) -- never for none or a cast.
    uint8_t lossless = 2;
    FUZZ_CHECK(known_status(spk_quant_lossless(&blob, &t, &lossless)));
    FUZZ_CHECK(lossless <= 1 && (lossless == 0 || (t.quant.scheme != SPK_QUANT_NONE &&
                                                   t.quant.scheme != SPK_QUANT_F16_CAST &&
                                                   t.quant.scheme != SPK_QUANT_BF16_CAST)));
    decode_tensor(t, selector);
  }
  spk_tensor none;
  FUZZ_CHECK(spk_tensor_at(&blob, count, &none) == SPK_ERR_OUT_OF_RANGE);

  const uint32_t metadata = spk_metadata_count(&blob);
  for (uint32_t i = 0; i < metadata; ++i) {
    spk_meta m;
    FUZZ_CHECK(spk_metadata_at(&blob, i, &m) == SPK_OK);
    FUZZ_CHECK(m.key[m.key_length] == '\0' && m.string_value != nullptr);
    if (std::strlen(m.key) == m.key_length) {
      spk_meta found;
      FUZZ_CHECK(spk_metadata_find(&blob, m.key, &found) == SPK_OK && found.key == m.key);
    }
  }
  uint32_t failed = 0;
  FUZZ_CHECK(known_status(spk_verify_report(&blob, &failed)));
}

bool known_sign_status(spk_status s) {
  return known_status(s) || s == SPK_ERR_UNSIGNED || s == SPK_ERR_SIGNATURE;
}

// The sign add-on's promises: known statuses; a real signature's verdict implies the
// accept-any one's; header-only passes whenever the whole check does; segment by segment
// agrees with the whole check.
void check_signature(const spk_blob &blob, uint8_t selector) {
  using statepack::fuzz::accept_any_signature;
  using statepack::fuzz::kSeedPublicKey;
  spk_signature_info info;
  FUZZ_CHECK(known_status(spk_signature_info_get(&blob, &info)));
  const spk_status any =
      spk_verify_signature_with(&blob, kSeedPublicKey, 0, accept_any_signature, nullptr);
  FUZZ_CHECK(known_sign_status(any));
  const spk_status header = spk_verify_signature_with(&blob, kSeedPublicKey, SPK_SIGN_HEADER_ONLY,
                                                      accept_any_signature, nullptr);
  if (any == SPK_OK) FUZZ_CHECK(header == SPK_OK);
  if (header == SPK_OK) {
    bool segments_ok = true;
    for (uint32_t i = 0; i < blob.segment_count; ++i) {
      const spk_status s = spk_verify_segment_digest(&blob, i);
      FUZZ_CHECK(s == SPK_OK || s == SPK_ERR_SEGMENT_CHECKSUM);
      segments_ok = segments_ok && s == SPK_OK;
    }
    FUZZ_CHECK(segments_ok == (any == SPK_OK));
  }
  // The real Ed25519 check costs a millisecond: on a quarter of the inputs.
  if ((selector & 3) == 1) {
    const spk_status real = spk_verify_signature(&blob, kSeedPublicKey);
    FUZZ_CHECK(known_sign_status(real));
    if (real == SPK_OK) FUZZ_CHECK(any == SPK_OK);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const uint8_t control = data[0];
  const uint8_t selector = data[1];
  const size_t blob_size = size - 2;
  const size_t shift = (control >> 2) & 7;
  // A fresh heap copy of exactly the blob's bytes, so ASan sees any read past its end.
  std::vector<uint8_t> storage(blob_size + shift);
  uint8_t *bytes = storage.data() + shift;
  if (blob_size > 0) std::memcpy(bytes, data + 2, blob_size);
  if ((control & 1) != 0) statepack::fuzz::reseal(bytes, blob_size);
  const uint32_t flags = (control & 2) != 0 ? SPK_OPEN_VERIFY_SEGMENTS : 0;

  spk_blob blob;
  const spk_status status = spk_open(&blob, bytes, blob_size, flags);
  FUZZ_CHECK(known_status(status));
  if (status != SPK_OK) {
    FUZZ_CHECK(spk_tensor_count(&blob) == 0);
    return 0;
  }
  if (flags != 0) FUZZ_CHECK(spk_verify(&blob) == SPK_OK);
  check_signature(blob, selector);
  walk(blob, selector);
  return 0;
}
