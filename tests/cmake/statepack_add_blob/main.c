/* SPDX-License-Identifier: Apache-2.0 */
/* Opens the blob statepack_add_blob linked in and prints what the test checks: the checksum
 * algorithm and alignment the ARGS asked for, whether the array honours that alignment, and the
 * tensor count. Exit 0 if the blob opens and verifies. */
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "statepack/statepack.h"

int main(void) {
  spk_blob blob;
  const spk_status s = spk_open(&blob, model, model_size, SPK_OPEN_VERIFY_SEGMENTS);
  if (s != SPK_OK) {
    printf("open: %s\n", spk_status_str(s));
    return 1;
  }
  printf("checksum=%s alignment=%u aligned=%s tensors=%u\n",
         spk_checksum_algo(&blob) == SPK_CHECKSUM_XXH32 ? "xxh32" : "xxh64", spk_alignment(&blob),
         (uintptr_t)model % spk_alignment(&blob) == 0 ? "yes" : "no", spk_tensor_count(&blob));
  return 0;
}
