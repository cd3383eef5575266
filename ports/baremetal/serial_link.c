/* Bare-metal port: SMP serial transport over a UART driver (see serial_link.h). */
#include "baremetal/serial_link.h"

int smpfota_bm_serial_link_init(struct smpfota_bm_serial_link *l,
				const struct smpfota_bm_serial_link_config *cfg)
{
	if (l == NULL || cfg == NULL || cfg->uart == NULL || cfg->rx_buf == NULL ||
	    cfg->tx_buf == NULL || cfg->on_frame == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	l->uart = cfg->uart;
	l->tx_buf = cfg->tx_buf;
	l->tx_size = cfg->tx_size;
	l->line_max = cfg->line_max ? cfg->line_max : SMPFOTA_SERIAL_LINE_MAX;
	l->on_frame = cfg->on_frame;
	l->user = cfg->user;
	l->tx_packets = 0;
	smpfota_serial_rx_init(&l->rx, cfg->rx_buf, cfg->rx_size);
	return 0;
}

int smpfota_bm_serial_link_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct smpfota_bm_serial_link *l = ctx;
	if (l->uart->tx_busy(l->uart->ctx)) {
		return SMPFOTA_ERR_BUSY;
	}
	int n = smpfota_serial_encode(frame, len, l->line_max, l->tx_buf, l->tx_size);
	if (n < 0) {
		return n;
	}
	int rc = l->uart->write(l->uart->ctx, l->tx_buf, (size_t)n);
	if (rc == 0) {
		l->tx_packets++;
	}
	return rc;
}

int smpfota_bm_serial_link_poll(struct smpfota_bm_serial_link *l)
{
	int frames = 0;
	const uint8_t *p;
	uint32_t n;
	while ((n = smpfota_bm_ring_peek(l->uart->rx, &p)) > 0) {
		int rc = smpfota_serial_rx_feed_all(&l->rx, p, n, l->on_frame, l->user);
		smpfota_bm_ring_consume(l->uart->rx, n);
		if (rc < 0) {
			return rc;
		}
		frames += rc;
	}
	return frames;
}

bool smpfota_bm_serial_link_rx_pending(const struct smpfota_bm_serial_link *l)
{
	return smpfota_bm_ring_used(l->uart->rx) > 0;
}
