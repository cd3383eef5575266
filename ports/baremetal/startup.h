/*
 * Bare-metal port: reset and exception entry for any Armv8-M Mainline core (Cortex-M33).
 *
 * startup.c owns the first 16 vector table entries (stack top, reset, core exceptions) in
 * section .vectors.core; a board supplies its interrupt handlers as an array in section
 * .vectors.irq, which the linker script places right after (boards/mps2_an505/board.c).
 *
 * Reset_Handler: FPU access on (hard-float builds), .data copied from flash, .bss zeroed,
 * the stack painted with SMPFOTA_BM_STACK_PAINT (for the high-water mark below), MSPLIM set
 * to the stack's bottom (an overflow faults instead of overwriting .bss), VTOR pointed at the
 * table, then main(). No C library start-up code runs (no constructors, no heap).
 *
 * The linker script defines the symbols used here: __data_load, __data_start, __data_end,
 * __bss_start, __bss_end, __stack_limit, __stack_top, __vectors_start.
 */
#ifndef SMPFOTA_BAREMETAL_STARTUP_H
#define SMPFOTA_BAREMETAL_STARTUP_H

#include <stddef.h>
#include <stdint.h>

#define SMPFOTA_BM_STACK_PAINT 0xA5A5A5A5UL

typedef void (*smpfota_bm_vector)(void);

/* Size of the stack region given by the linker script. */
size_t smpfota_bm_stack_size(void);

/* Deepest stack use since reset, in bytes: the painted words nothing has overwritten are
 * counted from the bottom. Exact to a word, unless a function left a stack word holding the
 * paint pattern itself. */
size_t smpfota_bm_stack_high_water(void);

/* Called on a fault (HardFault, and the configurable faults, NMI) with the exception number
 * (IPSR), before the core halts in a loop. Weak: the default does nothing; a firmware may
 * print it. */
void smpfota_bm_on_fault(uint32_t exception);

/* Handler of the faults, and of interrupt vectors a board leaves unused: reports through
 * smpfota_bm_on_fault(), then halts. */
void smpfota_bm_fault_handler(void);

/* Reset the whole chip (SCB AIRCR.SYSRESETREQ). */
void smpfota_bm_system_reset(void) __attribute__((noreturn));

#endif /* SMPFOTA_BAREMETAL_STARTUP_H */
