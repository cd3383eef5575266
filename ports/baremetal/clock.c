/* Bare-metal port: SysTick millisecond clock (see clock.h). */
#include "baremetal/clock.h"

#include "baremetal/cortex_m.h"

void SysTick_Handler(void);

/* The one piece of global state of the port: the interrupt handler has no context
 * pointer. Written by the handler only; a 32-bit read is atomic. */
static volatile uint32_t ticks;

void SysTick_Handler(void)
{
	ticks = ticks + 1U;
}

void smpfota_bm_clock_init(uint32_t cpu_hz)
{
	SMPFOTA_BM_SYST_CSR = 0;
	SMPFOTA_BM_SYST_RVR = cpu_hz / 1000U - 1U;
	SMPFOTA_BM_SYST_CVR = 0;
	SMPFOTA_BM_SYST_CSR = SMPFOTA_BM_SYST_CSR_ENABLE | SMPFOTA_BM_SYST_CSR_TICKINT |
			      SMPFOTA_BM_SYST_CSR_CLKSOURCE;
}

uint32_t smpfota_bm_now_ms(void)
{
	return ticks;
}
