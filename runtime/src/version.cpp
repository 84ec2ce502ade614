// SPDX-License-Identifier: Apache-2.0
// The runtime library's version string, built from the macros in statepack.h so the two agree.
#include "statepack/statepack.h"

#define SPK_STRINGIFY_(x) #x
#define SPK_STRINGIFY(x) SPK_STRINGIFY_(x)

extern "C" const char *spk_version(void) {
  return SPK_STRINGIFY(SPK_VERSION_MAJOR) "." SPK_STRINGIFY(SPK_VERSION_MINOR) "." SPK_STRINGIFY(
      SPK_VERSION_PATCH);
}
