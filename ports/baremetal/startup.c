/* Bare-metal port: reset, core exception vectors, stack painting (see startup.h). */
#include "baremetal/startup.h"

#include "baremetal/cortex_m.h"

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];
extern const smpfota_bm_vector __vectors_start[];

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void smpfota_bm_unused_handler(void);

/* Core exceptions a firmware may define (SysTick is the port's clock, clock.c). */
void NMI_Handler(void) __attribute__((weak, alias("smpfota_bm_fault_handler")));
void HardFault_Handler(void) __attribute__((weak, alias("smpfota_bm_fault_handler")));
void MemManage_Handler(void) __attribute__((weak, alias("smpfota_bm_fault_handler")));
void BusFault_Handler(void) __attribute__((weak, alias("smpfota_bm_fault_handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("smpfota_bm_fault_handler")));
void SecureFault_Handler(void) __attribute__((weak, alias("smpfota_bm_fault_handler")));
void SVC_Handler(void) __attribute__((weak, alias("smpfota_bm_unused_handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("smpfota_bm_unused_handler")));
void PendSV_Handler(void) __attribute__((weak, alias("smpfota_bm_unused_handler")));
void SysTick_Handler(void) __attribute__((weak, alias("smpfota_bm_unused_handler")));

__attribute__((section(".vectors.core"), used))
const smpfota_bm_vector smpfota_bm_core_vectors[16] = {
	(smpfota_bm_vector)(uintptr_t)__stack_top,
	Reset_Handler,
	NMI_Handler,
	HardFault_Handler,
	MemManage_Handler,
	BusFault_Handler,
	UsageFault_Handler,
	SecureFault_Handler,
	0,
	0,
	0,
	SVC_Handler,
	DebugMon_Handler,
	0,
	PendSV_Handler,
	SysTick_Handler,
};

void smpfota_bm_unused_handler(void)
{
}

__attribute__((weak)) void smpfota_bm_on_fault(uint32_t exception)
{
	(void)exception;
}

void smpfota_bm_fault_handler(void)
{
	uint32_t ipsr;
	__asm volatile("mrs %0, ipsr" : "=r"(ipsr));
	smpfota_bm_on_fault(ipsr & 0x1FFU);
	for (;;) {
		smpfota_bm_wait_for_interrupt();
	}
}

void smpfota_bm_system_reset(void)
{
	__asm volatile("dsb" ::: "memory");
	SMPFOTA_BM_SCB_AIRCR = SMPFOTA_BM_AIRCR_VECTKEY | SMPFOTA_BM_AIRCR_SYSRESETREQ;
	__asm volatile("dsb" ::: "memory");
	for (;;) {
	}
}

size_t smpfota_bm_stack_size(void)
{
	return (size_t)((uintptr_t)__stack_top - (uintptr_t)__stack_limit);
}

size_t smpfota_bm_stack_high_water(void)
{
	const volatile uint32_t *p = __stack_limit;
	while (p < __stack_top && *p == SMPFOTA_BM_STACK_PAINT) {
		p++;
	}
	return (size_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

/* Runs before .data and .bss exist: touches only linker symbols and locals. Naked stack
 * use is limited to this frame, which the painting loop stays clear of. */
void Reset_Handler(void)
{
#if defined(__ARM_FP)
	/* CP10/CP11 full access: hard-float code may use the FPU registers anywhere. */
	SMPFOTA_BM_SCB_CPACR |= 0xFUL << 20;
	__asm volatile("dsb\n\tisb" ::: "memory");
#endif
	SMPFOTA_BM_SCB_VTOR = (uint32_t)(uintptr_t)__vectors_start;

	uint32_t *dst = __data_start;
	const uint32_t *src = __data_load;
	while (dst < __data_end) {
		*dst++ = *src++;
	}
	for (dst = __bss_start; dst < __bss_end; dst++) {
		*dst = 0;
	}

	/* Paint the stack below this frame (64 bytes of margin for it). */
	uintptr_t sp;
	__asm volatile("mov %0, sp" : "=r"(sp));
	for (dst = __stack_limit; (uintptr_t)dst < sp - 64U; dst++) {
		*dst = SMPFOTA_BM_STACK_PAINT;
	}
	__asm volatile("msr msplim, %0" ::"r"(__stack_limit));

	(void)main();
	for (;;) {
		smpfota_bm_wait_for_interrupt();
	}
}
