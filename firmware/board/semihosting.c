/* SPDX-License-Identifier: Apache-2.0 */
/* Semihosting calls for Armv7-M: r0 = operation, r1 = parameter, BKPT 0xAB traps to the host,
 * which writes the result back to r0. Operation numbers are from Arm's semihosting spec. */
#include "board/semihosting.h"

#include <stdint.h>

enum {
  kSysWriteC = 0x03,
  kSysWrite0 = 0x04,
  kSysExit = 0x18,
  kSysExitExtended = 0x20,
  kAdpStoppedApplicationExit = 0x20026,
  kAdpStoppedRunTimeErrorUnknown = 0x20023
};

static uintptr_t semihosting_call(uintptr_t operation, uintptr_t parameter) {
  register uintptr_t r0 __asm__("r0") = operation;
  register uintptr_t r1 __asm__("r1") = parameter;
  /* "memory": the host reads the buffers r1 points to, so they must be written out first. */
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihosting_write0(const char *text) {
  semihosting_call(kSysWrite0, (uintptr_t)text);
}

void semihosting_writec(char c) {
  semihosting_call(kSysWriteC, (uintptr_t)&c);
}

void semihosting_exit(int code) {
  /* On 32-bit Arm, SYS_EXIT_EXTENDED takes a two-word block: reason and exit code. */
  const uintptr_t block[2] = {kAdpStoppedApplicationExit, (uintptr_t)(code & 0xFF)};
  semihosting_call(kSysExitExtended, (uintptr_t)block);
  /* Only reached if the host lacks SYS_EXIT_EXTENDED: the plain call takes the reason alone. */
  semihosting_call(kSysExit,
                   code == 0 ? kAdpStoppedApplicationExit : kAdpStoppedRunTimeErrorUnknown);
  for (;;) {
  }
}
