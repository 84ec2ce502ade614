// SPDX-License-Identifier: Apache-2.0
// Chunk compression for `--compress zstd`. The parameters for byte-grouped streams come from
// measurements (bench/codec_variants_bench.cpp, summarised in schemas/FORMAT.md): exponent
// streams are near-i.i.d. symbols, where LZ matches cost more than the literals they replace,
// and mantissa streams are noise. So the packer assembles each grouped chunk's zstd frame
// itself: a stream that a sampled byte histogram shows to be incompressible goes into raw
// blocks (a copy), every other stream into literal-only blocks (Huffman-coded literals, no
// sequences) made by ZSTD_compressSequences, whose blocks are spliced into the frame. That
// costs no size against zstd's own fast match finder and never spends time searching noise
// for matches. Streams that are not grouped (int8, int4, bool) use the level asked for.
#include "statepack/tools/codec/segment_codec.hpp"
#include "statepack/tools/codec/byte_group_filter.hpp"

// ZSTD_compressSequences and ZSTD_c_literalCompressionMode are in zstd's experimental ("static
// linking only") API.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "statepack/statepack_zstd.h"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"

namespace statepack {

std::optional<Compression> parse_compression(const std::string &text) {
  if (text == "none") return Compression{};
  if (text == "zstd") return Compression{true, kDefaultZstdLevel};
  if (text.rfind("zstd:", 0) != 0 || text.size() < 6 || text.size() > 7) return std::nullopt;
  int level = 0;
  for (size_t i = 5; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    level = level * 10 + (text[i] - '0');
  }
  if (level < 1 || level > ZSTD_maxCLevel()) return std::nullopt;
  return Compression{true, level};
}

std::optional<uint32_t> parse_chunk_limit(const std::string &text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  if (i + 1 == text.size() && (text[i] == 'K' || text[i] == 'k')) {
    value <<= 10;
  } else if (i + 1 == text.size() && (text[i] == 'M' || text[i] == 'm')) {
    value <<= 20;
  } else if (i != text.size()) {
    return std::nullopt;
  }
  if (value < kMinMaxChunk || value > SPK_ZSTD_MAX_CHUNK_SIZE) return std::nullopt;
  return static_cast<uint32_t>(value);
}

namespace {

// Bytes of the fewest whole elements that fill whole bytes (3 for 6-bit types): chunks start
// on element boundaries.
uint32_t granule_bytes(DType dtype) {
  const uint32_t bits = dtype_bits(dtype);
  uint32_t granule = bits == 0 ? 8 : bits;
  while (granule % 8 != 0) granule += bits;
  return granule / 8;
}

}  // namespace

SegmentEncoding encoding_for(DType dtype, uint32_t max_chunk) {
  SegmentEncoding e;
  e.compress = true;
  const uint32_t bits = dtype_bits(dtype);
  if (bits == 16 || bits == 32 || bits == 64) {
    e.width = bits / 8;
    // Measured: rotating the sign out of the exponent byte saves 0.4 points of BF16 and 0.2 of
    // F32; for F16 (5-bit exponent) it saves nothing.
    e.filter = dtype == DType::kBF16 || dtype == DType::kF32 ? Filter::kByteGroupRotate
                                                             : Filter::kByteGroup;
  }
  const uint32_t granule = granule_bytes(dtype);
  const uint32_t chunk = std::min(SPK_ZSTD_DEFAULT_CHUNK_SIZE, max_chunk);
  e.chunk_size = std::max(granule, chunk - chunk % granule);
  e.granule = granule;
  return e;
}

ChunkCompressor::ChunkCompressor(int level)
    : context_(ZSTD_createCCtx()), sequence_context_(ZSTD_createCCtx()), level_(level) {
  if (context_ == nullptr || sequence_context_ == nullptr) {
    ZSTD_freeCCtx(context_);
    ZSTD_freeCCtx(sequence_context_);
    throw std::bad_alloc();
  }
}

ChunkCompressor::~ChunkCompressor() {
  ZSTD_freeCCtx(context_);
  ZSTD_freeCCtx(sequence_context_);
}

namespace {

constexpr size_t kMaxBlock = ZSTD_BLOCKSIZE_MAX;  // 128 KiB, the most one zstd block may hold
constexpr uint8_t kLastBlockFlag = 1;
constexpr uint32_t kRleBlock = 1;
// The longest byte stream a chunk can have (SPK_ZSTD_MAX_CHUNK_SIZE of 2-byte elements), in
// blocks: bounds the sequence array ZSTD_compressSequences gets.
constexpr size_t kMaxStreamBlocks = SPK_ZSTD_MAX_CHUNK_SIZE / 2 / kMaxBlock;
// A stream is stored raw when the collision entropy of a sample of its bytes is at least this
// many bits per byte: Shannon entropy is never below it, so Huffman coding could save at most
// 3% of the stream, less its table, and zstd itself only keeps literal coding that saves 1.6%.
constexpr double kRawStreamBits = 7.75;
constexpr size_t kSampleRuns = 8, kSampleRun = 64;
// A grouped stream has structure for LZ when zstd level 1 codes a slice of it in less than
// 1/kProbeGain of the slice's order-0 entropy.
constexpr double kProbeGain = 1.15;
// LZ candidates are compared at level kScreenLevel with a capped search (below); those within
// kCloseShare of the best frame are coded again at the level asked, when that is higher.
// Measured (zstd 1.5.4, bench/structured_bench.sh tensors): level 9 finds under a tenth of
// what 19 finds in a prefixed STFT chunk and loses 10 points on fake-quantized bf16, so it
// ranks candidates wrongly; level 16 with these caps ranks them as 19 does at 5-15 times its
// speed, while the same caps on the final level would cost 2-13% of size.
constexpr int kScreenLevel = 16;
constexpr int kScreenSearchLog = 2, kScreenChainLog = 16, kScreenTargetLength = 16;
constexpr double kCloseShare = 1.1, kTieShare = 1.02;
constexpr int kLargeTableLog = 20;
// Chunks up to this size without structure still try ordinary zstd when the entropy-only frame
// gains nothing (its literal tables outweigh the gain on a few hundred bytes): lz_trial.
constexpr size_t kSmallChunk = size_t{16} << 10;

void check(size_t result) {
  if (ZSTD_isError(result)) {
    throw Error(ErrorKind::kOutput, std::string("zstd: ") + ZSTD_getErrorName(result));
  }
}

// A single-segment frame header (RFC 8878): the window is the whole chunk, so no window
// descriptor; no checksum (the segment has one), no dictionary. The content size takes 1, 2
// (stored minus 256) or 4 bytes; a chunk is at most 16 MiB.
void append_frame_header(std::vector<uint8_t> &out, size_t content_size) {
  append_le(out, ZSTD_MAGICNUMBER, 4);
  if (content_size < 256) {
    out.push_back(0x20);
    append_le(out, content_size, 1);
  } else if (content_size < 65536 + 256) {
    out.push_back(0x60);
    append_le(out, content_size - 256, 2);
  } else {
    out.push_back(0xA0);
    append_le(out, content_size, 4);
  }
}

// Raw blocks holding `size` bytes; returns the offset in `out` of the last block's header.
size_t append_raw_blocks(std::vector<uint8_t> &out, const uint8_t *bytes, size_t size) {
  size_t last = out.size();
  for (size_t at = 0; at < size; at += kMaxBlock) {
    const size_t n = std::min(kMaxBlock, size - at);
    last = out.size();
    append_le(out, n << 3, 3);  // block type 0 (raw), not last
    out.insert(out.end(), bytes + at, bytes + at + n);
  }
  return last;
}

// Copies the blocks of a frame without a checksum (`blocks` starts after its header) to `out`
// with their last-block flags cleared; returns the offset in `out` of the final block's header.
size_t append_blocks(std::vector<uint8_t> &out, const uint8_t *blocks, size_t size) {
  size_t last = out.size();
  for (size_t at = 0; at < size;) {
    if (size - at < 3) throw Error(ErrorKind::kOutput, "zstd: truncated block header");
    const uint32_t header = static_cast<uint32_t>(blocks[at]) |
                            static_cast<uint32_t>(blocks[at + 1]) << 8 |
                            static_cast<uint32_t>(blocks[at + 2]) << 16;
    const size_t body = ((header >> 1) & 3) == kRleBlock ? 1 : header >> 3;
    if (size - at - 3 < body) throw Error(ErrorKind::kOutput, "zstd: truncated block");
    last = out.size();
    out.insert(out.end(), blocks + at, blocks + at + 3 + body);
    out[last] = static_cast<uint8_t>(out[last] & ~kLastBlockFlag);
    at += 3 + body;
  }
  return last;
}

// Whether a byte stream is noise to an entropy coder, from the byte histogram of up to
// kSampleRuns evenly spaced runs: the unbiased collision probability sum c(c-1) / (n(n-1)) is
// 2^-8 for uniform bytes. Cheap (at most 512 bytes looked at), deterministic.
bool looks_incompressible(const uint8_t *stream, size_t size) {
  uint32_t counts[256] = {};
  size_t n = 0;
  if (size <= kSampleRuns * kSampleRun) {
    for (size_t i = 0; i < size; ++i) ++counts[stream[i]];
    n = size;
  } else {
    const size_t step = (size - kSampleRun) / (kSampleRuns - 1);
    for (size_t r = 0; r < kSampleRuns; ++r) {
      const uint8_t *run = stream + r * step;
      for (size_t i = 0; i < kSampleRun; ++i) ++counts[run[i]];
    }
    n = kSampleRuns * kSampleRun;
  }
  if (n < 2) return false;
  uint64_t pairs = 0;
  for (uint32_t c : counts) pairs += uint64_t{c} * (c - (c != 0 ? 1 : 0));
  const double collision =
      static_cast<double>(pairs) / (static_cast<double>(n) * static_cast<double>(n - 1));
  return collision <= std::exp2(-kRawStreamBits);
}

}  // namespace

size_t ChunkCompressor::append_literal_blocks(const uint8_t *stream, size_t size,
                                              std::vector<uint8_t> &out) {
  ZSTD_Sequence blocks[kMaxStreamBlocks];
  const size_t count = (size + kMaxBlock - 1) / kMaxBlock;
  if (count > kMaxStreamBlocks) throw Error(ErrorKind::kOutput, "zstd: chunk too large");
  // A sequence with no match and offset 0 ends a block: each block is literals only.
  for (size_t i = 0; i < count; ++i) {
    blocks[i] =
        ZSTD_Sequence{0, static_cast<unsigned>(std::min(kMaxBlock, size - i * kMaxBlock)), 0, 0};
  }
  ZSTD_CCtx *c = context_;
  check(ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters));
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1));
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_literalCompressionMode, ZSTD_ps_enable));
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_blockDelimiters, ZSTD_sf_explicitBlockDelimiters));
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0));
  const size_t bound = ZSTD_compressBound(size) + 64;
  if (frame_.size() < bound) frame_.resize(bound);
  const size_t written =
      ZSTD_compressSequences(c, frame_.data(), frame_.size(), blocks, count, stream, size);
  check(written);
  const size_t header = ZSTD_frameHeaderSize(frame_.data(), written);
  check(header);
  // Literal-only blocks use no repeat offsets, and the first block of a frame never reuses an
  // earlier Huffman table, so these blocks decode the same after other streams' blocks.
  return append_blocks(out, frame_.data() + header, written - header);
}

