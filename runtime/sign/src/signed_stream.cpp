// SPDX-License-Identifier: Apache-2.0
// The signed stream (statepack_sign.h): the core's spk_stream fed the same bytes, cut at the
// points where this layer has something to check (the preamble-size field, the preamble's end,
// the header's end, each segment's end), so every check runs before a byte behind it is
// accepted. The core sees the same bytes in the same order, only in more pieces, which its
// verdict does not depend on.
#include <cstring>

#include "blob_internal.hpp"
#include "sign_internal.hpp"
#include "spk_crypto.hpp"
#include "statepack/format.h"

using namespace statepack;

namespace {

static_assert(sizeof(crypto::Sha256) <= sizeof(spk_signed_stream::sha_state),
              "SHA-256 state does not fit");

enum Phase : uint8_t { kPreamble = 0, kHeader = 1, kSegments = 2, kDone = 3 };
constexpr uint64_t kPreambleSizeEnd = SPK_PRE_PREAMBLE_SIZE + 4;

// The SHA-256 state lives in the public struct as words; copied in and out around each use, as
// the core does with its xxHash state.
void hash_reset(spk_signed_stream *s) {
  crypto::Sha256 ctx;
  crypto::sha256_init(&ctx);
  std::memcpy(s->sha_state, &ctx, sizeof ctx);
}

void hash_update(spk_signed_stream *s, const uint8_t *data, size_t size) {
  crypto::Sha256 ctx;
  std::memcpy(&ctx, s->sha_state, sizeof ctx);
  crypto::sha256_update(&ctx, data, size);
  std::memcpy(s->sha_state, &ctx, sizeof ctx);
}

void hash_final(spk_signed_stream *s, uint8_t digest[32]) {
  crypto::Sha256 ctx;
  std::memcpy(&ctx, s->sha_state, sizeof ctx);
  crypto::sha256_final(&ctx, digest);
}

void start_segment(spk_signed_stream *s, uint32_t index) {
  const rt::Segment segment = rt::read_segment(&s->core.blob, index);
  s->segment = index;
  s->segment_offset = segment.offset;
  s->segment_end = segment.offset + segment.size;
  hash_reset(s);
}

// Checks every segment that the bytes accepted so far complete (empty ones complete at once).
spk_status settle(spk_signed_stream *s) {
  while (s->phase == kSegments && s->position == s->segment_end &&
         s->position >= s->segment_offset) {
    uint8_t digest[32];
    hash_final(s, digest);
    if (!sign::same_bytes(digest, s->core.header_buffer + s->digests + 32u * s->segment, 32)) {
      s->failed_segment = s->segment;
      return SPK_ERR_SEGMENT_CHECKSUM;
    }
    if (s->segment + 1 == s->core.blob.segment_count) {
      s->phase = kDone;
    } else {
      start_segment(s, s->segment + 1);
    }
  }
  return SPK_OK;
}

// The header's last byte has arrived and the core accepted the header: its SHA-256, then the
// signature. Not inlined: the Ed25519 verification's frames stay out of the feed loop's.
__attribute__((noinline)) spk_status end_header(spk_signed_stream *s) {
  uint8_t digest[32];
  hash_final(s, digest);
  if (!sign::same_bytes(digest, s->preamble + SPK_PRE_HEADER_DIGEST, 32)) {
    return SPK_ERR_HEADER_CHECKSUM;
  }
  spk_status status = sign::find_segment_digests(&s->core.blob, &s->digests);
  if (status != SPK_OK) return status;
  sign::blob_digest(s->preamble, digest);
  status = sign::check_signature(s->preamble, digest, s->public_key, s->verifier, s->context);
  if (status != SPK_OK) return status;
  if (s->core.blob.segment_count == 0) {
    s->phase = kDone;
    return SPK_OK;
  }
  s->phase = kSegments;
  start_segment(s, 0);
  return settle(s);
}

// Bytes of the next piece: up to the next point where this layer checks something.
size_t piece(const spk_signed_stream *s, size_t available) {
  uint64_t until;
  switch (s->phase) {
    case kPreamble:
      until = s->position < kPreambleSizeEnd ? kPreambleSizeEnd : SPK_PREAMBLE_SIZE_DIGESTS;
      break;
    case kHeader:
      until = s->header_end;
      break;
    case kSegments:
      until = s->position < s->segment_offset ? s->segment_offset : s->segment_end;
      break;
    default:
      return available;
  }
  const uint64_t left = until - s->position;
  return left < available ? static_cast<size_t>(left) : available;
}

// This layer's checks for a piece the core accepted.
spk_status accept(spk_signed_stream *s, const uint8_t *data, size_t n) {
  switch (s->phase) {
    case kPreamble: {
      std::memcpy(s->preamble + s->position, data, n);
      s->position += n;
      if (s->position == kPreambleSizeEnd) {
        const uint32_t size = rt::load_u32(s->preamble + SPK_PRE_PREAMBLE_SIZE);
        if (size == SPK_PREAMBLE_SIZE_V1) return SPK_ERR_UNSIGNED;
        if (size != SPK_PREAMBLE_SIZE_DIGESTS) return SPK_ERR_BAD_PREAMBLE;
      }
      if (s->position < SPK_PREAMBLE_SIZE_DIGESTS) return SPK_OK;
      // The core checked the preamble (its checksum and fields) with this byte.
      const spk_status status = sign::check_digest_block(s->preamble, s->public_key);
      if (status != SPK_OK) return status;
      s->header_end = SPK_PREAMBLE_SIZE_DIGESTS + spk_stream_header_size(&s->core);
      s->phase = kHeader;
      hash_reset(s);
      return SPK_OK;
    }
    case kHeader:
      hash_update(s, data, n);
      s->position += n;
      return s->position == s->header_end ? end_header(s) : SPK_OK;
    case kSegments:
      if (s->position >= s->segment_offset) hash_update(s, data, n);
      s->position += n;
      return settle(s);
    default:
      s->position += n;
      return SPK_OK;
  }
}

bool valid(const spk_signed_stream *s) {
  return s != nullptr && s->begun == 1;
}

}  // namespace

