/* SPDX-License-Identifier: Apache-2.0 */
/* Built against the runtime compiled with STATEPACK_NO_STATUS_STRINGS: every status reads the
 * same short text, and the library's version agrees with the header it was compiled against. */
#include <stdio.h>
#include <string.h>

#include "statepack/statepack.h"

#define STR_(x) #x
#define STR(x) STR_(x)

int main(void) {
  static const char expected_version[] =
      STR(SPK_VERSION_MAJOR) "." STR(SPK_VERSION_MINOR) "." STR(SPK_VERSION_PATCH);
  const spk_status samples[] = {SPK_OK, SPK_ERR_NOT_FOUND, SPK_ERR_SEGMENT_CHECKSUM};
  size_t i;
  for (i = 0; i < sizeof samples / sizeof samples[0]; ++i) {
    const char *text = spk_status_str(samples[i]);
    if (strcmp(text, "statepack status") != 0) {
      printf("status %d reads \"%s\" in a build without status strings\n", (int)samples[i], text);
      return 1;
    }
  }
  if (strcmp(spk_version(), expected_version) != 0) {
    printf("library version %s, header version %s\n", spk_version(), expected_version);
    return 1;
  }
  printf("standalone runtime %s without status strings: ok\n", spk_version());
  return 0;
}
