// SPDX-License-Identifier: Apache-2.0
// How the packer encodes one segment with `--compress zstd`: the filter chosen from the dtype,
// the chunking, and the compression of one chunk (schemas/FORMAT.md, "zstd codec").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "statepack/statepack_zstd.h"
#include "statepack/tools/core/dtype.hpp"

struct ZSTD_CCtx_s;

namespace statepack {

/// The segment filters; values equal the schema's Filter and the runtime's spk_filter.
enum class Filter : uint8_t { kNone = 0, kByteGroup = 1, kByteGroupRotate = 2 };

/// The zstd level of `--compress zstd`: chunks are searched for matches only where sampling
/// finds repeats, so a strong level costs time only on tensors with structure.
inline constexpr int kDefaultZstdLevel = 19;

/// The largest chunk `--compress zstd` writes unless `--max-chunk` says otherwise
/// (SPK_ZSTD_PACK_MAX_CHUNK_SIZE, 2 MiB): see chunk_size_for. A device decoding such a blob
/// needs spk_zstd_workspace_bound(kDefaultMaxChunk).
inline constexpr uint32_t kDefaultMaxChunk = SPK_ZSTD_PACK_MAX_CHUNK_SIZE;
/// The smallest `--max-chunk` (4 KiB): below it the frames' tables outweigh what they code.
inline constexpr uint32_t kMinMaxChunk = uint32_t{1} << 12;

/// `--compress`: none, or zstd with a level.
struct Compression {
  bool zstd = false;
  int level = kDefaultZstdLevel;          ///< zstd level (1..22) of chunks coded with LZ matches
  uint32_t max_chunk = kDefaultMaxChunk;  ///< no chunk holds more decoded bytes (`--max-chunk`)
};

/// What a chunk's frame decodes to; values equal the runtime's SPK_ZSTD_KIND_*.
enum class ChunkKind : uint8_t {
  kFiltered = 0,    ///< the filtered chunk (the only kind of codec Zstd)
  kUnfiltered = 1,  ///< the chunk's raw bytes
  kPrefixed = 2,    ///< the raw bytes, with the previous chunk's raw bytes as zstd prefix
};

/// Parses "none", "zstd" or "zstd:LEVEL"; nullopt for anything else.
std::optional<Compression> parse_compression(const std::string &text);

/// Parses a `--max-chunk` size: bytes, or a number with suffix K or M (KiB, MiB), from
/// kMinMaxChunk to SPK_ZSTD_MAX_CHUNK_SIZE; nullopt for anything else.
std::optional<uint32_t> parse_chunk_limit(const std::string &text);

/// How one segment is stored when compression is on.
struct SegmentEncoding {
  bool compress = false;  ///< try zstd (the writer still stores it raw when that is not smaller)
  Filter filter = Filter::kNone;
  uint32_t width = 0;       ///< element bytes the filter groups (2, 4 or 8), 0 without a filter
  uint32_t chunk_size = 0;  ///< decoded bytes per chunk
  uint32_t granule = 0;     ///< chunk_size is a multiple of it (bytes of whole elements)

  bool operator==(const SegmentEncoding &o) const {
    return compress == o.compress && filter == o.filter && width == o.width &&
           chunk_size == o.chunk_size && granule == o.granule;
  }
};

/// The encoding for tensor data of `dtype`: BF16 and F32 byte-grouped after rotating the sign
/// to bit 0, other 2-, 4- and 8-byte types byte-grouped, 1-byte and sub-byte types unfiltered;
/// chunks of SPK_ZSTD_DEFAULT_CHUNK_SIZE (at most `max_chunk`) rounded down to whole elements.
SegmentEncoding encoding_for(DType dtype, uint32_t max_chunk = kDefaultMaxChunk);

/// The chunk size for a tensor's `size` bytes at `data` under `encoding` (from encoding_for):
/// when the tensor is larger than one chunk, a chunk from its middle shows structure
/// (ChunkCompressor::chunk_looks_structured) and one large chunk (as large as `max_chunk`
/// allows, the whole tensor if it fits, rounded down to whole elements) from the tensor's
/// middle codes smaller at the screening level than the same bytes in encoding.chunk_size
/// chunks, that large size; else encoding.chunk_size. Deterministic; noise-like tensors cost
/// one sampled chunk.
uint32_t chunk_size_for(const uint8_t *data, uint64_t size, const SegmentEncoding &encoding,
                        uint32_t max_chunk);

/// About the bytes `size` bytes of `dtype` elements at `data` take in a blob compressed at
/// `level`: coded as the writer codes a tensor (encoding_for, chunk_size_for, each chunk the
/// smallest candidate, a chunk stored raw when no frame is smaller), but LZ candidates only at
/// the screening level with a capped search (levels above 16), for a fraction of the time.
/// Deterministic; for comparing ways of storing one tensor.
uint64_t estimate_coded_size(const uint8_t *data, uint64_t size, DType dtype, int level,
                             uint32_t max_chunk);

/// Compresses chunks; one per thread (holds a zstd context, a filter buffer and a frame buffer,
/// all reused from chunk to chunk).
class ChunkCompressor {
 public:
  explicit ChunkCompressor(int level);
  ~ChunkCompressor();
  ChunkCompressor(const ChunkCompressor &) = delete;
  ChunkCompressor &operator=(const ChunkCompressor &) = delete;

