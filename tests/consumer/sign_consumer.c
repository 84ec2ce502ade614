/* SPDX-License-Identifier: Apache-2.0 */
/* Consumer of the installed sign add-on (statepack::runtime_sign, or pkg-config's
 * statepack-runtime-sign): checks a blob's signature against a raw 32-byte public key file.
 * Usage: sign_consumer BLOB.spk KEY.raw; prints "sign_consumer: ok" or the failure's status. */
#include <stdio.h>

#include "statepack/statepack.h"
#include "statepack/statepack_sign.h"

enum { kMaxBlob = 1 << 16 };

static unsigned char blob_data[kMaxBlob];

static size_t read_file(const char *path, unsigned char *data, size_t capacity) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  const size_t size = fread(data, 1, capacity, f);
  fclose(f);
  return size;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  unsigned char key[32];
  const size_t size = read_file(argv[1], blob_data, kMaxBlob);
  if (read_file(argv[2], key, sizeof key) != sizeof key) return 2;
  spk_blob blob;
  spk_status status = spk_open(&blob, blob_data, size, SPK_OPEN_VERIFY_SEGMENTS);
  if (status == SPK_OK) status = spk_verify_signature(&blob, key);
  if (status != SPK_OK) {
    printf("sign_consumer: status %d (%s)\n", (int)status, spk_sign_status_str(status));
    return 1;
  }
  printf("sign_consumer: ok\n");
  return 0;
}
