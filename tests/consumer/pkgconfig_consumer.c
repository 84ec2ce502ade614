/* SPDX-License-Identifier: Apache-2.0 */
/* Built with nothing but `pkg-config --cflags --libs statepack-runtime` and a C compiler:
 * reads a blob file into memory, opens and verifies it. Usage: pkgconfig_consumer BLOB */
#include <stdio.h>
#include <stdlib.h>

#include "statepack/statepack.h"

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (f == NULL) return 1;
  static unsigned char data[1 << 16];
  const size_t size = fread(data, 1, sizeof data, f);
  fclose(f);
  spk_blob blob;
  spk_status s = spk_open(&blob, data, size, SPK_OPEN_VERIFY_SEGMENTS);
  printf("pkgconfig_consumer: %s, %u tensors\n", spk_status_str(s), spk_tensor_count(&blob));
  return s == SPK_OK ? 0 : 1;
}