extern "C" spk_status spk_signed_stream_begin(spk_signed_stream *stream, void *header_buffer,
                                              size_t header_capacity, const uint8_t public_key[32],
                                              spk_signature_verifier verifier, void *context) {
  if (stream == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  std::memset(stream, 0, sizeof *stream);
  stream->failed_segment = SPK_NO_SEGMENT;
  if (public_key == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  const spk_status status = spk_stream_begin(&stream->core, header_buffer, header_capacity);
  if (status != SPK_OK) return status;
  std::memcpy(stream->public_key, public_key, 32);
  stream->verifier = verifier;
  stream->context = context;
  stream->phase = kPreamble;
  stream->begun = 1;
  return SPK_OK;
}

extern "C" spk_status spk_signed_stream_feed(spk_signed_stream *stream, const void *chunk,
                                             size_t size) {
  if (!valid(stream) || (chunk == nullptr && size != 0)) return SPK_ERR_INVALID_ARGUMENT;
  const auto *data = static_cast<const uint8_t *>(chunk);
  while (stream->status == SPK_OK && size != 0) {
    const size_t n = piece(stream, size);
    spk_status status = spk_stream_feed(&stream->core, data, n);
    if (status != SPK_OK) {
      stream->position = spk_stream_offset(&stream->core);
      stream->failed_segment = spk_stream_failed_segment(&stream->core);
    } else {
      status = accept(stream, data, n);
    }
    stream->status = static_cast<uint16_t>(status);
    data += n;
    size -= n;
  }
  return static_cast<spk_status>(stream->status);
}

extern "C" spk_status spk_signed_stream_finish(spk_signed_stream *stream) {
  if (!valid(stream)) return SPK_ERR_INVALID_ARGUMENT;
  if (stream->status == SPK_OK) {
    spk_status status = spk_stream_finish(&stream->core);
    if (status == SPK_OK && stream->phase != kDone) status = SPK_ERR_TRUNCATED;
    stream->status = static_cast<uint16_t>(status);
  }
  return static_cast<spk_status>(stream->status);
}

extern "C" int spk_signed_stream_authenticated(const spk_signed_stream *stream) {
  return valid(stream) && stream->status == SPK_OK &&
         (stream->phase == kSegments || stream->phase == kDone);
}

extern "C" uint64_t spk_signed_stream_offset(const spk_signed_stream *stream) {
  return stream != nullptr ? stream->position : 0;
}

extern "C" uint32_t spk_signed_stream_failed_segment(const spk_signed_stream *stream) {
  return stream != nullptr ? stream->failed_segment : SPK_NO_SEGMENT;
}