void ChunkCompressor::compress_streams(const uint8_t *streams, size_t count, uint32_t width,
                                       size_t length, std::vector<uint8_t> &out) {
  out.clear();
  out.reserve(length + 64);
  append_frame_header(out, length);
  size_t last_block = 0;
  // One stream never shares a block with another, so each gets its own literal Huffman table:
  // the exponent stream's skewed statistics are not averaged with the mantissa streams'.
  for (uint32_t k = 0; k < width && out.size() < length; ++k) {
    const uint8_t *stream = streams + k * count;
    last_block = looks_incompressible(stream, count) ? append_raw_blocks(out, stream, count)
                                                     : append_literal_blocks(stream, count, out);
  }
  if (out.size() < length) out[last_block] = static_cast<uint8_t>(out[last_block] | kLastBlockFlag);
}

void ChunkCompressor::start_lz(ZSTD_CCtx *c, int level, const uint8_t *prefix, size_t prefix_length,
                               size_t size) {
  check(ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters));
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level));
  // No frame checksum (segments carry ours), the content size always present.
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0));
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1));
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0));
  if (prefix_length + size > SPK_ZSTD_DEFAULT_CHUNK_SIZE * 4) {
    // Large chunks: zstd's tables for a 2 MiB input at level 19 take 34 MiB per context (and
    // there is one per thread); 2^kLargeTableLog entries each keep it near 11 MiB.
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, kLargeTableLog));
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, kLargeTableLog));
  }
  if (capped_search_) {
    // Optimal parsing (what levels 16+ add) finds what lazy levels miss in small alphabets and
    // far repeats; a short search keeps it at about 10 times level 19's speed.
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_searchLog, kScreenSearchLog));
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, kScreenChainLog));
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_targetLength, kScreenTargetLength));
  }
  if (prefix != nullptr && prefix_length != 0) {
    // The window must reach back over the whole prefix.
    int window_log = ZSTD_WINDOWLOG_MIN;
    while ((size_t{1} << window_log) < prefix_length + size) ++window_log;
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log));
    check(ZSTD_CCtx_refPrefix(c, prefix, prefix_length));
  }
}

