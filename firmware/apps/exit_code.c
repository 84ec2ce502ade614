/* SPDX-License-Identifier: Apache-2.0 */
/* Proves the test harness: QEMU's exit status is what main returns (through semihosting's
 * SYS_EXIT_EXTENDED), so a failing firmware test fails its ctest test. */
#include "board/console.h"

int main(void) {
  console_puts("exit_code: returning 42\n");
  return 42;
}
