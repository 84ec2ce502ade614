/* SPDX-License-Identifier: Apache-2.0 */
/* The console in a host build of a firmware app: stdout. */
#include <stdio.h>

#include "console_backend.h"

void console_backend_write(const char *text) {
  fputs(text, stdout);
}

void console_backend_writec(char c) {
  putchar(c);
}