bool ChunkCompressor::compress_lz(const uint8_t *bytes, size_t size, const uint8_t *prefix,
                                  size_t prefix_length, int level, std::vector<uint8_t> &out) {
  start_lz(context_, level, prefix, prefix_length, size);
  const size_t bound = ZSTD_compressBound(size);
  if (frame_.size() < bound) frame_.resize(bound);
  const size_t written = ZSTD_compress2(context_, frame_.data(), frame_.size(), bytes, size);
  check(written);
  if (written >= size) return false;
  out.assign(frame_.data(), frame_.data() + written);
  return true;
}

bool ChunkCompressor::compress_grouped_lz(const uint8_t *streams, size_t count, uint32_t width,
                                          size_t length, int level, std::vector<uint8_t> &out) {
  // zstd on the grouped chunk as a whole puts the end of one stream and the start of the next
  // in one block, under one literal Huffman table: exponent bytes and mantissa noise averaged,
  // which costs pruned tensors 2-4 points. So the matches are found stream by stream (the
  // earlier streams as history, so a match may still reach into them), each stream ends a
  // block, and one frame is coded from those sequences.
  std::vector<ZSTD_Sequence> sequences;
  for (uint32_t k = 0; k < width; ++k) {
    // A context of its own: zstd 1.5 leaves the sequence collector of
    // ZSTD_generateSequences switched on in the context, pointing at this call's array.
    start_lz(sequence_context_, level, streams, k * count, count);
    const size_t first = sequences.size();
    const size_t capacity = ZSTD_sequenceBound(count);
    sequences.resize(first + capacity);
    const size_t n = ZSTD_generateSequences(sequence_context_, sequences.data() + first, capacity,
                                            streams + k * count, count);
    check(n);
    sequences.resize(first + n);
    // Blocks zstd leaves uncompressed yield no sequences: their bytes become literals of a
    // final block of the stream, so the sequences cover the stream exactly.
    size_t covered = 0;
    for (size_t i = first; i < sequences.size(); ++i) {
      covered += sequences[i].litLength + sequences[i].matchLength;
    }
    if (covered > count) return false;
    for (size_t at = covered; at < count; at += kMaxBlock) {
      sequences.push_back(
          ZSTD_Sequence{0, static_cast<unsigned>(std::min(kMaxBlock, count - at)), 0, 0});
    }
  }
  start_lz(context_, level, nullptr, 0, length);
  check(ZSTD_CCtx_setParameter(context_, ZSTD_c_blockDelimiters, ZSTD_sf_explicitBlockDelimiters));
  const size_t bound = ZSTD_compressBound(length) + 64;
  if (frame_.size() < bound) frame_.resize(bound);
  const size_t written =
      ZSTD_compressSequences(context_, frame_.data(), frame_.size(), sequences.data(),
                             sequences.size(), streams, width * count);
  check(written);
  if (written >= length) return false;
  out.assign(frame_.data(), frame_.data() + written);
  return true;
}

