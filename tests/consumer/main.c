/* SPDX-License-Identifier: Apache-2.0 */
/* C consumer of an installed statepack: opens the blob linked in by statepack_add_blob,
 * verifies it and decodes one tensor. Exit 0 on success. */
#include <stdio.h>

#include "model.h"
#include "statepack/statepack.h"

static float values[1024];

int main(void) {
  spk_blob blob;
  spk_tensor t;
  spk_status s = spk_open(&blob, model, model_size, 0);
  if (s == SPK_OK) s = spk_verify(&blob);
  if (s == SPK_OK) s = spk_find(&blob, "0.weight", &t);
  if (s == SPK_OK) s = spk_dequantize(&t, values, sizeof values / sizeof values[0]);
  if (s != SPK_OK) {
    printf("consumer_c: %s\n", spk_status_str(s));
    return 1;
  }
  printf("consumer_c: %u tensors, 0.weight[0] = %g\n", spk_tensor_count(&blob), values[0]);
  return 0;
}
