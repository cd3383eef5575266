/*
 * Bare-metal port: SMP over a UART (console framing, smpfota/serial.h), as the client
 * engine's transport.
 *
 * Send: one SMP frame is encoded whole into tx_buf and handed to the UART; while that
 * packet is still going out, send returns SMPFOTA_ERR_BUSY and the client engine tries
 * again on its next poll. Receive: smpfota_bm_serial_link_poll() feeds the bytes the UART's
 * receive interrupt put in its ring to the framing decoder, in place, and calls on_frame for
 * each SMP payload that passes the length and CRC checks (console text from the target, a
 * boot banner, is dropped by the decoder and counted).
 */
#ifndef SMPFOTA_BAREMETAL_SERIAL_LINK_H
#define SMPFOTA_BAREMETAL_SERIAL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "baremetal/uart.h"
#include "smpfota/serial.h"

struct smpfota_bm_serial_link {
	const struct smpfota_bm_uart *uart;
	struct smpfota_serial_rx rx; /* decoder (its stats say what was dropped) */
	uint8_t *tx_buf;
	size_t tx_size;
	size_t line_max;
	smpfota_serial_frame_fn on_frame;
	void *user;
	uint32_t tx_packets;
};

struct smpfota_bm_serial_link_config {
	const struct smpfota_bm_uart *uart;
	uint8_t *rx_buf; /* reassembly buffer: the largest SMP payload accepted */
	size_t rx_size;
	uint8_t *tx_buf; /* one encoded packet: smpfota_serial_encoded_size(mtu, line_max) */
	size_t tx_size;
	size_t line_max; /* 0 = SMPFOTA_SERIAL_LINE_MAX (127, as Zephyr) */
	smpfota_serial_frame_fn on_frame;
	void *user;
};

/* Everything cfg points to, and l, must outlive the link. SMPFOTA_ERR_INVAL on a NULL
 * buffer or callback. */
int smpfota_bm_serial_link_init(struct smpfota_bm_serial_link *l,
				const struct smpfota_bm_serial_link_config *cfg);

/* struct smpfota_client_transport.send: ctx is the link. */
int smpfota_bm_serial_link_send(void *ctx, const uint8_t *frame, size_t len);

/* Decode what has arrived; on_frame runs from here (never from an interrupt). Returns the
 * number of SMP payloads delivered, or on_frame's negative return. */
int smpfota_bm_serial_link_poll(struct smpfota_bm_serial_link *l);

/* Bytes are waiting in the receive ring (a main loop must not sleep then). */
bool smpfota_bm_serial_link_rx_pending(const struct smpfota_bm_serial_link *l);

#endif /* SMPFOTA_BAREMETAL_SERIAL_LINK_H */
