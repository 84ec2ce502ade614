// SPDX-License-Identifier: Apache-2.0
// Over-the-air verification: spk_open + spk_verify's checks on a blob that arrives in chunks,
// each run the moment its last byte arrives, with a fixed-size state.
//
// Why the caller lends a header buffer: segments are found through the segment table, which
// sits somewhere inside the FlatBuffers header (its place is known only from the root table)
// and holds 24 bytes per segment. Sizes and checksums of segments that arrive long after the
// header cannot be held in a fixed state, so the header is copied into caller memory as it
// passes (it is metadata only: a few hundred bytes per tensor) and read back at each segment.
// The header checks themselves are spk_open's own code (check_header), so both give one
// verdict. Tensor bytes are hashed from the chunks and never kept.
//
// The preamble is parsed byte by byte (it is at most 4 KiB): each field is gathered as it
// passes and checked in parse_preamble's order; its checksum algorithm is only known at byte
// 40, so bytes 0..39 are re-serialised from the gathered fields and hashed then.
#include <cstring>

#include "blob_internal.hpp"
#include "compiler.hpp"
#include "hash_xxh.hpp"
#include "header_checks.hpp"
#include "statepack/format.h"

namespace statepack {
namespace rt {
namespace {

static_assert(sizeof(Xxh64State) <= sizeof(spk_stream::hash_state), "hash state does not fit");
static_assert(sizeof(Xxh32State) <= sizeof(spk_stream::hash_state), "hash state does not fit");

enum Phase : uint8_t { kPreamble = 0, kHeader = 1, kPadding = 2, kSegment = 3, kDone = 4 };

constexpr uint8_t kMagic[8] = {SPK_MAGIC_0, SPK_MAGIC_1, SPK_MAGIC_2, SPK_MAGIC_3,
                               SPK_MAGIC_4, SPK_MAGIC_5, SPK_MAGIC_6, SPK_MAGIC_7};
constexpr uint32_t kMaxPreambleSize = 4096;  // as parse_preamble
// Fields are complete (and checked) once the stream has passed their last byte.
constexpr uint64_t kPreambleSizeEnd = SPK_PRE_PREAMBLE_SIZE + 4;

// The hash state lives in the public struct as raw words; it is copied in and out around each
// use (a few dozen bytes), which keeps the struct plain C and the access free of aliasing tricks.
// Not inlined, so that copy never sits in the frames that also run the header checks.
SPK_NOINLINE void hash_reset(spk_stream *s) {
  if (s->blob.checksum == SPK_CHECKSUM_XXH32) {
    Xxh32State h;
    xxh32_reset(&h, 0);
    std::memcpy(s->hash_state, &h, sizeof h);
  } else {
    Xxh64State h;
    xxh64_reset(&h, 0);
    std::memcpy(s->hash_state, &h, sizeof h);
  }
}

SPK_NOINLINE void hash_update(spk_stream *s, const uint8_t *data, size_t size) {
  if (s->blob.checksum == SPK_CHECKSUM_XXH32) {
    Xxh32State h;
    std::memcpy(&h, s->hash_state, sizeof h);
    xxh32_update(&h, data, size);
    std::memcpy(s->hash_state, &h, sizeof h);
  } else {
    Xxh64State h;
    std::memcpy(&h, s->hash_state, sizeof h);
    xxh64_update(&h, data, size);
    std::memcpy(s->hash_state, &h, sizeof h);
  }
}

// As blob_checksum: an XXH32 value is zero-extended.
SPK_NOINLINE uint64_t hash_digest(const spk_stream *s) {
  if (s->blob.checksum == SPK_CHECKSUM_XXH32) {
    Xxh32State h;
    std::memcpy(&h, s->hash_state, sizeof h);
    return xxh32_digest(&h);
  }
  Xxh64State h;
  std::memcpy(&h, s->hash_state, sizeof h);
  return xxh64_digest(&h);
}

void store_le(uint8_t *p, uint64_t value, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(value >> (8 * i));
}

// Adds byte `index` (0 = least significant) of a little-endian field.
template <typename T>
void gather(T *field, uint64_t index, uint8_t byte) {
  *field = static_cast<T>(*field | static_cast<T>(static_cast<T>(byte) << (8 * index)));
}

// Once the algorithm is known (byte 40): hashes bytes 0..40, rebuilt from the gathered fields.
// Not inlined: its buffer stays out of spk_stream_feed's frame.
SPK_NOINLINE void hash_preamble_start(spk_stream *s) {
  uint8_t head[SPK_PRE_CHECKSUM_ALGO + 1];
  std::memcpy(head, kMagic, sizeof kMagic);
  store_le(head + SPK_PRE_FORMAT_MAJOR, s->blob.format_major, 2);
  store_le(head + SPK_PRE_FORMAT_MINOR, s->blob.format_minor, 2);
  store_le(head + SPK_PRE_PREAMBLE_SIZE, s->preamble_size, 4);
  store_le(head + SPK_PRE_BLOB_SIZE, s->blob.size, 8);
  store_le(head + SPK_PRE_HEADER_OFFSET, s->header_offset, 8);
  store_le(head + SPK_PRE_HEADER_SIZE, s->header_size, 8);
  head[SPK_PRE_CHECKSUM_ALGO] = s->blob.checksum;
  hash_reset(s);
  hash_update(s, head, sizeof head);
}

// One preamble byte at s->position (not yet counted). The checks run in parse_preamble's
// order; each when the field it needs is complete.
spk_status preamble_byte(spk_stream *s, uint8_t byte) {
  const uint64_t p = s->position;
  if (p < SPK_PRE_FORMAT_MAJOR) return byte == kMagic[p] ? SPK_OK : SPK_ERR_BAD_MAGIC;
  if (p < SPK_PRE_FORMAT_MINOR) {
    gather(&s->blob.format_major, p - SPK_PRE_FORMAT_MAJOR, byte);
    if (p + 1 == SPK_PRE_FORMAT_MINOR && s->blob.format_major != SPK_FORMAT_MAJOR) {
      return SPK_ERR_UNSUPPORTED_VERSION;
    }
    return SPK_OK;
  }
  if (p < SPK_PRE_PREAMBLE_SIZE) {
    gather(&s->blob.format_minor, p - SPK_PRE_FORMAT_MINOR, byte);
    return SPK_OK;
  }
  if (p < kPreambleSizeEnd) {
    gather(&s->preamble_size, p - SPK_PRE_PREAMBLE_SIZE, byte);
    if (p + 1 == kPreambleSizeEnd &&
        (s->preamble_size < SPK_PREAMBLE_SIZE_V1 || s->preamble_size > kMaxPreambleSize ||
         s->preamble_size % 8 != 0)) {
      return SPK_ERR_BAD_PREAMBLE;
    }
    return SPK_OK;
  }
  if (p < SPK_PRE_HEADER_OFFSET) {
    gather(&s->blob.size, p - SPK_PRE_BLOB_SIZE, byte);
    return SPK_OK;
  }
  if (p < SPK_PRE_HEADER_SIZE) {
    gather(&s->header_offset, p - SPK_PRE_HEADER_OFFSET, byte);
    return SPK_OK;
  }
  if (p < SPK_PRE_CHECKSUM_ALGO) {
    gather(&s->header_size, p - SPK_PRE_HEADER_SIZE, byte);
    return SPK_OK;
  }
  if (p == SPK_PRE_CHECKSUM_ALGO) {
    if (byte != SPK_CHECKSUM_XXH64 && byte != SPK_CHECKSUM_XXH32) return SPK_ERR_BAD_PREAMBLE;
    s->blob.checksum = byte;
    hash_preamble_start(s);
    return SPK_OK;
  }
  if (p < SPK_PRE_HEADER_CHECKSUM) {
    s->reserved_bits = static_cast<uint8_t>(s->reserved_bits | byte);
  } else if (p < SPK_PRE_HEADER_CHECKSUM + 8) {
    gather(&s->header_checksum, p - SPK_PRE_HEADER_CHECKSUM, byte);
  }
  // The preamble checksum is always its last 8 bytes (preamble_size >= 64 puts them past the
  // fixed fields); everything before them is hashed.
  const uint64_t checksum_at = s->preamble_size - 8u;
  if (p < checksum_at) {
    hash_update(s, &byte, 1);
  } else {
    gather(&s->expected, p - checksum_at, byte);
  }
  return SPK_OK;
}

// The whole preamble has arrived: the rest of parse_preamble's checks, then the caller's buffer.
spk_status end_preamble(spk_stream *s) {
  if (hash_digest(s) != s->expected) return SPK_ERR_PREAMBLE_CHECKSUM;
  if (s->blob.format_minor == 0 && s->reserved_bits != 0) return SPK_ERR_BAD_PREAMBLE;
  if (s->header_offset != s->preamble_size) return SPK_ERR_BAD_PREAMBLE;
  if (s->header_size < 8 || s->header_size > SPK_MAX_HEADER_SIZE) return SPK_ERR_BAD_PREAMBLE;
  if (s->blob.size < s->header_offset + s->header_size) return SPK_ERR_BAD_PREAMBLE;
  s->phase = kHeader;  // from here spk_stream_header_size reports the need
  if (s->header_size > s->header_capacity) return SPK_ERR_BUFFER_TOO_SMALL;
  s->expected = s->header_checksum;
  hash_reset(s);
  return SPK_OK;
}

void start_segment(spk_stream *s, uint32_t index) {
  const Segment segment = read_segment(&s->blob, index);
  s->segment = index;
  s->segment_offset = segment.offset;
  s->segment_end = segment.offset + segment.size;
  s->expected = segment.checksum;
  s->phase = kPadding;
}

// Runs every check that the bytes accepted so far complete. A segment of 0 bytes completes
// as soon as its offset is reached, so several may complete at once.
spk_status settle(spk_stream *s) {
  for (;;) {
    if (s->phase == kPadding) {
      if (s->position < s->segment_offset) return SPK_OK;
      hash_reset(s);
      s->phase = kSegment;
    }
    if (s->phase != kSegment || s->position < s->segment_end) return SPK_OK;
    if (hash_digest(s) != s->expected) {
      s->failed_segment = s->segment;
      return SPK_ERR_SEGMENT_CHECKSUM;
    }
    if (s->segment + 1 == s->blob.segment_count) {
      s->phase = kDone;  // check_header proved the last segment ends at the blob's end
      return SPK_OK;
    }
    start_segment(s, s->segment + 1);
  }
}

// The whole header has arrived (and sits in the caller's buffer): checksum, then spk_open's
// structural and semantic checks on it. Out of line: spk_stream_feed's own frame would
// otherwise sit under check_header's chain (the budget: 512 bytes of stack for any call on a
// Cortex-M4).
SPK_NOINLINE spk_status end_header(spk_stream *s) {
  if (hash_digest(s) != s->expected) return SPK_ERR_HEADER_CHECKSUM;
  spk_blob *blob = &s->blob;
  blob->header = s->header_buffer;
  blob->header_size = static_cast<uint32_t>(s->header_size);
  // No blob in memory: data stays null, so the checks' data pointers are null too (they are
  // never used here). `opened` stays 0, so no public accessor accepts this view.
  blob->data = nullptr;
  const spk_status status = check_header(blob, s->header_offset + s->header_size);
  if (status != SPK_OK) return status;
  if (blob->segment_count == 0) {
    s->phase = kDone;  // the blob ends with the header
    return SPK_OK;
  }
  start_segment(s, 0);
  return settle(s);
}

size_t take(uint64_t until, uint64_t position, size_t available) {
  const uint64_t left = until - position;
  return left < available ? static_cast<size_t>(left) : available;
}

// Consumes a prefix of data[0, size) in the current phase; returns how much, and the status.
spk_status step(spk_stream *s, const uint8_t *data, size_t size, size_t *used) {
  switch (s->phase) {
    case kPreamble: {
      *used = 1;
      spk_status status = preamble_byte(s, data[0]);
      ++s->position;
      // The preamble size is known (and at least 64) once its field has passed.
      if (status == SPK_OK && s->position > kPreambleSizeEnd && s->position == s->preamble_size) {
        status = end_preamble(s);
      }
      return status;
    }
    case kHeader: {
      const size_t n = take(s->header_offset + s->header_size, s->position, size);
      std::memcpy(s->header_buffer + (s->position - s->header_offset), data, n);
      hash_update(s, data, n);
      s->position += n;
      *used = n;
      return s->position == s->header_offset + s->header_size ? end_header(s) : SPK_OK;
    }
    case kPadding: {
      const size_t n = take(s->segment_offset, s->position, size);
      for (size_t i = 0; i < n; ++i) {
        if (data[i] != 0) {
          s->position += i + 1;
          *used = i + 1;
          s->failed_segment = s->segment;
          return SPK_ERR_PADDING_NOT_ZERO;
        }
      }
      s->position += n;
      *used = n;
      return settle(s);
    }
    case kSegment: {
      const size_t n = take(s->segment_end, s->position, size);
      hash_update(s, data, n);
      s->position += n;
      *used = n;
      return settle(s);
    }
    default:
      *used = size;  // past the blob's end: ignored
      return SPK_OK;
  }
}

}  // namespace
}  // namespace rt
}  // namespace statepack

