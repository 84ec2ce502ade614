/* SPDX-License-Identifier: Apache-2.0 */
/* Measures how much stack a call really uses, on the target: the free stack below the caller
 * is painted with a pattern, the call runs, and the deepest word it overwrote tells its peak.
 * This confirms on the real image (library code included) the bound that the -fstack-usage
 * report computes from the call graph. */
#ifndef STATEPACK_BOARD_STACK_PROBE_H
#define STATEPACK_BOARD_STACK_PROBE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Runs fn(context) and returns the peak stack it used, in bytes, counted from the stack
 * pointer at the call (the frame of fn itself included). Interrupts must be off. */
uint32_t stack_probe_measure(void (*fn)(void *context), void *context);

#ifdef __cplusplus
}
#endif

#endif /* STATEPACK_BOARD_STACK_PROBE_H */
