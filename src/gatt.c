/*
 * SMP over GATT: frames cut into ATT pieces and put back together from the SMP header's
 * length. The rules are in include/smpfota/gatt.h.
 */
#include "smpfota/gatt.h"
#include "util.h"

#include <string.h>

#define SMP_HDR 8U
#define SMP_SEQ 6U /* op, flags, length (2), group (2), seq, id */
#define DEFAULT_RX_TIMEOUT_MS 5000U

int smpfota_gatt_init(struct smpfota_gatt *g, const struct smpfota_gatt_config *cfg)
{
	if (g == NULL || cfg == NULL || cfg->ops.send == NULL || cfg->tx_buf == NULL ||
	    cfg->tx_size < SMP_HDR || cfg->rx_buf == NULL || cfg->rx_size < SMP_HDR ||
	    cfg->rx == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(g, 0, sizeof(*g));
	g->cfg = *cfg;
	if (g->cfg.tx_size > SMPFOTA_GATT_MAX_FRAME) {
		g->cfg.tx_size = SMPFOTA_GATT_MAX_FRAME;
	}
	if (g->cfg.rx_timeout_ms == 0) {
		g->cfg.rx_timeout_ms = DEFAULT_RX_TIMEOUT_MS;
	}
	g->att_mtu = SMPFOTA_GATT_MTU_MIN;
	return 0;
}

int smpfota_gatt_set_mtu(struct smpfota_gatt *g, uint16_t att_mtu)
{
	if (att_mtu < SMPFOTA_GATT_MTU_MIN || att_mtu > SMPFOTA_GATT_MTU_MAX) {
		return SMPFOTA_ERR_INVAL;
	}
	g->att_mtu = att_mtu;
	return 0;
}

/* An upload answer: the SMP header and {"off": n} (Zephyr's img_mgmt), about 20 bytes. */
#define ANSWER_LEN 20U
#define L2CAP_ATT_HDR (4U + SMPFOTA_GATT_ATT_HDR)
#define T_IFS_US 150U

/* On-air time of a data PDU with n payload octets (0: an empty PDU, without MIC), µs:
 * preamble (1 octet on LE 1M, 2 on LE 2M), access address 4, header 2, MIC 4, CRC 3. */
static uint32_t air_us(const struct smpfota_gatt_conn_params *p, uint32_t n)
{
	uint32_t bits = 8U * ((p->phy == 2U ? 2U : 1U) + 4U + 2U + n +
			      (n > 0 && p->encrypted ? 4U : 0U) + 3U);
	return p->phy == 2U ? bits / 2U : bits;
}

uint16_t smpfota_gatt_event_piece(const struct smpfota_gatt_conn_params *p)
{
	uint32_t max = (uint32_t)p->att_mtu - SMPFOTA_GATT_ATT_HDR;
	if (max + L2CAP_ATT_HDR > p->data_len) {
		return (uint16_t)max; /* several PDUs a piece */
	}
	uint32_t extra = air_us(p, ANSWER_LEN + L2CAP_ATT_HDR) - air_us(p, 0);
	uint32_t k = 0;
	/* Shorter pieces, as long as the same number of pairs fills an event, by at most a
	 * quarter of a pair's data spread over them (more would cost more than the pair). */
	for (uint32_t n = max; n > 0; n--) {
		uint32_t pair = air_us(p, n + L2CAP_ATT_HDR) + T_IFS_US + air_us(p, 0) + T_IFS_US;
		uint32_t fit = p->event_us / pair;
		k = k != 0 ? k : fit;
		if (fit == 0 || fit != k || (max - n) * k * 4U > max) {
			break;
		}
		if (fit * pair + extra <= p->event_us) {
			return (uint16_t)n;
		}
	}
	return (uint16_t)max;
}

void smpfota_gatt_set_piece(struct smpfota_gatt *g, uint16_t piece)
{
	g->piece = piece;
}

size_t smpfota_gatt_piece(const struct smpfota_gatt *g)
{
	size_t n = (size_t)g->att_mtu - SMPFOTA_GATT_ATT_HDR;
	return g->cfg.peer_reassembles && g->piece != 0 && g->piece < n ? g->piece : n;
}

int smpfota_gatt_set_data_len(struct smpfota_gatt *g, uint16_t octets)
{
	if (octets != 0U &&
	    (octets < SMPFOTA_GATT_DATA_LEN_MIN || octets > SMPFOTA_GATT_DATA_LEN_MAX)) {
		return SMPFOTA_ERR_INVAL;
	}
	g->data_len = octets;
	return 0;
}

/* The trickle's piece: one that fills a PDU below 251 octets (a smaller one would cost a whole
 * packet pair for less data), else the configured size. */
static size_t trickle_size(const struct smpfota_gatt *g)
{
	if (g->data_len != 0U && g->data_len < SMPFOTA_GATT_DATA_LEN_MAX) {
		return (size_t)g->data_len - L2CAP_ATT_HDR;
	}
	return g->cfg.trickle_piece;
}

size_t smpfota_gatt_mtu(const struct smpfota_gatt *g)
{
	size_t piece = (size_t)g->att_mtu - SMPFOTA_GATT_ATT_HDR;
	if (!g->cfg.peer_reassembles && piece < g->cfg.tx_size) {
		return piece;
	}
	return g->cfg.tx_size;
}

bool smpfota_gatt_trickling(const struct smpfota_gatt *g)
{
	/* only a peer that reassembles can take a frame in more pieces than it needs */
	return g->cfg.trickle_piece != 0 && g->cfg.peer_reassembles && g->tx_len != 0 &&
	       g->sent_n >= 2U;
}

/* A whole frame went to the stack: one more the peer has to answer. */
static void sent_push(struct smpfota_gatt *g, uint8_t seq)
{
	if (g->sent_n == SMPFOTA_GATT_UNANSWERED_MAX) {
		memmove(g->sent_seq, g->sent_seq + 1, SMPFOTA_GATT_UNANSWERED_MAX - 1U);
		g->sent_n--;
	}
	g->sent_seq[g->sent_n++] = seq;
}

/* An answer: its request and every older one (lost: answers come in order) are done. */
static void sent_answered(struct smpfota_gatt *g, uint8_t seq)
{
	for (uint8_t i = 0; i < g->sent_n; i++) {
		if (g->sent_seq[i] == seq) {
			g->sent_n = (uint8_t)(g->sent_n - i - 1U);
			memmove(g->sent_seq, g->sent_seq + i + 1, g->sent_n);
			return;
		}
	}
}

/* Hand the stack as many pieces of the current frame as it takes. */
static void pump(struct smpfota_gatt *g)
{
	if (g->hold && g->tx_off == 0) {
		return; /* a first piece held back after an answer (smpfota_gatt_set_hold()) */
	}
	while (g->tx_off < g->tx_len) {
		size_t n = smpfota_gatt_piece(g);
		if (smpfota_gatt_trickling(g) && n > trickle_size(g)) {
			n = trickle_size(g);
		}
		if (n > (size_t)(g->tx_len - g->tx_off)) {
			n = (size_t)(g->tx_len - g->tx_off);
		}
		int rc = g->cfg.ops.send(g->cfg.ops.ctx, g->cfg.tx_buf + g->tx_off, n);
		if (rc == SMPFOTA_ERR_BUSY) {
			g->stats.busy++;
			return;
		}
		if (rc < 0) {
			g->stats.send_errors++;
			g->tx_len = 0;
			return;
		}
		g->stats.pieces_tx++;
		g->tx_off += (uint32_t)n;
	}
	if (g->tx_len != 0) {
		g->stats.frames_tx++;
		if (g->cfg.trickle_piece != 0) {
			sent_push(g, g->cfg.tx_buf[SMP_SEQ]);
		}
		g->tx_len = 0;
	}
}

int smpfota_gatt_send(struct smpfota_gatt *g, const uint8_t *frame, size_t len)
{
	if (frame == NULL || len == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	if (len > smpfota_gatt_mtu(g)) {
		return SMPFOTA_ERR_MSGSIZE;
	}
	if (g->tx_len != 0) {
		return SMPFOTA_ERR_BUSY;
	}
	memcpy(g->cfg.tx_buf, frame, len);
	g->tx_len = (uint32_t)len;
	g->tx_off = 0;
	pump(g);
	return 0;
}

int smpfota_gatt_transport_send(void *ctx, const uint8_t *frame, size_t len)
{
	return smpfota_gatt_send(ctx, frame, len);
}

/* A piece that must begin a frame. */
static void rx_first(struct smpfota_gatt *g, const uint8_t *d, size_t len)
{
	uint32_t total;

	if (len < SMP_HDR) {
		g->stats.drop_short++;
		return;
	}
	total = SMP_HDR + util_get_be16(d + 2);
	/* reserved bits and ops 4..7: what the SMP codec refuses, so not a frame start */
	if ((d[0] & 0xe4U) != 0 || len > total || (g->cfg.whole_pieces && len != total)) {
		g->stats.drop_malformed++;
		return;
	}
	if (total > g->cfg.rx_size) {
		g->stats.drop_overflow++;
		g->rx_skip = true; /* its other pieces are data, not headers */
	} else {
		memcpy(g->cfg.rx_buf, d, len);
	}
	g->rx_len = (uint32_t)len;
	g->rx_total = total;
}

void smpfota_gatt_on_piece(struct smpfota_gatt *g, const uint8_t *data, size_t len, uint32_t now_ms)
{
	if (data == NULL || len == 0) {
		return;
	}
	g->stats.pieces_rx++;
	g->rx_at = now_ms;
	if (g->rx_len == 0) {
		rx_first(g, data, len);
	} else if (len > g->rx_total - g->rx_len) {
		if (!g->rx_skip) {
			g->stats.drop_truncated++;
		}
		g->rx_skip = false;
		g->rx_len = 0;
		rx_first(g, data, len);
	} else {
		if (!g->rx_skip) {
			memcpy(g->cfg.rx_buf + g->rx_len, data, len);
		}
		g->rx_len += (uint32_t)len;
	}
	if (g->rx_len != 0 && g->rx_len == g->rx_total) {
		g->rx_len = 0;
		if (g->rx_skip) {
			g->rx_skip = false;
			return;
		}
		g->stats.frames_rx++;
		sent_answered(g, g->cfg.rx_buf[SMP_SEQ]);
		if (g->hold_ms != 0 && g->tx_len == 0 &&
		    (g->cfg.ops.queued == NULL || g->cfg.ops.queued(g->cfg.ops.ctx) == 0)) {
			/* the next frame's first piece must not carry the answer's acknowledgement */
			g->hold = true;
			g->hold_at = now_ms;
		}
		(void)g->cfg.rx(g->cfg.user, g->cfg.rx_buf, g->rx_total);
	}
}

void smpfota_gatt_set_hold(struct smpfota_gatt *g, uint16_t hold_ms)
{
	g->hold_ms = hold_ms;
	g->hold = false;
}

int32_t smpfota_gatt_hold_left(const struct smpfota_gatt *g, uint32_t now_ms)
{
	if (!g->hold) {
		return -1;
	}
	return util_time_until(now_ms, g->hold_at + g->hold_ms);
}

void smpfota_gatt_poll(struct smpfota_gatt *g, uint32_t now_ms)
{
	if (g->hold && util_time_reached(now_ms, g->hold_at + g->hold_ms)) {
		g->hold = false;
	}
	if (g->rx_len != 0 && util_time_reached(now_ms, g->rx_at + g->cfg.rx_timeout_ms)) {
		if (!g->rx_skip) {
			g->stats.drop_timeout++;
		}
		g->rx_len = 0;
		g->rx_skip = false;
	}
	pump(g);
}

void smpfota_gatt_disconnected(struct smpfota_gatt *g)
{
	if ((g->rx_len != 0 && !g->rx_skip) || g->tx_len != 0) {
		g->stats.drop_reset++;
	}
	g->rx_len = 0;
	g->rx_skip = false;
	g->tx_len = 0;
	g->sent_n = 0;
	g->hold = false;
	g->att_mtu = SMPFOTA_GATT_MTU_MIN;
	g->piece = 0;
}

bool smpfota_gatt_rx_idle(const struct smpfota_gatt *g)
{
	return g->rx_len == 0;
}

bool smpfota_gatt_tx_idle(const struct smpfota_gatt *g)
{
	return g->tx_len == 0;
}
