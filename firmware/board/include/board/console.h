/* SPDX-License-Identifier: Apache-2.0 */
/* Text output for firmware apps without printf: newlib's stdio would pull in malloc (its FILE
 * buffers), and the images built here must prove that nothing does. Everything goes out
 * through semihosting. */
#ifndef STATEPACK_BOARD_CONSOLE_H
#define STATEPACK_BOARD_CONSOLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A NUL-terminated string. */
void console_puts(const char *text);

/* `text`, left-aligned and padded with spaces to `width` characters. */
void console_put_padded(const char *text, unsigned width);

/* An unsigned decimal number. */
void console_put_u64(uint64_t value);

/* A signed decimal number. */
void console_put_i64(int64_t value);

/* `value` in hexadecimal with `digits` digits (leading zeros), without a prefix. */
void console_put_hex(uint64_t value, unsigned digits);

/* A float as [-]int.frac with `decimals` (0..9) decimals, rounded; "nan"/"inf" as such. */
void console_put_f32(float value, unsigned decimals);

#ifdef __cplusplus
}
#endif

#endif /* STATEPACK_BOARD_CONSOLE_H */
