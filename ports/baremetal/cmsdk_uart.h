/*
 * Bare-metal port: driver for the ARM CMSDK APB UART (the UARTs of the MPS2/MPS3 FPGA boards
 * and QEMU's mps2-* machines; Arm DDI 0479C, "APB UART"). One-byte holding registers on each
 * side, separate receive and transmit interrupts, 8N1 with an integer baud divider (>= 16).
 *
 * The board's interrupt handlers call smpfota_bm_cmsdk_uart_rx_isr() and _tx_isr() for the
 * instance; everything else goes through the struct smpfota_bm_uart interface (uart.h).
 */
#ifndef SMPFOTA_BAREMETAL_CMSDK_UART_H
#define SMPFOTA_BAREMETAL_CMSDK_UART_H

#include <stdint.h>

#include "baremetal/uart.h"

struct smpfota_bm_cmsdk_uart {
	struct smpfota_bm_uart port; /* the interface for the link and the console */
	uintptr_t base;
	struct smpfota_bm_ring rx;
	const uint8_t *tx_next; /* bytes still to send (transmit interrupt) */
	volatile uint32_t tx_left;
	volatile bool tx_active;      /* until the last byte has left the holding register */
	volatile uint32_t rx_dropped; /* ring full or receive overrun */
};

/*
 * Program the UART at base (pclk_hz / baud >= 16) and enable its receive and transmit
 * interrupts in the UART; the board enables them in the NVIC. rx_buf (rx_size bytes, a
 * power of two) and u must outlive the driver.
 */
void smpfota_bm_cmsdk_uart_init(struct smpfota_bm_cmsdk_uart *u, uintptr_t base, uint32_t pclk_hz,
				uint32_t baud, uint8_t *rx_buf, uint32_t rx_size);

/* The receive and transmit interrupt handlers' work for this instance. */
void smpfota_bm_cmsdk_uart_rx_isr(struct smpfota_bm_cmsdk_uart *u);
void smpfota_bm_cmsdk_uart_tx_isr(struct smpfota_bm_cmsdk_uart *u);

#endif /* SMPFOTA_BAREMETAL_CMSDK_UART_H */
