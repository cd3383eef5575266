/*
 * Bare-metal port: a millisecond clock on SysTick, the time every smpfota entry point takes.
 * The counter wraps after 49.7 days; smpfota compares times by difference, so a wrap is
 * harmless. SysTick is in every Cortex-M, so this file ports unchanged; only the core clock
 * frequency is the board's.
 */
#ifndef SMPFOTA_BAREMETAL_CLOCK_H
#define SMPFOTA_BAREMETAL_CLOCK_H

#include <stdint.h>

/* Start a 1 kHz SysTick interrupt from the processor clock (cpu_hz / 1000 must fit 24 bits:
 * any core up to 16.7 GHz). */
void smpfota_bm_clock_init(uint32_t cpu_hz);

/* Milliseconds since smpfota_bm_clock_init(). */
uint32_t smpfota_bm_now_ms(void);

#endif /* SMPFOTA_BAREMETAL_CLOCK_H */
