/* SPDX-License-Identifier: Apache-2.0 */
/* Where board/console.h's text goes: semihosting on the board (console_semihosting.c), stdio
 * on the host (console_stdio.c), so that an app's source builds and runs on both unchanged. */
#ifndef STATEPACK_BOARD_CONSOLE_BACKEND_H
#define STATEPACK_BOARD_CONSOLE_BACKEND_H

/* Writes a NUL-terminated string. */
void console_backend_write(const char *text);

/* Writes one character. */
void console_backend_writec(char c);

#endif /* STATEPACK_BOARD_CONSOLE_BACKEND_H */
