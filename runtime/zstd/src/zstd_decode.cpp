// SPDX-License-Identifier: Apache-2.0
// Decoding of SPK_CODEC_ZSTD and SPK_CODEC_ZSTD_ADAPTIVE tensors: the chunk footer is checked in
// full before any chunk is touched, then each chunk is decoded on its own (a PREFIXED one with
// the previous chunk's decoded bytes as its prefix) with a static zstd context in the caller's
// workspace. No allocation, no exceptions; every length comes from the checked footer.
#ifndef ZSTD_STATIC_LINKING_ONLY
#define ZSTD_STATIC_LINKING_ONLY
#endif
#include <zstd.h>

#include <cstring>

#include "byte_ungroup.hpp"
#include "statepack/statepack_zstd.h"

namespace statepack {
namespace zstd_addon {
namespace {

constexpr size_t kContextAlign = 64;  // ZSTD_initStaticDCtx needs 8; a cache line is cheap

uint32_t load_u32(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

size_t round_up(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

size_t context_bytes() {
  return kContextAlign + round_up(ZSTD_estimateDCtxSize(), kContextAlign);
}

// A checked view of a compressed segment.
struct Chunks {
  const uint8_t *payload;  // first chunk
  const uint8_t *table;    // stored_size[chunk_count]
  uint32_t chunk_size;
  uint32_t chunk_count;
  uint32_t width;  // element bytes when byte-grouped, else 0
  bool rotate;
  bool adaptive;  // SPK_CODEC_ZSTD_ADAPTIVE: the table gives each chunk's kind
  bool prefixed;  // some chunk is PREFIXED
};

// One chunk table entry, split.
struct Entry {
  bool raw;
  uint32_t kind;  // SPK_ZSTD_KIND_*
  uint32_t size;  // stored bytes
};

Entry entry_at(const Chunks &c, uint32_t i) {
  const uint32_t e = load_u32(c.table + 4 * i);
  if ((e & SPK_ZSTD_RAW_CHUNK) != 0 || !c.adaptive) {
    return Entry{(e & SPK_ZSTD_RAW_CHUNK) != 0, SPK_ZSTD_KIND_FILTERED, e & ~SPK_ZSTD_RAW_CHUNK};
  }
  return Entry{false, (e & SPK_ZSTD_KIND_MASK) >> SPK_ZSTD_KIND_SHIFT, e & ~SPK_ZSTD_KIND_MASK};
}

// Bytes of a whole number of elements that ends on a byte boundary: chunks start there.
uint32_t granule_bytes(uint32_t bits) {
  uint32_t g = bits;
  while (g % 8 != 0) g += bits;
  return g / 8;
}

// What a caller-built view could get wrong (a view from spk_open already satisfies these).
spk_status check_view(const spk_tensor *t) {
  const uint32_t bits = spk_dtype_bits(static_cast<spk_dtype>(t->dtype));
  if (bits == 0) return SPK_ERR_INVALID_ARGUMENT;
  if (t->element_count > UINT64_MAX / bits) return SPK_ERR_INVALID_ARGUMENT;
  if ((t->element_count * bits + 7) / 8 != t->decoded_size) return SPK_ERR_INVALID_ARGUMENT;
  if (t->data == nullptr && t->stored_size != 0) return SPK_ERR_INVALID_ARGUMENT;
  if (t->codec == SPK_CODEC_RAW && t->stored_size != t->decoded_size) {
    return SPK_ERR_INVALID_ARGUMENT;
  }
  if (t->stored_size > SIZE_MAX || t->decoded_size > SIZE_MAX) return SPK_ERR_INVALID_ARGUMENT;
  return SPK_OK;
}

// A compressed chunk's frame header: a single frame declaring exactly `length` decoded bytes,
// with no dictionary and no checksum.
bool frame_header_fits(const uint8_t *src, size_t size, uint64_t length) {
  ZSTD_frameHeader header;
  return ZSTD_getFrameHeader(&header, src, size) == 0 && header.frameType == ZSTD_frame &&
         header.frameContentSize == length && header.dictID == 0 && header.checksumFlag == 0;
}

// Reads and checks the footer, the chunk table and every frame header: chunk size, count, the
// sum of the stored sizes and each frame's declared size must describe exactly this segment
// and this tensor (so damage there is reported as such, before any workspace is asked for).
spk_status parse_chunks(const spk_tensor *t, Chunks *c) {
  if (t->codec != SPK_CODEC_ZSTD && t->codec != SPK_CODEC_ZSTD_ADAPTIVE) {
    return SPK_ERR_UNSUPPORTED;
  }
  c->adaptive = t->codec == SPK_CODEC_ZSTD_ADAPTIVE;
  c->prefixed = false;
  const uint32_t bits = spk_dtype_bits(static_cast<spk_dtype>(t->dtype));
  switch (t->filter) {
    case SPK_FILTER_NONE:
      c->width = 0;
      c->rotate = false;
      break;
    case SPK_FILTER_BYTE_GROUP:
    case SPK_FILTER_BYTE_GROUP_ROTATE:
      if (bits != 16 && bits != 32 && bits != 64) return SPK_ERR_CORRUPT_DATA;
      c->width = bits / 8;
      c->rotate = t->filter == SPK_FILTER_BYTE_GROUP_ROTATE;
      break;
    default:
      return SPK_ERR_CORRUPT_DATA;
  }
  const uint64_t stored = t->stored_size;
  if (stored < SPK_ZSTD_FOOTER_SIZE) return SPK_ERR_CORRUPT_DATA;
  const auto *data = static_cast<const uint8_t *>(t->data);
  c->chunk_size = load_u32(data + stored - 8);
  c->chunk_count = load_u32(data + stored - 4);
  if (c->chunk_size == 0 || c->chunk_size > SPK_ZSTD_MAX_CHUNK_SIZE ||
      c->chunk_size % granule_bytes(bits) != 0) {
    return SPK_ERR_CORRUPT_DATA;
  }
  const uint64_t decoded = t->decoded_size;
  const uint64_t expected = decoded / c->chunk_size + (decoded % c->chunk_size != 0 ? 1 : 0);
  if (c->chunk_count != expected) return SPK_ERR_CORRUPT_DATA;
  const uint64_t table_bytes = uint64_t{4} * c->chunk_count;
  if (table_bytes > stored - SPK_ZSTD_FOOTER_SIZE) return SPK_ERR_CORRUPT_DATA;
  const uint64_t payload_size = stored - SPK_ZSTD_FOOTER_SIZE - table_bytes;
  c->payload = data;
  c->table = data + payload_size;
  uint64_t sum = 0;  // at most 2^32 entries below 2^31: no overflow
  for (uint32_t i = 0; i < c->chunk_count; ++i) {
    const Entry e = entry_at(*c, i);
    const uint64_t length =
        i + 1 < c->chunk_count ? c->chunk_size : decoded - uint64_t{c->chunk_size} * i;
    if (e.raw ? e.size != length : e.size == 0) return SPK_ERR_CORRUPT_DATA;
    // A prefix is the previous chunk: the first has none.
    if (e.kind > SPK_ZSTD_KIND_PREFIXED || (e.kind == SPK_ZSTD_KIND_PREFIXED && i == 0)) {
      return SPK_ERR_CORRUPT_DATA;
    }
    c->prefixed = c->prefixed || e.kind == SPK_ZSTD_KIND_PREFIXED;
    if (e.size > payload_size - sum) return SPK_ERR_CORRUPT_DATA;
    if (!e.raw && !frame_header_fits(data + sum, e.size, length)) return SPK_ERR_CORRUPT_DATA;
    sum += e.size;
  }
  return sum == payload_size ? SPK_OK : SPK_ERR_CORRUPT_DATA;
}

// Decodes one zstd frame of exactly `size` bytes into exactly `length` bytes at dst.
spk_status decode_frame(ZSTD_DCtx *dctx, const uint8_t *src, size_t size, uint8_t *dst,
                        size_t length) {
  // One frame and nothing after it (its header was checked with the chunk table).
  if (ZSTD_findFrameCompressedSize(src, size) != size) return SPK_ERR_CORRUPT_DATA;
  const size_t written = ZSTD_decompressDCtx(dctx, dst, length, src, size);
  if (ZSTD_isError(written) || written != length) return SPK_ERR_CORRUPT_DATA;
  return SPK_OK;
}

// Decodes a PREFIXED chunk's frame: zstd reads the `prefix_size` bytes at `prefix` as history
// the frame's matches may reach. libzstd's one-shot call takes a buffer that does not start
// with the dictionary magic as raw content without allocating (the static context cannot
// allocate); a prefix that does start with it would be parsed as a dictionary, so the format
// forbids it.
spk_status decode_prefixed(ZSTD_DCtx *dctx, const uint8_t *src, size_t size, uint8_t *dst,
                           size_t length, const uint8_t *prefix, size_t prefix_size) {
  if (prefix_size >= 4 && load_u32(prefix) == ZSTD_MAGIC_DICTIONARY) return SPK_ERR_CORRUPT_DATA;
  if (ZSTD_findFrameCompressedSize(src, size) != size) return SPK_ERR_CORRUPT_DATA;
  const size_t written =
      ZSTD_decompress_usingDict(dctx, dst, length, src, size, prefix, prefix_size);
  if (ZSTD_isError(written) || written != length) return SPK_ERR_CORRUPT_DATA;
  return SPK_OK;
}

size_t decode_workspace(const Chunks &c) {
  return context_bytes() + (c.width != 0 ? c.chunk_size : 0);
}

size_t dequantize_workspace(const Chunks &c) {
  return context_bytes() +
         size_t{c.chunk_size} * (1 + (c.width == 8 ? 1 : 0) + (c.prefixed ? 1 : 0));
}

ZSTD_DCtx *make_context(void *workspace) {
  const auto address = reinterpret_cast<uintptr_t>(workspace);
  const size_t pad = round_up(address, kContextAlign) - address;
  return ZSTD_initStaticDCtx(static_cast<uint8_t *>(workspace) + pad,
                             round_up(ZSTD_estimateDCtxSize(), kContextAlign));
}

// The chunk buffers follow the context.
uint8_t *chunk_buffer(void *workspace, size_t index, uint32_t chunk_size) {
  const auto address = reinterpret_cast<uintptr_t>(workspace);
  const size_t pad = round_up(address, kContextAlign) - address;
  return static_cast<uint8_t *>(workspace) + pad +
         round_up(ZSTD_estimateDCtxSize(), kContextAlign) + index * chunk_size;
}

}  // namespace
}  // namespace zstd_addon
}  // namespace statepack

using namespace statepack::zstd_addon;

extern "C" size_t spk_zstd_workspace_size(const spk_tensor *t) {
  if (t == nullptr || t->codec == SPK_CODEC_RAW) return 0;
  Chunks c{};
  if (check_view(t) != SPK_OK || parse_chunks(t, &c) != SPK_OK) return context_bytes();
  return decode_workspace(c);
}

extern "C" size_t spk_zstd_dequantize_workspace_size(const spk_tensor *t) {
  if (t == nullptr || t->codec == SPK_CODEC_RAW) return 0;
  Chunks c{};
  if (check_view(t) != SPK_OK || parse_chunks(t, &c) != SPK_OK) return context_bytes();
  return dequantize_workspace(c);
}

extern "C" size_t spk_zstd_workspace_bound(size_t chunk_size) {
  return context_bytes() + 2 * chunk_size;
}

extern "C" size_t spk_zstd_blob_workspace_size(const spk_blob *blob) {
  size_t most = 0;
  const uint32_t count = spk_tensor_count(blob);
  for (uint32_t i = 0; i < count; ++i) {
    spk_tensor t;
    if (spk_tensor_at(blob, i, &t) != SPK_OK) continue;
    const size_t need = spk_zstd_dequantize_workspace_size(&t);
    if (need > most) most = need;
  }
  return most;
}

extern "C" spk_status spk_zstd_decode(const spk_tensor *t, void *workspace, size_t workspace_size,
                                      void *out, size_t out_size) {
  if (t == nullptr || (out == nullptr && t->decoded_size != 0)) return SPK_ERR_INVALID_ARGUMENT;
  spk_status status = check_view(t);
  if (status != SPK_OK) return status;
  if (out_size < t->decoded_size) return SPK_ERR_BUFFER_TOO_SMALL;
  if (t->codec == SPK_CODEC_RAW) {
    if (t->decoded_size != 0) std::memcpy(out, t->data, static_cast<size_t>(t->decoded_size));
    return SPK_OK;
  }
  Chunks c{};
  status = parse_chunks(t, &c);
  if (status != SPK_OK) return status;
  if (workspace == nullptr || workspace_size < decode_workspace(c)) {
    return SPK_ERR_BUFFER_TOO_SMALL;
  }
  ZSTD_DCtx *dctx = make_context(workspace);
  if (dctx == nullptr) return SPK_ERR_BUFFER_TOO_SMALL;
  uint8_t *scratch = chunk_buffer(workspace, 0, c.chunk_size);
  auto *dst = static_cast<uint8_t *>(out);
  const uint8_t *src = c.payload;
  uint64_t done = 0;
  for (uint32_t i = 0; i < c.chunk_count; ++i) {
    const Entry e = entry_at(c, i);
    const size_t size = e.size;
    const auto length = static_cast<size_t>(
        t->decoded_size - done < c.chunk_size ? t->decoded_size - done : c.chunk_size);
    if (e.raw) {
      std::memcpy(dst + done, src, length);
    } else if (e.kind == SPK_ZSTD_KIND_PREFIXED) {
      // The previous chunk, a whole chunk_size, was just written before this one.
      status = decode_prefixed(dctx, src, size, dst + done, length, dst + done - c.chunk_size,
                               c.chunk_size);
    } else if (c.width == 0 || e.kind == SPK_ZSTD_KIND_UNFILTERED) {
      status = decode_frame(dctx, src, size, dst + done, length);
    } else {
      status = decode_frame(dctx, src, size, scratch, length);
      if (status == SPK_OK) byte_ungroup(scratch, length / c.width, c.width, c.rotate, dst + done);
    }
    if (status != SPK_OK) return status;
    src += size;
    done += length;
  }
  return SPK_OK;
}

extern "C" spk_status spk_zstd_dequantize(const spk_tensor *t, void *workspace,
                                          size_t workspace_size, float *out, size_t out_count) {
  if (t == nullptr || (out == nullptr && t->element_count != 0)) return SPK_ERR_INVALID_ARGUMENT;
  if (t->codec == SPK_CODEC_RAW) return spk_dequantize(t, out, out_count);
  spk_status status = check_view(t);
  if (status != SPK_OK) return status;
  if (t->dtype == SPK_DTYPE_C64) return SPK_ERR_UNSUPPORTED;
  if (out_count < t->element_count) return SPK_ERR_BUFFER_TOO_SMALL;
  Chunks c{};
  status = parse_chunks(t, &c);
  if (status != SPK_OK) return status;
  if (workspace == nullptr || workspace_size < dequantize_workspace(c)) {
    return SPK_ERR_BUFFER_TOO_SMALL;
  }
  ZSTD_DCtx *dctx = make_context(workspace);
  if (dctx == nullptr) return SPK_ERR_BUFFER_TOO_SMALL;
  const uint32_t bits = spk_dtype_bits(static_cast<spk_dtype>(t->dtype));
  // Chunk buffers: the decoded bytes (two, used in turn, when a chunk needs the previous
  // chunk's decoded bytes as its prefix), then the grouped bytes of 8-byte elements.
  uint8_t *buffers[2] = {chunk_buffer(workspace, 0, c.chunk_size),
                         chunk_buffer(workspace, c.prefixed ? 1 : 0, c.chunk_size)};
  uint8_t *grouped_buffer = chunk_buffer(workspace, c.prefixed ? 2 : 1, c.chunk_size);
  const uint8_t *previous = nullptr;  // the previous chunk's decoded bytes
  const uint8_t *src = c.payload;
  uint64_t done = 0;  // bytes
  for (uint32_t i = 0; i < c.chunk_count; ++i) {
    const Entry e = entry_at(c, i);
    const size_t size = e.size;
    const auto length = static_cast<size_t>(
        t->decoded_size - done < c.chunk_size ? t->decoded_size - done : c.chunk_size);
    // Chunks start on element boundaries (chunk_size is a multiple of the granule).
    const uint64_t first = done * 8 / bits;
    const uint64_t count = i + 1 < c.chunk_count ? length * 8 / bits : t->element_count - first;
    float *values = out + first;
    uint8_t *decoded = previous == buffers[0] ? buffers[1] : buffers[0];
    const uint8_t *raw = decoded;
    if (e.raw) {
      raw = src;  // used in place
    } else if (e.kind == SPK_ZSTD_KIND_PREFIXED) {
      status = decode_prefixed(dctx, src, size, decoded, length, previous, c.chunk_size);
    } else if (c.width == 0 || e.kind == SPK_ZSTD_KIND_UNFILTERED) {
      status = decode_frame(dctx, src, size, decoded, length);
    } else {
      // The grouped bytes land in this chunk's own part of `out` when they fit (elements of at
      // most 4 bytes), else in a second chunk buffer; either way they are consumed before the
      // values overwrite them.
      uint8_t *grouped =
          c.width <= 4 ? reinterpret_cast<uint8_t *>(values) + count * 4 - length : grouped_buffer;
      status = decode_frame(dctx, src, size, grouped, length);
      if (status == SPK_OK) byte_ungroup(grouped, length / c.width, c.width, c.rotate, decoded);
    }
    if (status != SPK_OK) return status;
    status = spk_dequantize_from(t, raw, length, first, count, values, count);
    if (status != SPK_OK) return status;
    previous = raw;
    src += size;
    done += length;
  }
  return SPK_OK;
}