bool ChunkCompressor::streams_look_structured(const uint8_t *streams, size_t count,
                                              uint32_t width) {
  // zstd level 1 on a slice of each grouped stream against the slice's order-0 entropy (what
  // the entropy-only frame gets): structure that lives in the exponent and high bytes (a
  // position table, whose 4-byte words never repeat) shows as matches there, while the
  // exponent stream of noise-like weights is i.i.d. and level 1 finds nothing worth its cost.
  constexpr size_t kProbe = 2048;
  if (count < kProbe) return false;
  const size_t bound = ZSTD_compressBound(kProbe);
  if (frame_.size() < bound) frame_.resize(bound);
  for (uint32_t k = 0; k < width; ++k) {
    const uint8_t *stream = streams + k * count;
    if (looks_incompressible(stream, count)) continue;  // noise: stored raw anyway
    const uint8_t *slice = stream + (count - kProbe) / 2;
    uint32_t counts[256] = {};
    for (size_t i = 0; i < kProbe; ++i) ++counts[slice[i]];
    double bits = 0;
    for (uint32_t c : counts) {
      if (c != 0) bits -= c * std::log2(static_cast<double>(c) / kProbe);
    }
    const size_t written =
        ZSTD_compressCCtx(context_, frame_.data(), frame_.size(), slice, kProbe, 1);
    check(written);
    if (static_cast<double>(written) * kProbeGain < bits / 8) return true;
  }
  return false;
}

