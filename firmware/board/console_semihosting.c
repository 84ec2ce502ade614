/* SPDX-License-Identifier: Apache-2.0 */
/* The console on the board: the debugger's (QEMU's) stdout through semihosting. */
#include "board/semihosting.h"
#include "console_backend.h"

void console_backend_write(const char *text) {
  semihosting_write0(text);
}

void console_backend_writec(char c) {
  semihosting_writec(c);
}