using namespace statepack::rt;

extern "C" spk_status spk_stream_begin(spk_stream *stream, void *header_buffer,
                                       size_t header_capacity) {
  if (stream == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  std::memset(stream, 0, sizeof(*stream));
  stream->failed_segment = SPK_NO_SEGMENT;
  if (header_buffer == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  stream->header_buffer = static_cast<uint8_t *>(header_buffer);
  stream->header_capacity = header_capacity;
  stream->phase = kPreamble;
  stream->status = SPK_OK;
  stream->begun = 1;
  return SPK_OK;
}

extern "C" spk_status spk_stream_feed(spk_stream *stream, const void *chunk, size_t size) {
  if (stream == nullptr || stream->begun != 1 || (chunk == nullptr && size != 0)) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  const auto *data = static_cast<const uint8_t *>(chunk);
  while (stream->status == SPK_OK && size != 0) {
    size_t used = 0;
    stream->status = static_cast<uint16_t>(step(stream, data, size, &used));
    data += used;
    size -= used;
  }
  return static_cast<spk_status>(stream->status);
}

extern "C" spk_status spk_stream_finish(spk_stream *stream) {
  if (stream == nullptr || stream->begun != 1) return SPK_ERR_INVALID_ARGUMENT;
  if (stream->status == SPK_OK && stream->phase != kDone)
    stream->status = static_cast<uint16_t>(SPK_ERR_TRUNCATED);
  return static_cast<spk_status>(stream->status);
}

extern "C" uint64_t spk_stream_offset(const spk_stream *stream) {
  return stream != nullptr ? stream->position : 0;
}

extern "C" uint32_t spk_stream_failed_segment(const spk_stream *stream) {
  return stream != nullptr ? stream->failed_segment : SPK_NO_SEGMENT;
}

extern "C" uint64_t spk_stream_header_size(const spk_stream *stream) {
  return stream != nullptr && stream->begun == 1 && stream->phase != kPreamble ? stream->header_size
                                                                               : 0;
}
