/*
 * Bare-metal port: what the SMP serial link and the console need from a UART driver.
 * A driver (cmsdk_uart.c for the ARM CMSDK UART of the MPS2 boards; UARTE on an nRF5340)
 * fills this in; nothing above it touches registers.
 *
 * Receive: the driver's interrupt handler puts every byte into `rx` (ring.h), counting the
 * bytes it had to drop (ring full, or a hardware overrun). Transmit: one buffer at a time,
 * sent in the background by the transmit interrupt (or DMA); the buffer is the caller's and
 * must stay unchanged until tx_busy() says false. There is no transmit queue: SMP sends one
 * encoded packet at a time, and the console one line.
 */
#ifndef SMPFOTA_BAREMETAL_UART_H
#define SMPFOTA_BAREMETAL_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "baremetal/ring.h"

struct smpfota_bm_uart {
	/* Start sending buf[0..len). 0, or SMPFOTA_ERR_BUSY while a transmission runs. */
	int (*write)(void *ctx, const uint8_t *buf, size_t len);
	/* A transmission is in progress (its buffer is still in use). */
	bool (*tx_busy)(void *ctx);
	/* Send buf[0..len) by polling, interrupts not needed: for a fault report, where no
	 * interrupt of lower priority runs. Waits for a transmission in progress to end first
	 * when it can (it may be the one that faulted: then it is cut short). */
	void (*write_polled)(void *ctx, const uint8_t *buf, size_t len);
	void *ctx;
	struct smpfota_bm_ring *rx;    /* received bytes */
	volatile uint32_t *rx_dropped; /* bytes lost on receive, for diagnostics */
};

#endif /* SMPFOTA_BAREMETAL_UART_H */