const uint8_t *ChunkCompressor::filter(const uint8_t *chunk, size_t length,
                                       const SegmentEncoding &encoding) {
  if (encoding.width == 0) return chunk;
  if (grouped_.size() < length) grouped_.resize(length);
  byte_group(chunk, length / encoding.width, encoding.width,
             encoding.filter == Filter::kByteGroupRotate, grouped_.data());
  return grouped_.data();
}

bool ChunkCompressor::compress_entropy_only(const uint8_t *chunk, size_t length,
                                            const SegmentEncoding &encoding,
                                            std::vector<uint8_t> &out) {
  const uint32_t width = encoding.width;
  const size_t count = width != 0 ? length / width : length;
  if (count == 0) return false;  // no whole element: nothing a filter could group
  compress_streams(filter(chunk, length, encoding), count, width != 0 ? width : 1, length, out);
  kind_ = ChunkKind::kFiltered;
  return out.size() < length;
}

ChunkCompressor::LzTrial ChunkCompressor::lz_trial(const uint8_t *chunk, size_t length,
                                                   const SegmentEncoding &encoding,
                                                   const uint8_t *filtered,
                                                   size_t entropy_only_size) {
  const uint32_t width = encoding.width;
  if (looks_structured(chunk, length)) return LzTrial::kAll;
  if (width != 0 && length / width != 0) {
    if (filtered == nullptr) filtered = filter(chunk, length, encoding);
    if (streams_look_structured(filtered, length / width, width)) return LzTrial::kAll;
  }
  // A small chunk (a small tensor) may not repay the entropy-only frame's tables, where
  // ordinary zstd still gains a little; trying it costs little at this size.
  return entropy_only_size >= length && length <= kSmallChunk ? LzTrial::kPlain : LzTrial::kNone;
}

bool ChunkCompressor::chunk_looks_structured(const uint8_t *chunk, size_t length,
                                             const SegmentEncoding &encoding) {
  // Any size that gained nothing would do: only the structure decides kAll.
  return lz_trial(chunk, length, encoding, nullptr, length) == LzTrial::kAll;
}

