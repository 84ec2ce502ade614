/* SPDX-License-Identifier: Apache-2.0 */
/* Reads a blob file with the installed runtime: opens it with every segment checked, then
 * decodes every tensor to floats, through the zstd add-on when the tensor is compressed.
 * Usage: read_blob FILE.spk. Prints the tensor count and how many were compressed; exit 0 if
 * everything decoded. */
#include <stdio.h>

#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"

enum { kMaxBlob = 1 << 20, kMaxValues = 1 << 16, kWorkspace = 1 << 20 };

static unsigned char data[kMaxBlob];
static unsigned char workspace[kWorkspace];
static float values[kMaxValues];

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (f == NULL) return 2;
  const size_t size = fread(data, 1, sizeof data, f);
  fclose(f);
  spk_blob blob;
  spk_status s = spk_open(&blob, data, size, SPK_OPEN_VERIFY_SEGMENTS);
  if (s == SPK_OK && spk_zstd_blob_workspace_size(&blob) > sizeof workspace) {
    s = SPK_ERR_BUFFER_TOO_SMALL;
  }
  unsigned compressed = 0;
  for (uint32_t i = 0; s == SPK_OK && i < spk_tensor_count(&blob); ++i) {
    spk_tensor t;
    s = spk_tensor_at(&blob, i, &t);
    if (s == SPK_OK && t.element_count > kMaxValues) s = SPK_ERR_BUFFER_TOO_SMALL;
    if (s == SPK_OK && t.codec == SPK_CODEC_RAW) s = spk_dequantize(&t, values, kMaxValues);
    if (s == SPK_OK && t.codec != SPK_CODEC_RAW) {
      s = spk_zstd_dequantize(&t, workspace, sizeof workspace, values, kMaxValues);
      ++compressed;
    }
  }
  if (s != SPK_OK) {
    printf("read_blob: %s: %s\n", argv[1], spk_status_str(s));
    return 1;
  }
  printf("read_blob: %u tensors decoded, %u compressed\n", spk_tensor_count(&blob), compressed);
  return 0;
}
