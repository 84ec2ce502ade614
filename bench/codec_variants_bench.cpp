// SPDX-License-Identifier: Apache-2.0
// Benchmark (not a test): the measurements behind the zstd codec's design (schemas/FORMAT.md,
// "zstd codec"). On 4M synthetic weights (per-row log-normal scale, Student-t(6) tails) as
// BF16, F32 and F16 it prints the compressed size in % of raw and the single-thread speed of
// each variant: no filter, byte groups in one block, one block per stream at zstd levels,
// the fast match-finder parameters, the sign rotation, chunk sizes, literal-only blocks with
// noise streams stored raw (what the packer does), and the order-0 entropy bound.
// Usage: codec_variants_bench [ELEMENTS]
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Variant {
  const char *name;
  int level;
  bool group;       // byte groups
  bool per_stream;  // a zstd block per stream
  bool fast;        // fast strategy, min match 7, acceleration 64, literals on
  bool rotate;      // sign to bit 0 first
  size_t chunk;
  bool literal_only = false;  // per stream: raw block if a sample looks uniform, else literals
};

std::vector<uint8_t> grouped(const uint8_t *p, size_t n, size_t w, bool rotate) {
  std::vector<uint8_t> out(n);
  const size_t count = n / w;
  for (size_t i = 0; i < count; ++i) {
    uint64_t x = 0;
    for (size_t k = 0; k < w; ++k) x |= uint64_t{p[i * w + k]} << (8 * k);
    if (rotate) x = ((x << 1) | (x >> (8 * w - 1))) & (w == 8 ? ~0ull : (1ull << (8 * w)) - 1);
    for (size_t k = 0; k < w; ++k) out[k * count + i] = static_cast<uint8_t>(x >> (8 * k));
  }
  return out;
}

size_t compress(ZSTD_CCtx *c, const uint8_t *p, size_t n, size_t w, const Variant &v,
                std::vector<uint8_t> &buf) {
  ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, v.fast ? 1 : v.level);
  if (v.fast) {
    ZSTD_CCtx_setParameter(c, ZSTD_c_strategy, ZSTD_fast);
    ZSTD_CCtx_setParameter(c, ZSTD_c_minMatch, 7);
    ZSTD_CCtx_setParameter(c, ZSTD_c_targetLength, 64);
    ZSTD_CCtx_setParameter(c, ZSTD_c_literalCompressionMode, ZSTD_ps_enable);
  }
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
  ZSTD_CCtx_setPledgedSrcSize(c, n);
  buf.resize(ZSTD_compressBound(n) + 1024);
  ZSTD_outBuffer out{buf.data(), buf.size(), 0};
  const size_t streams = v.per_stream ? w : 1;
  for (size_t k = 0; k < streams; ++k) {
    ZSTD_inBuffer in{p + k * (n / streams), n / streams, 0};
    size_t r;
    do {
      r = ZSTD_compressStream2(c, &out, &in, k + 1 == streams ? ZSTD_e_end : ZSTD_e_flush);
      if (ZSTD_isError(r)) std::abort();
    } while (r != 0);
  }
  return std::min(out.pos, n) + 4;  // a chunk never grows (stored raw), plus its table entry
}

// Whether a stream's sampled bytes look uniform (the packer's rule: collision entropy of 8
// runs of 64 bytes at least 7.75 bits).
bool looks_uniform(const uint8_t *p, size_t n) {
  size_t hist[256] = {}, m = 0;
  const size_t runs = n <= 512 ? 1 : 8, run = n <= 512 ? n : 64;
  for (size_t r = 0; r < runs; ++r) {
    const uint8_t *q = p + (runs == 1 ? 0 : r * ((n - run) / (runs - 1)));
    for (size_t i = 0; i < run; ++i) ++hist[q[i]];
    m += run;
  }
  double pairs = 0;
  for (size_t h : hist)
    pairs += static_cast<double>(h) * (h == 0 ? 0.0 : static_cast<double>(h - 1));
  return m > 1 && pairs / (static_cast<double>(m) * static_cast<double>(m - 1)) <= std::exp2(-7.75);
}

// The packer's frames: per stream, 3 + n bytes raw, or literal-only blocks (compressed with
// ZSTD_compressSequences and spliced in, so their frame header is not counted).
size_t compress_literal_only(ZSTD_CCtx *c, const uint8_t *p, size_t n, size_t w,
                             std::vector<uint8_t> &buf) {
  size_t total = 6;  // magic, descriptor, content size
  const size_t count = n / w;
  buf.resize(ZSTD_compressBound(count) + 64);
  for (size_t k = 0; k < w; ++k) {
    const uint8_t *s = p + k * count;
    if (looks_uniform(s, count)) {
      total += 3 + count;
      continue;
    }
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_literalCompressionMode, ZSTD_ps_enable);
    ZSTD_CCtx_setParameter(c, ZSTD_c_blockDelimiters, ZSTD_sf_explicitBlockDelimiters);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
    ZSTD_Sequence block{0, static_cast<unsigned>(count), 0, 0};
    const size_t r = ZSTD_compressSequences(c, buf.data(), buf.size(), &block, 1, s, count);
    if (ZSTD_isError(r)) std::abort();
    total += r - ZSTD_frameHeaderSize(buf.data(), r);
  }
  return std::min(total, n) + 4;
}

