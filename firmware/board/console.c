/* SPDX-License-Identifier: Apache-2.0 */
/* Number formatting into a small stack buffer, each printed with one backend write (on the
 * board a semihosting call, which is slow: one per number, not one per digit). */
#include "board/console.h"

#include "console_backend.h"

void console_puts(const char *text) {
  console_backend_write(text);
}

void console_put_padded(const char *text, unsigned width) {
  unsigned length = 0;
  while (text[length] != '\0') ++length;
  console_backend_write(text);
  for (; length < width; ++length) console_backend_writec(' ');
}

void console_put_u64(uint64_t value) {
  char text[21];
  char *p = text + sizeof text - 1;
  *p = '\0';
  do {
    *--p = (char)('0' + value % 10u);
    value /= 10u;
  } while (value != 0);
  console_backend_write(p);
}

void console_put_i64(int64_t value) {
  if (value < 0) {
    console_backend_writec('-');
    console_put_u64((uint64_t)0 - (uint64_t)value);
  } else {
    console_put_u64((uint64_t)value);
  }
}

void console_put_hex(uint64_t value, unsigned digits) {
  static const char kHex[] = "0123456789abcdef";
  char text[17];
  if (digits > 16) digits = 16;
  text[digits] = '\0';
  for (unsigned i = digits; i > 0; --i) {
    text[i - 1] = kHex[value & 15u];
    value >>= 4;
  }
  console_backend_write(text);
}

void console_put_f32(float value, unsigned decimals) {
  if (value != value) {
    console_puts("nan");
    return;
  }
  if (value < 0.0f) {
    console_backend_writec('-');
    value = -value;
  }
  if (value > 1e18f) {
    console_puts("inf");
    return;
  }
  if (decimals > 9) decimals = 9;
  uint64_t scale = 1;
  for (unsigned i = 0; i < decimals; ++i) scale *= 10u;
  /* Fixed point in double precision, so 9 decimals of a float survive the scaling. */
  const uint64_t fixed = (uint64_t)((double)value * (double)scale + 0.5);
  console_put_u64(fixed / scale);
  if (decimals == 0) return;
  console_backend_writec('.');
  uint64_t fraction = fixed % scale;
  char text[10];
  text[decimals] = '\0';
  for (unsigned i = decimals; i > 0; --i) {
    text[i - 1] = (char)('0' + fraction % 10u);
    fraction /= 10u;
  }
  console_backend_write(text);
}
