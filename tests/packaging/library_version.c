/* SPDX-License-Identifier: Apache-2.0 */
/* Prints the version of the runtime that is linked in (spk_version()) and the blob format it
 * reads, and fails if the library and the header it was compiled against disagree. Used by
 * versions_test.sh (the build tree) and by the installed-package consumer. */
#include <stdio.h>
#include <string.h>

#include "statepack/format.h"
#include "statepack/statepack.h"

#define STR_(x) #x
#define STR(x) STR_(x)

int main(void) {
  const char *header = STR(SPK_VERSION_MAJOR) "." STR(SPK_VERSION_MINOR) "." STR(SPK_VERSION_PATCH);
  if (strcmp(spk_version(), header) != 0) {
    printf("library %s, but header %s\n", spk_version(), header);
    return 1;
  }
  printf("library %s, blob format %u.%u\n", spk_version(), SPK_FORMAT_MAJOR, SPK_FORMAT_MINOR);
  return 0;
}
