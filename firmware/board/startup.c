/* SPDX-License-Identifier: Apache-2.0 */
/* Reset and fault handling for a Cortex-M4 on QEMU's mps2-an386: the vector table, a reset
 * handler that enables the FPU, copies .data from its load address, zeroes .bss, runs static
 * constructors and calls main, whose return value becomes QEMU's exit status (semihosting).
 * A fault prints its name and exits with status 3 instead of hanging the test. */
#include <stdint.h>

#include "board/console.h"
#include "board/semihosting.h"

/* From mps2_an386.ld. */
extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top__[];
extern void (*__init_array_start[])(void), (*__init_array_end[])(void);

int main(void);

__attribute__((noreturn)) void Reset_Handler(void);
__attribute__((noreturn)) void Fault_Handler(void);

enum { kFaultExitCode = 3 };

/* Armv7-M: initial stack pointer, then the 15 system exceptions. Interrupts are not used. */
__attribute__((section(".isr_vector"), used)) static void (*const vector_table[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top__,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0,             /* reserved */
    0,             /* reserved */
    0,             /* reserved */
    0,             /* reserved */
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMonitor */
    0,             /* reserved */
    Fault_Handler, /* PendSV */
    Fault_Handler, /* SysTick */
};

void Reset_Handler(void) {
  /* CPACR: full access to CP10/CP11 before any floating-point instruction (hard-float ABI). */
  volatile uint32_t *const cpacr = (volatile uint32_t *)0xE000ED88u;
  *cpacr |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");

  /* Word copies through volatile pointers, so the compiler cannot turn them into memcpy or
   * memset calls that might use the FPU or run before .data exists. */
  volatile uint32_t *dst = __data_start__;
  const volatile uint32_t *src = __data_load__;
  while (dst < __data_end__) *dst++ = *src++;
  for (volatile uint32_t *p = __bss_start__; p < __bss_end__; ++p) *p = 0;

  for (void (**init)(void) = __init_array_start; init < __init_array_end; ++init) (*init)();

  semihosting_exit(main());
}

void Fault_Handler(void) {
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  console_puts("\n*** fault: exception ");
  console_put_u64(ipsr & 0x1FFu);
  console_puts(" (3 HardFault, 4 MemManage, 5 BusFault, 6 UsageFault)\n");
  semihosting_exit(kFaultExitCode);
}
