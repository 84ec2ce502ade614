/* SPDX-License-Identifier: Apache-2.0 */
/* Checks a signed blob with the installed sign add-on, as firmware would before switching to
 * it: opens the blob, then spk_verify_signature under the 32-byte Ed25519 public key in KEY.
 * Usage: verify_signed BLOB.spk KEY.raw. Prints "signature ok" and exits 0 when the signature,
 * the header digest and every segment digest hold; prints the refusal and exits 1 otherwise. */
#include <stdio.h>

#include "statepack/statepack.h"
#include "statepack/statepack_sign.h"

enum { kMaxBlob = 1 << 20 };

static unsigned char data[kMaxBlob];

static size_t read_file(const char *path, unsigned char *out, size_t capacity) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  const size_t size = fread(out, 1, capacity, f);
  fclose(f);
  return size;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  uint8_t key[33];
  const size_t blob_size = read_file(argv[1], data, sizeof data);
  if (blob_size == 0 || read_file(argv[2], key, sizeof key) != 32) return 2;
  spk_blob blob;
  spk_status s = spk_open(&blob, data, blob_size, 0);
  if (s != SPK_OK) {
    printf("verify_signed: %s: %s\n", argv[1], spk_status_str(s));
    return 1;
  }
  s = spk_verify_signature(&blob, key);
  if (s != SPK_OK) {
    printf("verify_signed: %s: %s\n", argv[1], spk_sign_status_str(s));
    return 1;
  }
  printf("verify_signed: %s: signature ok\n", argv[1]);
  return 0;
}
