/* SPDX-License-Identifier: Apache-2.0 */
/* Opens the blob that statepack_add_blob packed at build time with the installed CLI and
 * linked in as a C array, and verifies it. Exit 0 on success. */
#include <stdio.h>

#include "statepack/statepack.h"
#include "tiny_mlp.h"

int main(void) {
  spk_blob blob;
  const spk_status s = spk_open(&blob, tiny_mlp, tiny_mlp_size, SPK_OPEN_VERIFY_SEGMENTS);
  if (s != SPK_OK) {
    printf("embedded_blob: %s\n", spk_status_str(s));
    return 1;
  }
  printf("embedded_blob: %u tensors, verified\n", spk_tensor_count(&blob));
  return 0;
}