double entropy_bound(const std::vector<uint8_t> &d, size_t w, bool rotate) {
  const std::vector<uint8_t> g = grouped(d.data(), d.size(), w, rotate);
  const size_t count = d.size() / w;
  double bits = 0;
  for (size_t k = 0; k < w; ++k) {
    size_t hist[256] = {};
    for (size_t i = 0; i < count; ++i) ++hist[g[k * count + i]];
    for (size_t h : hist) {
      if (h == 0) continue;
      const double q = static_cast<double>(h) / static_cast<double>(count);
      bits -= static_cast<double>(h) * std::log2(q);
    }
  }
  return 100.0 * bits / 8 / static_cast<double>(d.size());
}

uint16_t to_bf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return static_cast<uint16_t>((b + 0x7FFF + ((b >> 16) & 1)) >> 16);
}

uint16_t to_f16(float f) {
  const _Float16 h = static_cast<_Float16>(f);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}

}  // namespace

int main(int argc, char **argv) {
  const size_t elements = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : (size_t{1} << 22);
  const size_t cols = 4096, rows = elements / cols;
  std::mt19937_64 rng(1);
  std::lognormal_distribution<float> spread(0.0f, 0.25f);
  std::student_t_distribution<float> tails(6.0f);
  std::vector<float> w(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    const float s = 0.02f * spread(rng) / std::sqrt(1.5f);
    for (size_t c = 0; c < cols; ++c) w[r * cols + c] = s * tails(rng);
  }
  struct Data {
    const char *name;
    size_t width;
    std::vector<uint8_t> bytes;
  } data[3] = {{"BF16", 2, {}}, {"F32", 4, {}}, {"F16", 2, {}}};
  data[0].bytes.resize(w.size() * 2);
  data[1].bytes.resize(w.size() * 4);
  data[2].bytes.resize(w.size() * 2);
  for (size_t i = 0; i < w.size(); ++i) {
    const uint16_t b = to_bf16(w[i]), h = to_f16(w[i]);
    std::memcpy(&data[0].bytes[2 * i], &b, 2);
    std::memcpy(&data[1].bytes[4 * i], &w[i], 4);
    std::memcpy(&data[2].bytes[2 * i], &h, 2);
  }
  const Variant variants[] = {
      {"zstd -1, no filter", 1, false, false, false, false, 131072},
      {"zstd -3, no filter", 3, false, false, false, false, 131072},
      {"byte groups, one block, -1", 1, true, false, false, false, 131072},
      {"byte groups, block per stream, -1", 1, true, true, false, false, 131072},
      {"byte groups, block per stream, -3", 3, true, true, false, false, 131072},
      {"byte groups, block per stream, -19", 19, true, true, false, false, 131072},
      {"block per stream, fast m7 (64 KiB)", 1, true, true, true, false, 65536},
      {"block per stream, fast m7 (128 KiB)", 1, true, true, true, false, 131072},
      {"block per stream, fast m7 (1 MiB)", 1, true, true, true, false, 1 << 20},
      {"+ sign rotated (64 KiB)", 1, true, true, true, true, 65536},
      {"literal-only, noise raw (chosen)", 1, true, true, false, true, 65536, true},
  };
  ZSTD_CCtx *c = ZSTD_createCCtx();
  std::vector<uint8_t> buf;
  std::printf("%-38s %16s %16s %16s\n", "variant (% of raw, MB/s, 1 thread)", "BF16", "F32", "F16");
  for (const Variant &v : variants) {
    std::printf("%-38s", v.name);
    for (const Data &d : data) {
      size_t total = 0;
      const auto start = std::chrono::steady_clock::now();
      for (size_t off = 0; off < d.bytes.size(); off += v.chunk) {
        const size_t n = std::min(v.chunk, d.bytes.size() - off);
        if (v.literal_only) {
          const bool rotate = v.rotate && std::strcmp(d.name, "F16") != 0;
          const std::vector<uint8_t> g = grouped(d.bytes.data() + off, n, d.width, rotate);
          total += compress_literal_only(c, g.data(), n, d.width, buf);
        } else if (v.group) {
          const std::vector<uint8_t> g = grouped(d.bytes.data() + off, n, d.width, v.rotate);
          total += compress(c, g.data(), n, d.width, v, buf);
        } else {
          total += compress(c, d.bytes.data() + off, n, d.width, v, buf);
        }
      }
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("   %6.2f%% %5.0f",
                  100.0 * static_cast<double>(total) / static_cast<double>(d.bytes.size()),
                  static_cast<double>(d.bytes.size()) / s / 1e6);
    }
    std::printf("\n");
  }
  std::printf("%-38s", "order-0 entropy of the streams");
  for (const Data &d : data)
    std::printf("   %6.2f%%      ", entropy_bound(d.bytes, d.width, false));
  std::printf("\n%-38s", "  same, sign rotated");
  for (const Data &d : data) std::printf("   %6.2f%%      ", entropy_bound(d.bytes, d.width, true));
  std::printf("\n");
  ZSTD_freeCCtx(c);
  return 0;
}
