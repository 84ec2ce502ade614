// Chunk compression for `--compress zstd`. The parameters for byte-grouped streams come from
// measurements (bench/codec_variants_bench.cpp, summarised in schemas/FORMAT.md): exponent
// streams are near-i.i.d. symbols, where LZ matches cost more than the literals they replace,
// so those frames use zstd's fast strategy with 7-byte minimum matches and its acceleration
// (literals get Huffman-coded per block, one block per stream): smaller and faster than any
// zstd level. Streams that are not grouped (int8, int4, bool) use the level asked for.
#include "statepack/tools/segment_codec.hpp"

// ZSTD_c_literalCompressionMode is in zstd's experimental ("static linking only") API.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <cstring>

#include "statepack/statepack_zstd.h"
#include "statepack/tools/error.hpp"

namespace statepack {

std::optional<Compression> parse_compression(const std::string &text) {
  if (text == "none") return Compression{};
  if (text == "zstd") return Compression{true, 3};
  if (text.rfind("zstd:", 0) != 0 || text.size() < 6 || text.size() > 7) return std::nullopt;
  int level = 0;
  for (size_t i = 5; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    level = level * 10 + (text[i] - '0');
  }
  if (level < 1 || level > ZSTD_maxCLevel()) return std::nullopt;
  return Compression{true, level};
}

SegmentEncoding encoding_for(DType dtype) {
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
  // Chunks start on element boundaries: a multiple of the bytes of a whole number of elements
  // that fills whole bytes (3 bytes for 6-bit types).
  uint32_t granule = bits == 0 ? 8 : bits;
  while (granule % 8 != 0) granule += bits;
  granule /= 8;
  e.chunk_size = SPK_ZSTD_DEFAULT_CHUNK_SIZE - SPK_ZSTD_DEFAULT_CHUNK_SIZE % granule;
  return e;
}

ChunkCompressor::ChunkCompressor(int level) : context_(ZSTD_createCCtx()), level_(level) {
  if (context_ == nullptr) throw std::bad_alloc();
}

ChunkCompressor::~ChunkCompressor() {
  ZSTD_freeCCtx(context_);
}

namespace {

void check(size_t result) {
  if (ZSTD_isError(result)) {
    throw Error(ErrorKind::kOutput, std::string("zstd: ") + ZSTD_getErrorName(result));
  }
}

}  // namespace

bool ChunkCompressor::compress(const uint8_t *chunk, size_t length, const SegmentEncoding &encoding,
                               std::vector<uint8_t> &out) {
  ZSTD_CCtx *c = context_;
  check(ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters));
  if (encoding.width != 0) {
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1));
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_strategy, ZSTD_fast));
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_minMatch, 7));
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_targetLength, 64));
    // zstd turns Huffman literals off by default for an accelerated fast strategy; here the
    // literals are the whole point.
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_literalCompressionMode, ZSTD_ps_enable));
  } else {
    check(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level_));
  }
  // No frame checksum (segments carry ours), the content size always present, one thread.
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0));
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1));
  check(ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0));
  check(ZSTD_CCtx_setPledgedSrcSize(c, length));

  const uint8_t *source = chunk;
  uint32_t streams = 1;
  if (encoding.width != 0) {
    grouped_.resize(length);
    byte_group(chunk, length / encoding.width, encoding.width,
               encoding.filter == Filter::kByteGroupRotate, grouped_.data());
    source = grouped_.data();
    streams = encoding.width;
  }
  out.resize(ZSTD_compressBound(length) + 16 * streams);
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  // Each stream ends a block (ZSTD_e_flush), so each gets its own literal Huffman table: the
  // exponent stream's skewed statistics are not averaged with the mantissa streams'.
  const size_t stream_size = length / streams;
  for (uint32_t k = 0; k < streams; ++k) {
    ZSTD_inBuffer input{source + k * stream_size, stream_size, 0};
    const ZSTD_EndDirective end = k + 1 == streams ? ZSTD_e_end : ZSTD_e_flush;
    size_t remaining = 0;
    do {
      remaining = ZSTD_compressStream2(c, &output, &input, end);
      check(remaining);
      if (output.pos == output.size && remaining != 0) return false;
    } while (remaining != 0 || input.pos < input.size);
  }
  if (output.pos >= length) return false;
  out.resize(output.pos);
  return true;
}

std::vector<uint8_t> chunk_footer(const std::vector<uint32_t> &stored_sizes, uint32_t chunk_size) {
  std::vector<uint8_t> footer(4 * stored_sizes.size() + SPK_ZSTD_FOOTER_SIZE);
  auto store = [&footer](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) footer[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  for (size_t i = 0; i < stored_sizes.size(); ++i) store(4 * i, stored_sizes[i]);
  store(4 * stored_sizes.size(), chunk_size);
  store(4 * stored_sizes.size() + 4, static_cast<uint32_t>(stored_sizes.size()));
  return footer;
}

}  // namespace statepack
