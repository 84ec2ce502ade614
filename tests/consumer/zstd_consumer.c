/* SPDX-License-Identifier: Apache-2.0 */
/* Consumer of the installed zstd add-on (statepack::runtime_zstd, or pkg-config's
 * statepack-runtime-zstd): decodes every tensor of a blob packed with --compress zstd and
 * compares the values with those of the same checkpoint packed raw. At least one tensor must
 * really be compressed. Usage: zstd_consumer COMPRESSED.spk RAW.spk; exit 0 if all agree. */
#include <stdio.h>
#include <string.h>

#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"

enum { kMaxBlob = 1 << 16, kMaxValues = 1024, kWorkspace = 1 << 19 };

static unsigned char compressed_data[kMaxBlob], raw_data[kMaxBlob];
static unsigned char workspace[kWorkspace];
static float decoded[kMaxValues], expected[kMaxValues];

static size_t read_file(const char *path, unsigned char *data) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  const size_t size = fread(data, 1, kMaxBlob, f);
  fclose(f);
  return size;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  spk_blob compressed, raw;
  const size_t compressed_size = read_file(argv[1], compressed_data);
  const size_t raw_size = read_file(argv[2], raw_data);
  if (spk_open(&compressed, compressed_data, compressed_size, SPK_OPEN_VERIFY_SEGMENTS) != SPK_OK ||
      spk_open(&raw, raw_data, raw_size, SPK_OPEN_VERIFY_SEGMENTS) != SPK_OK ||
      spk_zstd_blob_workspace_size(&compressed) > sizeof workspace) {
    printf("zstd_consumer: cannot open the blobs\n");
    return 1;
  }
  unsigned zstd_tensors = 0;
  for (uint32_t i = 0; i < spk_tensor_count(&compressed); ++i) {
    spk_tensor c, r;
    spk_status s = spk_tensor_at(&compressed, i, &c);
    if (s == SPK_OK) s = spk_find(&raw, c.name, &r);
    if (s == SPK_OK && c.element_count > kMaxValues) s = SPK_ERR_BUFFER_TOO_SMALL;
    if (s == SPK_OK) s = spk_zstd_dequantize(&c, workspace, sizeof workspace, decoded, kMaxValues);
    if (s == SPK_OK) s = spk_dequantize(&r, expected, kMaxValues);
    if (s != SPK_OK) {
      printf("zstd_consumer: tensor %u: %s\n", (unsigned)i, spk_status_str(s));
      return 1;
    }
    if (memcmp(decoded, expected, (size_t)c.element_count * sizeof(float)) != 0) {
      printf("zstd_consumer: %s decodes to other values\n", c.name);
      return 1;
    }
    if (c.codec == SPK_CODEC_ZSTD) ++zstd_tensors;
  }
  printf("zstd_consumer: ok, %u zstd tensors decoded\n", zstd_tensors);
  return zstd_tensors > 0 ? 0 : 1;
}
