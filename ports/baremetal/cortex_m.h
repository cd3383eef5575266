/*
 * Bare-metal port: the few Armv8-M core registers the port uses (SysTick, NVIC, SCB), so it
 * needs no vendor headers. Addresses and bits from the Armv8-M Architecture Reference
 * Manual (System Control Space, B11); the same on every Cortex-M33 (nRF5340, STM32U5, ...).
 */
#ifndef SMPFOTA_BAREMETAL_CORTEX_M_H
#define SMPFOTA_BAREMETAL_CORTEX_M_H

#include <stdint.h>

#define SMPFOTA_BM_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* SysTick */
#define SMPFOTA_BM_SYST_CSR SMPFOTA_BM_REG(0xE000E010UL)
#define SMPFOTA_BM_SYST_RVR SMPFOTA_BM_REG(0xE000E014UL)
#define SMPFOTA_BM_SYST_CVR SMPFOTA_BM_REG(0xE000E018UL)
#define SMPFOTA_BM_SYST_CSR_ENABLE 0x1U
#define SMPFOTA_BM_SYST_CSR_TICKINT 0x2U
#define SMPFOTA_BM_SYST_CSR_CLKSOURCE 0x4U /* 1: the processor clock */

/* NVIC: one bit per interrupt in 32-bit words */
#define SMPFOTA_BM_NVIC_ISER(n) SMPFOTA_BM_REG(0xE000E100UL + 4U * (n))
#define SMPFOTA_BM_NVIC_ICER(n) SMPFOTA_BM_REG(0xE000E180UL + 4U * (n))
#define SMPFOTA_BM_NVIC_ICPR(n) SMPFOTA_BM_REG(0xE000E280UL + 4U * (n))

/* SCB */
#define SMPFOTA_BM_SCB_VTOR SMPFOTA_BM_REG(0xE000ED08UL)
#define SMPFOTA_BM_SCB_AIRCR SMPFOTA_BM_REG(0xE000ED0CUL)
#define SMPFOTA_BM_SCB_CPACR SMPFOTA_BM_REG(0xE000ED88UL)
#define SMPFOTA_BM_AIRCR_VECTKEY 0x05FA0000UL
#define SMPFOTA_BM_AIRCR_SYSRESETREQ 0x4UL

static inline void smpfota_bm_irq_enable(unsigned irq)
{
	SMPFOTA_BM_NVIC_ICPR(irq / 32U) = 1UL << (irq % 32U);
	SMPFOTA_BM_NVIC_ISER(irq / 32U) = 1UL << (irq % 32U);
}

static inline void smpfota_bm_irq_disable(unsigned irq)
{
	SMPFOTA_BM_NVIC_ICER(irq / 32U) = 1UL << (irq % 32U);
	__asm volatile("dsb\n\tisb" ::: "memory");
}

/* PRIMASK: masks every configurable interrupt. */
static inline void smpfota_bm_irqs_off(void)
{
	__asm volatile("cpsid i" ::: "memory");
}

static inline void smpfota_bm_irqs_on(void)
{
	__asm volatile("cpsie i" ::: "memory");
}

/* Sleep until an interrupt is pending. Called with interrupts off (PRIMASK set), WFI still
 * wakes on a pending interrupt, so a check made just before cannot miss one. */
static inline void smpfota_bm_wait_for_interrupt(void)
{
	__asm volatile("dsb\n\twfi" ::: "memory");
}

static inline void smpfota_bm_barrier(void)
{
	__asm volatile("" ::: "memory");
}

#endif /* SMPFOTA_BAREMETAL_CORTEX_M_H */