  /// Encodes `length` bytes (one chunk) as a zstd frame into `out` (replacing its contents) and
  /// returns true, or returns false when the frame would not be smaller than the chunk (the
  /// chunk is then stored raw). Deterministic: the same bytes and encoding give the same frame.
  /// The entropy-only frame: per stream of the filtered chunk (the whole chunk without a
  /// filter), raw blocks (a stream whose sampled bytes look uniform) or literal-only compressed
  /// blocks. When a sample of the chunk shows repeated words, zstd at the level on the filtered
  /// bytes, on the raw bytes and (given the `previous` chunk's `previous_length` raw bytes) on
  /// the raw bytes with that chunk as prefix compete with it: the smallest frame is kept, and
  /// kind() says which it is.
  bool compress(const uint8_t *chunk, size_t length, const SegmentEncoding &encoding,
                std::vector<uint8_t> &out, const uint8_t *previous = nullptr,
                size_t previous_length = 0);
  /// The entropy-only frame alone (what compress() keeps for noise-like chunks): true when it
  /// is smaller than the chunk. Its kind is always kFiltered.
  bool compress_entropy_only(const uint8_t *chunk, size_t length, const SegmentEncoding &encoding,
                             std::vector<uint8_t> &out);
  /// Whether the chunk shows structure, so compress() tries every LZ candidate on it
  /// (lz_trial() is kAll): looks_structured(), or (grouped encodings) some grouped stream that
  /// zstd level 1 shrinks clearly.
  bool chunk_looks_structured(const uint8_t *chunk, size_t length, const SegmentEncoding &encoding);
  /// Makes compress() code LZ candidates only as it screens them (capped search), for
  /// estimates: about 10 times faster than an uncapped level 16.
  void screen_only() { screening_ = true; }
  /// The kind of the frame the last compress() that returned true made.
  ChunkKind kind() const { return kind_; }

 private:
  /// Which LZ candidates compress() tries after the entropy-only frame.
  enum class LzTrial {
    kNone,   ///< none: noise-like, or the entropy-only frame already gains
    kPlain,  ///< ordinary zstd at the level on the raw chunk alone (small chunk, no gain)
    kAll,    ///< every candidate (the chunk shows structure)
  };
  /// The one decision whether a chunk tries LZ: kAll when looks_structured() or (grouped
  /// encodings; `filtered` is the filtered chunk, or null to filter it here) some grouped
  /// stream that zstd level 1 shrinks clearly; else kPlain for a chunk of at most 16 KiB whose
  /// entropy-only frame (`entropy_only_size` bytes) is not smaller than the chunk; else kNone.
  LzTrial lz_trial(const uint8_t *chunk, size_t length, const SegmentEncoding &encoding,
                   const uint8_t *filtered, size_t entropy_only_size);
  /// The entropy-only frame of `width` streams of `count` bytes at `streams`.
  void compress_streams(const uint8_t *streams, size_t count, uint32_t width, size_t length,
                        std::vector<uint8_t> &out);
  /// Filters the chunk (into grouped_ when it has a filter); returns the filtered bytes.
  const uint8_t *filter(const uint8_t *chunk, size_t length, const SegmentEncoding &encoding);
  /// Resets context `c` for zstd at `level` on `size` bytes, with `prefix_length` bytes at
  /// `prefix` as history when non-null.
  void start_lz(ZSTD_CCtx_s *c, int level, const uint8_t *prefix, size_t prefix_length,
                size_t size);
  /// zstd at `level`, with `prefix_length` bytes at `prefix` as history when non-null;
  /// false when the frame is not smaller than `size`.
  bool compress_lz(const uint8_t *bytes, size_t size, const uint8_t *prefix, size_t prefix_length,
                   int level, std::vector<uint8_t> &out);
  /// zstd at `level` on `width` grouped streams of `count` bytes, each stream its own blocks
  /// (matches may reach into earlier streams); false when not smaller than `length`.
  bool compress_grouped_lz(const uint8_t *streams, size_t count, uint32_t width, size_t length,
                           int level, std::vector<uint8_t> &out);
  /// Whether zstd level 1 on a slice of some grouped stream beats its order-0 entropy clearly.
  bool streams_look_structured(const uint8_t *streams, size_t count, uint32_t width);
  /// Appends one stream as literal-only blocks; returns the offset of the last block header.
  size_t append_literal_blocks(const uint8_t *stream, size_t size, std::vector<uint8_t> &out);

  ZSTD_CCtx_s *context_;
  ZSTD_CCtx_s *sequence_context_;  ///< only for ZSTD_generateSequences
  int level_;
  bool capped_search_ = false;  ///< start_lz caps zstd's search (screening LZ candidates)
  bool screening_ = false;      ///< screen_only(): every LZ candidate with a capped search
  ChunkKind kind_ = ChunkKind::kFiltered;
  std::vector<uint8_t> grouped_;
  std::vector<uint8_t> frame_;
  std::vector<uint8_t> candidate_;
};

/// Whether a sample of the chunk's 4-byte words repeats often enough that LZ matches may beat
/// entropy coding alone (zero runs, repeated values, repeated rows); false for noise-like
/// weights. Looks at most 4096 words.
bool looks_structured(const uint8_t *chunk, size_t length);

/// The segment's footer: stored_size[] (bit 31 set for raw chunks, else the kind in bits 28-30
/// under codec ZstdAdaptive), chunk_size, chunk_count.
std::vector<uint8_t> chunk_footer(const std::vector<uint32_t> &stored_sizes, uint32_t chunk_size);

}  // namespace statepack