bool ChunkCompressor::compress(const uint8_t *chunk, size_t length, const SegmentEncoding &encoding,
                               std::vector<uint8_t> &out, const uint8_t *previous,
                               size_t previous_length) {
  const uint32_t width = encoding.width;
  const size_t count = width != 0 ? length / width : length;
  if (count == 0) return false;  // no whole element: nothing a filter could group
  const uint8_t *filtered = filter(chunk, length, encoding);
  // The entropy-only frame first: all that noise-like weights get (LZ matches cost more than
  // the literals they replace, and searching noise for them costs time).
  compress_streams(filtered, count, width != 0 ? width : 1, length, out);
  kind_ = ChunkKind::kFiltered;
  if (previous_length < 4) previous = nullptr;  // too short to pay for a window
  const LzTrial trial =
      lz_trial(chunk, length, encoding, width != 0 ? filtered : nullptr, out.size());
  if (trial != LzTrial::kAll) {
    if (trial == LzTrial::kPlain && compress_lz(chunk, length, nullptr, 0, level_, candidate_) &&
        candidate_.size() < out.size()) {
      out.swap(candidate_);
      kind_ = width != 0 ? ChunkKind::kUnfiltered : ChunkKind::kFiltered;
    }
    return out.size() < length;
  }
  // The LZ candidates compete at a screening level; only the best are coded again at the
  // level asked (the strong level costs 5-20 times the screening one).
  // Screening caps the search only when the level asked is stronger (else it is the level).
  const int screen = std::min(level_, kScreenLevel);
  capped_search_ = level_ > kScreenLevel || screening_;
  enum class Candidate { kGrouped, kRaw, kPrefixed };
  auto make = [&](Candidate which, int level, std::vector<uint8_t> &frame) {
    switch (which) {
      case Candidate::kGrouped:
        // Chunks above the default size: their streams fill whole blocks of their own anyway
        // (only where one stream ends and the next starts do tables mix), and zstd 1.5.4's
        // sequence collector crashed on streams of 128 KiB: ordinary zstd on the grouped bytes.
        return width != 0 && length <= SPK_ZSTD_DEFAULT_CHUNK_SIZE
                   ? compress_grouped_lz(filtered, count, width, length, level, frame)
                   : compress_lz(width != 0 ? filtered : chunk, length, nullptr, 0, level, frame);
      case Candidate::kRaw:
        return compress_lz(chunk, length, nullptr, 0, level, frame);
      case Candidate::kPrefixed:
        return compress_lz(chunk, length, previous, previous_length, level, frame);
    }
    return false;
  };
  const ChunkKind kinds[] = {ChunkKind::kFiltered, ChunkKind::kUnfiltered, ChunkKind::kPrefixed};
  // Screening sizes of the candidates (0: not tried, or not smaller than the chunk).
  size_t screened[3] = {};
  auto consider = [&](Candidate which, int level) {
    if (!make(which, level, candidate_)) return;
    if (level == screen) screened[static_cast<int>(which)] = candidate_.size();
    if (candidate_.size() < out.size()) {
      out.swap(candidate_);
      kind_ = kinds[static_cast<int>(which)];
    }
  };
  consider(Candidate::kGrouped, screen);
  if (width != 0) consider(Candidate::kRaw, screen);
  // A prefix that starts with zstd's dictionary magic would be read as a dictionary (the
  // format forbids it); 8-byte elements would need a third chunk buffer on the device.
  if (previous != nullptr && width <= 4 && load_le32(previous) != ZSTD_MAGIC_DICTIONARY) {
    consider(Candidate::kPrefixed, screen);
  }
  capped_search_ = false;
  if (level_ <= screen) return out.size() < length;
  // The strong level for the best LZ candidate, and for any other within kTieShare of it, when
  // it came within kCloseShare of the best frame so far (the entropy-only one included): the
  // screening level finds less than the strong one where optimal parsing matters most.
  const double best = static_cast<double>(out.size());
  double best_lz = 0;
  for (size_t size : screened) {
    if (size != 0 && (best_lz == 0 || static_cast<double>(size) < best_lz)) {
      best_lz = static_cast<double>(size);
    }
  }
  for (int i = 0; i < 3; ++i) {
    const auto size = static_cast<double>(screened[i]);
    if (screened[i] != 0 && size <= kCloseShare * best && size <= kTieShare * best_lz) {
      consider(static_cast<Candidate>(i), level_);
    }
  }
  return out.size() < length;
}

uint32_t chunk_size_for(const uint8_t *data, uint64_t size, const SegmentEncoding &encoding,
                        uint32_t max_chunk) {
  const uint32_t chunk = encoding.chunk_size;
  if (size <= chunk || max_chunk <= chunk || encoding.granule == 0) return chunk;
  // The chunk in the middle: the first and last rows of a table are often its least typical.
  const uint64_t middle = (size / chunk / 2) * chunk;
  const auto length = static_cast<size_t>(std::min<uint64_t>(chunk, size - middle));
  ChunkCompressor probe(kScreenLevel);
  probe.screen_only();
  if (!probe.chunk_looks_structured(data + middle, length, encoding)) return chunk;
  const uint64_t whole = (size + encoding.granule - 1) / encoding.granule * encoding.granule;
  const uint64_t cap = max_chunk - max_chunk % encoding.granule;
  const auto large = static_cast<uint32_t>(std::min(whole, cap));
  // Larger chunks reach further back, but lose where the structure is local (block-pruned
  // weights: 1-4 points worse at 1 MiB; per-channel fake-quantized bf16: best at 128-256 KiB).
  // So one large chunk's bytes from the middle of the tensor are coded at the screening level
  // (about a tenth of level 19's time) in chunks of 64 KiB, 256 KiB, 1 MiB (those below the
  // large size) and the large size; the smallest wins, the smaller chunk on a tie.
  const uint64_t start = (size - std::min<uint64_t>(size, large)) / 2 / chunk * chunk;
  const auto span = static_cast<size_t>(std::min<uint64_t>(large, size - start));
  std::vector<uint8_t> frame;
  auto coded = [&](uint32_t candidate) {
    SegmentEncoding e = encoding;
    e.chunk_size = candidate;
    size_t total = 0;
    for (size_t at = 0; at < span; at += candidate) {
      const size_t n = std::min<size_t>(candidate, span - at);
      const uint8_t *previous = at != 0 ? data + start + at - candidate : nullptr;
      total += probe.compress(data + start + at, n, e, frame, previous, previous ? candidate : 0)
                   ? frame.size()
                   : n;
    }
    return total;
  };
  uint32_t best = chunk;
  size_t best_size = coded(chunk);
  for (uint64_t candidate = uint64_t{chunk} * 4;; candidate *= 4) {
    const auto size_of = static_cast<uint32_t>(std::min<uint64_t>(candidate, large));
    const size_t bytes = coded(size_of);
    if (bytes < best_size) {
      best = size_of;
      best_size = bytes;
    }
    if (size_of == large) break;
  }
  return best;
}

