/* SPDX-License-Identifier: Apache-2.0 */
/* Stack painting. The stack grows down from __stack_top__ to __stack_limit__ (mps2_an386.ld). */
#include "board/stack_probe.h"

extern uint32_t __stack_limit__[];

enum { kPaint = 0x5A17C0DEu };

__attribute__((noinline)) uint32_t stack_probe_measure(void (*fn)(void *context), void *context) {
  uint32_t *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  /* Nothing lives below the stack pointer (the AAPCS has no red zone and interrupts are off),
   * so all of it can be painted. */
  for (volatile uint32_t *p = __stack_limit__; p < sp; ++p) *p = kPaint;
  fn(context);
  const volatile uint32_t *deepest = __stack_limit__;
  while (deepest < sp && *deepest == kPaint) ++deepest;
  return (uint32_t)((uintptr_t)sp - (uintptr_t)deepest);
}
