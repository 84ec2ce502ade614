/* SPDX-License-Identifier: Apache-2.0 */
/* Arm semihosting: the debugger (here QEMU with -semihosting-config enable=on,target=native)
 * performs I/O for the program. The only channel a firmware test needs: text out, exit code
 * out. Each call traps with BKPT 0xAB, so it must only run under a debugger or QEMU. */
#ifndef STATEPACK_BOARD_SEMIHOSTING_H
#define STATEPACK_BOARD_SEMIHOSTING_H

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a NUL-terminated string to the host's console (SYS_WRITE0). */
void semihosting_write0(const char *text);

/* Writes one character to the host's console (SYS_WRITEC). */
void semihosting_writec(char c);

/* Ends the program; QEMU exits with `code` (0..255) as its own exit status. Uses
 * SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit; a host without that call gets SYS_EXIT,
 * which can only say success (code 0) or failure. */
__attribute__((noreturn)) void semihosting_exit(int code);

#ifdef __cplusplus
}
#endif

#endif /* STATEPACK_BOARD_SEMIHOSTING_H */
