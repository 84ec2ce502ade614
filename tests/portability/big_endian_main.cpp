// SPDX-License-Identifier: Apache-2.0
// Device half of the big-endian test: built with a big-endian cross compiler (s390x) from the
// runtime's sources and the zstd add-on's (linked with Debian's s390x libzstd) and run under
// qemu-user. Checks that the runtime reads little-endian blobs correctly on a big-endian host:
// xxHash known answers, spk_open with every segment verified, the stream verifier, every
// tensor's fields, spk_dequantize / spk_dequantize_rows / spk_quant_param giving the host's
// values bit for bit, and the add-on decoding compressed tensors (byte-grouped chunks written
// on a little-endian host) to the host's stored bytes and values.
#include <cstdio>
#include <cstring>
#include <vector>

#include "big_endian_expected.hpp"
#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"

namespace {

int failures = 0;
int zstd_tensors = 0;  // compressed tensors the add-on decoded

#define EXPECT(cond, ...)                                           \
  do {                                                              \
    if (!(cond)) {                                                  \
      ++failures;                                                   \
      std::printf("FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                     \
      std::printf("\n");                                            \
    }                                                               \
  } while (0)

uint64_t values_hash(const std::vector<float> &values) {
  std::vector<unsigned char> le(values.size() * 4);
  for (size_t k = 0; k < values.size(); ++k) {
    uint32_t bits;
    std::memcpy(&bits, &values[k], 4);
    for (int j = 0; j < 4; ++j) le[4 * k + j] = static_cast<unsigned char>(bits >> (8 * j));
  }
  return spk_xxh64(le.data(), le.size(), 0);
}

uint64_t bytes_hash(const std::vector<unsigned char> &bytes, uint64_t size) {
  return spk_xxh64(bytes.data(), static_cast<size_t>(size), 0);
}

// The zstd add-on on one tensor: the stored bytes and the values, as the host decoded them.
void check_zstd(const ExpectedBlob &e, const ExpectedTensor &x, const spk_tensor &t) {
  EXPECT(t.codec == x.codec, "%s: %s codec", e.label, x.name);
  std::vector<unsigned char> workspace(spk_zstd_dequantize_workspace_size(&t) +
                                       spk_zstd_workspace_size(&t) + 1);
  std::vector<unsigned char> decoded(static_cast<size_t>(t.decoded_size) + 1);
  const spk_status decode =
      spk_zstd_decode(&t, workspace.data(), workspace.size(), decoded.data(), decoded.size());
  EXPECT(decode == SPK_OK, "%s: %s: spk_zstd_decode: %s", e.label, x.name, spk_status_str(decode));
  EXPECT(decode != SPK_OK || bytes_hash(decoded, t.decoded_size) == x.decoded_xxh64,
         "%s: %s: decoded bytes differ from the host's", e.label, x.name);
  std::vector<float> values(static_cast<size_t>(t.element_count));
  const spk_status status =
      spk_zstd_dequantize(&t, workspace.data(), workspace.size(), values.data(), values.size());
  EXPECT(status == x.zstd_status, "%s: %s: spk_zstd_dequantize: %s", e.label, x.name,
         spk_status_str(status));
  EXPECT(status != SPK_OK || values_hash(values) == x.zstd_values_xxh64,
         "%s: %s: zstd values differ from the host's", e.label, x.name);
  // Too small a workspace is refused, never overrun.
  if (t.codec != SPK_CODEC_RAW) {
    ++zstd_tensors;
    EXPECT(spk_zstd_decode(&t, workspace.data(), spk_zstd_workspace_size(&t) - 1, decoded.data(),
                           decoded.size()) == SPK_ERR_BUFFER_TOO_SMALL,
           "%s: %s: short workspace", e.label, x.name);
  }
}

void check_blob(const ExpectedBlob &e) {
  spk_blob blob;
  const spk_status open = spk_open(&blob, e.bytes, e.size, SPK_OPEN_VERIFY_SEGMENTS);
  EXPECT(open == SPK_OK, "%s: spk_open: %s", e.label, spk_status_str(open));
  if (open != SPK_OK) return;
  EXPECT(spk_tensor_count(&blob) == e.tensor_count, "%s", e.label);
  EXPECT(spk_metadata_count(&blob) == e.metadata_count, "%s", e.label);

  // The stream verifier, fed in 7-byte chunks.
  static unsigned char header[1 << 16];
  spk_stream stream;
  spk_stream_begin(&stream, header, sizeof header);
  for (size_t pos = 0; pos < e.size; pos += 7) {
    spk_stream_feed(&stream, e.bytes + pos, e.size - pos < 7 ? e.size - pos : 7);
  }
  const spk_status streamed = spk_stream_finish(&stream);
  EXPECT(streamed == SPK_OK, "%s: stream: %s", e.label, spk_status_str(streamed));

  for (uint32_t i = 0; i < e.tensor_count; ++i) {
    const ExpectedTensor &x = e.tensors[i];
    spk_tensor t;
    EXPECT(spk_find(&blob, x.name, &t) == SPK_OK, "%s: %s not found", e.label, x.name);
    EXPECT(t.index == i, "%s: %s", e.label, x.name);
    EXPECT(t.dtype == x.dtype && t.quant.scheme == x.scheme && t.rank == x.rank, "%s: %s", e.label,
           x.name);
    for (uint32_t d = 0; d < t.rank && d < 8; ++d) {
      EXPECT(t.shape[d] == x.shape[d], "%s: %s dim %u", e.label, x.name, d);
    }
    EXPECT(spk_verify_tensor(&blob, &t) == SPK_OK, "%s: %s", e.label, x.name);
    std::vector<float> values(static_cast<size_t>(t.element_count));
    const spk_status status = spk_dequantize(&t, values.data(), values.size());
    EXPECT(status == x.dequantize_status, "%s: %s: %s", e.label, x.name, spk_status_str(status));
    check_zstd(e, x, t);
    if (status != SPK_OK) continue;
    EXPECT(values_hash(values) == x.values_xxh64, "%s: %s: values differ from the host's", e.label,
           x.name);
    // Row by row gives the same values.
    const uint64_t rows = t.rank == 0 ? 1 : t.shape[0];
    if (rows > 0) {
      const uint64_t row_size = t.element_count / rows;
      std::vector<float> by_rows(values.size());
      for (uint64_t r = 0; r < rows; ++r) {
        EXPECT(spk_dequantize_rows(&t, r, 1, by_rows.data() + r * row_size,
                                   static_cast<size_t>(row_size)) == SPK_OK,
               "%s: %s row %llu", e.label, x.name, static_cast<unsigned long long>(r));
      }
      EXPECT(std::memcmp(by_rows.data(), values.data(), values.size() * 4) == 0, "%s: %s rows",
             e.label, x.name);
    }
    for (uint64_t k = 0; k < t.quant.scale_count; ++k) {
      float scale = 0;
      int32_t zero = 0;
      EXPECT(spk_quant_param(&t, k, &scale, &zero) == SPK_OK, "%s: %s", e.label, x.name);
    }
  }
  for (uint32_t i = 0; i < e.metadata_count; ++i) {
    spk_meta m;
    EXPECT(spk_metadata_at(&blob, i, &m) == SPK_OK, "%s", e.label);
  }
  spk_meta note;
  EXPECT(spk_metadata_find(&blob, "note", &note) == SPK_OK &&
             std::strcmp(note.string_value, "big-endian test") == 0,
         "%s: metadata", e.label);
}

}  // namespace

int main() {
  const uint16_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  std::printf("host byte order: %s\n", first == 0 ? "big-endian" : "little-endian");
  EXPECT(first == 0, "this test must run on a big-endian host");

  for (int i = 0; i < kXxhAnswerCount; ++i) {
    const XxhAnswer &a = kXxhAnswers[i];
    EXPECT(spk_xxh32(kXxhPattern, a.length, a.seed) == a.xxh32, "xxh32 length %zu seed %u",
           a.length, a.seed);
    EXPECT(spk_xxh64(kXxhPattern, a.length, a.seed) == a.xxh64, "xxh64 length %zu seed %u",
           a.length, a.seed);
    // Unaligned input too.
    static unsigned char shifted[2048];
    std::memcpy(shifted + 1, kXxhPattern, a.length);
    EXPECT(spk_xxh64(shifted + 1, a.length, a.seed) == a.xxh64, "unaligned xxh64 length %zu",
           a.length);
  }
  for (int b = 0; b < kBlobCount; ++b) check_blob(kBlobs[b]);
  EXPECT(zstd_tensors > 0, "no compressed tensor reached the zstd add-on");
  std::printf("%d xxhash answers, %d blobs, %d compressed tensors checked: %d failures\n",
              kXxhAnswerCount, kBlobCount, zstd_tensors, failures);
  return failures == 0 ? 0 : 1;
}