uint64_t estimate_coded_size(const uint8_t *data, uint64_t size, DType dtype, int level,
                             uint32_t max_chunk) {
  SegmentEncoding encoding = encoding_for(dtype, max_chunk);
  encoding.chunk_size = chunk_size_for(data, size, encoding, max_chunk);
  ChunkCompressor probe(std::min(level, kScreenLevel));
  probe.screen_only();
  std::vector<uint8_t> frame;
  uint64_t total = 0;
  const uint32_t chunk = encoding.chunk_size;
  for (uint64_t at = 0; at < size; at += chunk) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(chunk, size - at));
    const uint8_t *previous = at != 0 ? data + at - chunk : nullptr;
    total += probe.compress(data + at, n, encoding, frame, previous, previous ? chunk : 0)
                 ? frame.size()
                 : n;
  }
  return total;
}

bool looks_structured(const uint8_t *chunk, size_t length) {
  // Exact repeats of sampled words, found through a small hash table of the words seen. Noise-
  // like floats repeat a word about never (f32: a 23-bit mantissa; bf16: a pair of values).
  constexpr size_t kSlots = 4096, kSamples = 4096;
  // Structured when at least 1 sampled word in 128 repeats (and 4 in all): measured, synthetic
  // bf16 weights repeat at most 1 in 600, a fake-quantized bf16 tensor 1 in 70, an STFT basis
  // 1 in 35.
  constexpr size_t kRepeatShare = 128, kMinRepeats = 4;
  uint64_t seen[kSlots] = {};  // a word plus 2^32, 0 = empty
  // A chunk larger than the default is judged by its middle SPK_ZSTD_DEFAULT_CHUNK_SIZE bytes:
  // samples spread over a whole 1 MiB chunk would miss repeats that stay within a few rows
  // (a fake-quantized channel's 256 levels).
  if (length > SPK_ZSTD_DEFAULT_CHUNK_SIZE) {
    chunk += (length - SPK_ZSTD_DEFAULT_CHUNK_SIZE) / 2 / 4 * 4;
    length = SPK_ZSTD_DEFAULT_CHUNK_SIZE;
  }
  const size_t words = length / 4;
  const size_t step = words > kSamples ? words / kSamples : 1;
  size_t samples = 0, repeats = 0;
  for (size_t i = 0; i < words; i += step, ++samples) {
    const uint32_t w = load_le32(chunk + 4 * i);
    uint64_t &slot = seen[(w * 2654435761u) >> 20];
    repeats += slot == (uint64_t{w} | uint64_t{1} << 32) ? 1 : 0;
    slot = uint64_t{w} | uint64_t{1} << 32;
  }
  return repeats >= kMinRepeats && repeats * kRepeatShare >= samples;
}

std::vector<uint8_t> chunk_footer(const std::vector<uint32_t> &stored_sizes, uint32_t chunk_size) {
  std::vector<uint8_t> footer(4 * stored_sizes.size() + SPK_ZSTD_FOOTER_SIZE);
  auto store = [&footer](size_t at, uint32_t v) { store_le32(footer.data() + at, v); };
  for (size_t i = 0; i < stored_sizes.size(); ++i) store(4 * i, stored_sizes[i]);
  store(4 * stored_sizes.size(), chunk_size);
  store(4 * stored_sizes.size() + 4, static_cast<uint32_t>(stored_sizes.size()));
  return footer;
}

}  // namespace statepack
