// How the packer encodes one segment with `--compress zstd`: the filter chosen from the dtype,
// the chunking, and the compression of one chunk (schemas/FORMAT.md, "zstd codec").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "statepack/tools/core/dtype.hpp"

struct ZSTD_CCtx_s;

namespace statepack {

/// The segment filters; values equal the schema's Filter and the runtime's spk_filter.
enum class Filter : uint8_t { kNone = 0, kByteGroup = 1, kByteGroupRotate = 2 };

/// `--compress`: none, or zstd with a level.
struct Compression {
  bool zstd = false;
  int level = 3;  ///< zstd level for streams that are not byte-grouped (1..22)
};

/// Parses "none", "zstd" or "zstd:LEVEL"; nullopt for anything else.
std::optional<Compression> parse_compression(const std::string &text);

/// How one segment is stored when compression is on.
struct SegmentEncoding {
  bool compress = false;  ///< try zstd (the writer still stores it raw when that is not smaller)
  Filter filter = Filter::kNone;
  uint32_t width = 0;       ///< element bytes the filter groups (2, 4 or 8), 0 without a filter
  uint32_t chunk_size = 0;  ///< decoded bytes per chunk

  bool operator==(const SegmentEncoding &o) const {
    return compress == o.compress && filter == o.filter && width == o.width &&
           chunk_size == o.chunk_size;
  }
};

/// The encoding for tensor data of `dtype`: BF16 and F32 byte-grouped after rotating the sign
/// to bit 0, other 2-, 4- and 8-byte types byte-grouped, 1-byte and sub-byte types unfiltered;
/// chunks of SPK_ZSTD_DEFAULT_CHUNK_SIZE rounded down to whole elements.
SegmentEncoding encoding_for(DType dtype);

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
  /// A byte-grouped chunk's frame has, per stream, raw blocks (a stream whose sampled bytes
  /// look uniform) or literal-only compressed blocks; other chunks get zstd at the level.
  bool compress(const uint8_t *chunk, size_t length, const SegmentEncoding &encoding,
                std::vector<uint8_t> &out);

 private:
  bool compress_grouped(const uint8_t *chunk, size_t length, const SegmentEncoding &encoding,
                        std::vector<uint8_t> &out);
  bool compress_whole(const uint8_t *chunk, size_t length, std::vector<uint8_t> &out);
  /// Appends one stream as literal-only blocks; returns the offset of the last block header.
  size_t append_literal_blocks(const uint8_t *stream, size_t size, std::vector<uint8_t> &out);

  ZSTD_CCtx_s *context_;
  int level_;
  std::vector<uint8_t> grouped_;
  std::vector<uint8_t> frame_;
};

/// The segment's footer: stored_size[] (bit 31 set for raw chunks), chunk_size, chunk_count.
std::vector<uint8_t> chunk_footer(const std::vector<uint32_t> &stored_sizes, uint32_t chunk_size);

}  // namespace statepack
