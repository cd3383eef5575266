/*
 * ESB link layer: SMP frames cut into ESB payloads and reassembled. Format, flow control and
 * failure policy are described in include/smpfota/esb_link.h.
 */
#include "smpfota/esb_link.h"
#include "util.h"

#include <string.h>

#define DEFAULT_POLL_INTERVAL_US 1000U
#define DEFAULT_POLL_TIMEOUT_US 3000000U
#define DEFAULT_BACKOFF_US 2000U
#define DEFAULT_MAX_TX_FAILURES 50U

enum rx_state {
	RX_IDLE = 0,   /* no frame known: every non-first fragment is an orphan */
	RX_ASSEMBLING, /* rx_id/rx_next: a frame being reassembled */
	RX_DONE,       /* rx_id/rx_next: the frame just delivered (for duplicates) */
	RX_DISCARD,    /* rx_id/rx_next: a frame being thrown away */
};

static bool is_ptx(const struct smpfota_esb_link *l)
{
	return l->cfg.role == SMPFOTA_ESB_PTX;
}

static void count_err(struct smpfota_esb_link *l, int rc)
{
	if (rc < 0) {
		l->stats.radio_errors++;
	}
}

/* ---- outgoing ring ------------------------------------------------------------------------ */

/* Copy n bytes between the ring (at offset off from its head) and buf, either way. */
static void ring_copy(const struct smpfota_esb_link *l, size_t off, uint8_t *buf, size_t n,
		      bool into_ring)
{
	size_t pos = (l->tx_head + off) % l->cfg.txq_size;
	size_t first = l->cfg.txq_size - pos;
	if (first > n) {
		first = n;
	}
	for (int part = 0; part < 2; part++) {
		uint8_t *ring = l->cfg.txq + (part ? 0 : pos);
		size_t k = part ? n - first : first;
		uint8_t *b = buf + (part ? first : 0);
		memcpy(into_ring ? ring : b, into_ring ? b : ring, k);
	}
}

/* Drop the frame at the ring's head; the next one gets a new id so that a receiver holding
 * part of this one sees the break. */
static void ring_pop(struct smpfota_esb_link *l)
{
	size_t n = 2U + l->cur_len;
	l->tx_head = (l->tx_head + n) % l->cfg.txq_size;
	l->tx_used -= n;
	l->cur_len = 0;
	l->cur_off = 0;
	l->cur_idx = 0;
	l->tx_id = (uint8_t)((l->tx_id + 1U) & SMPFOTA_ESB_ID_MASK);
}

/* ---- sending ------------------------------------------------------------------------------ */

static int write_payload(struct smpfota_esb_link *l)
{
	int rc = l->cfg.radio.write_payload(l->cfg.radio.ctx, &l->tx_pl);
	if (rc == SMPFOTA_ERR_NOMEM) {
		l->stats.fifo_full++;
	} else if (rc >= 0) {
		l->stats.packets_tx++;
	} else {
		count_err(l, rc);
	}
	return rc;
}

/* Cut the head frame's next fragment into tx_pl. */
static void build_fragment(struct smpfota_esb_link *l)
{
	struct smpfota_esb_payload *p = &l->tx_pl;
	bool first = l->cur_off == 0;
	size_t hdr = first ? SMPFOTA_ESB_FIRST_HDR_SIZE : SMPFOTA_ESB_HDR_SIZE;
	size_t room = l->cfg.radio.max_payload - hdr;
	size_t left = (size_t)l->cur_len - l->cur_off;
	size_t n = left < room ? left : room;
	uint8_t flags = 0;

	if (first) {
		flags |= SMPFOTA_ESB_FLAG_FIRST;
		p->data[2] = (uint8_t)(l->cur_len >> 8);
		p->data[3] = (uint8_t)l->cur_len;
	}
	if (n == left) {
		flags |= SMPFOTA_ESB_FLAG_LAST;
	}
	p->data[0] = (uint8_t)(flags | l->tx_id);
	p->data[1] = l->cur_idx;
	ring_copy(l, 2U + l->cur_off, p->data + hdr, n, false);
	p->length = (uint8_t)(hdr + n);
	p->pipe = l->cfg.pipe;
	p->noack = 0;
}

/* An answer may be due: until poll_timeout_us passes without a frame sent or received. No
 * count of frames in flight: a stale answer from before a restart, or two answers to a
 * retransmitted request, would fool it into stopping while an answer is still due. */
static bool want_poll(const struct smpfota_esb_link *l, uint32_t now)
{
	return l->linger && !util_time_reached(now, l->last_activity + l->cfg.poll_timeout_us);
}

static bool may_poll(const struct smpfota_esb_link *l)
{
	if (!want_poll(l, l->now) || !l->cfg.radio.is_idle(l->cfg.radio.ctx)) {
		return false;
	}
	if (l->flowing) {
		return true;
	}
	return util_time_reached(l->now, l->last_poll + l->cfg.poll_interval_us);
}

/* Fill the radio's TX FIFO with fragments (PTX packets or PRX ACK payloads); PTX: poll when
 * there is nothing else to send and an answer is due. */
static void pump(struct smpfota_esb_link *l)
{
	bool wrote = false;

	if (is_ptx(l) && (l->backoff || l->rx_stalled)) {
		return; /* a write would restart the radio early / bring ACK payloads we can't take */
	}
	for (;;) {
		if (l->cur_len == 0) {
			uint8_t b[2];
			if (l->tx_used == 0) {
				break;
			}
			ring_copy(l, 0, b, 2, false);
			l->cur_len = (uint16_t)((b[0] << 8) | b[1]);
		}
		build_fragment(l);
		if (write_payload(l) < 0) {
			return;
		}
		wrote = true;
		l->stats.frags_tx++;
		l->cur_off = (uint16_t)(l->cur_off + l->tx_pl.length -
					((l->tx_pl.data[0] & SMPFOTA_ESB_FLAG_FIRST)
						 ? SMPFOTA_ESB_FIRST_HDR_SIZE
						 : SMPFOTA_ESB_HDR_SIZE));
		l->cur_idx++;
		if (l->cur_off == l->cur_len) {
			ring_pop(l);
			l->stats.frames_tx++;
			l->last_activity = l->now;
			l->linger = true;
		}
	}
	if (!is_ptx(l) || wrote) {
		return;
	}
	if (!want_poll(l, l->now)) {
		l->linger = false;
		return;
	}
	if (may_poll(l)) {
		struct smpfota_esb_payload *p = &l->tx_pl;
		p->data[0] = 0;
		p->data[1] = 0;
		p->length = SMPFOTA_ESB_HDR_SIZE;
		p->pipe = l->cfg.pipe;
		p->noack = 0;
		if (write_payload(l) == 0) {
			l->stats.polls_tx++;
			l->flowing = false;
			l->last_poll = l->now;
		}
	}
}

/* ---- receiving ----------------------------------------------------------------------------- */

static void deliver(struct smpfota_esb_link *l)
{
	int rc = l->cfg.rx(l->cfg.user, l->cfg.rx_buf, l->rx_len);
	if (rc == SMPFOTA_ERR_BUSY) {
		l->rx_stalled = true;
		l->stats.rx_busy++;
		return;
	}
	l->rx_stalled = false;
	l->stats.frames_rx++;
	l->last_activity = l->now;
}

static void discard(struct smpfota_esb_link *l, uint8_t id, uint8_t idx)
{
	l->rx_state = RX_DISCARD;
	l->rx_id = id;
	l->rx_next = (uint8_t)(idx + 1U);
}

static void rx_fragment(struct smpfota_esb_link *l, const uint8_t *d, size_t n)
{
	uint8_t flags, id, idx;
	size_t hdr = SMPFOTA_ESB_HDR_SIZE;

	if (n < SMPFOTA_ESB_HDR_SIZE || n > l->cfg.radio.max_payload) {
		l->stats.drop_malformed++;
		return;
	}
	if (n == SMPFOTA_ESB_HDR_SIZE) {
		l->stats.polls_rx++;
		return;
	}
	flags = d[0] & (uint8_t)~SMPFOTA_ESB_ID_MASK;
	id = d[0] & SMPFOTA_ESB_ID_MASK;
	idx = d[1];
	if (flags & SMPFOTA_ESB_FLAG_RESERVED) {
		l->stats.drop_malformed++;
		return;
	}
	if (is_ptx(l)) {
		l->flowing = true; /* the PRX has more queued: poll again at once */
	}
	l->stats.frags_rx++;

	/* ESB repeats only recent packets, so "behind, within the FIFO depth" is a repeat */
	if (l->rx_state != RX_IDLE && id == l->rx_id &&
	    (uint8_t)(l->rx_next - idx - 1U) < SMPFOTA_ESB_DUP_WINDOW) {
		l->stats.drop_dup++;
		return;
	}
	if (flags & SMPFOTA_ESB_FLAG_FIRST) {
		uint16_t total;
		if (l->rx_state == RX_ASSEMBLING) {
			l->stats.drop_lost++;
		}
		hdr = SMPFOTA_ESB_FIRST_HDR_SIZE;
		total = (uint16_t)((d[2] << 8) | d[3]);
		if (idx != 0 || n <= hdr || total < n - hdr) {
			l->stats.drop_malformed++;
			discard(l, id, idx);
			return;
		}
		if (total > l->cfg.rx_size) {
			l->stats.drop_overflow++; /* refused before buffering a byte */
			discard(l, id, idx);
			return;
		}
		l->rx_state = RX_ASSEMBLING;
		l->rx_id = id;
		l->rx_total = total;
		l->rx_len = 0;
	} else if (l->rx_state == RX_ASSEMBLING && id != l->rx_id) {
		/* A stray fragment of another frame (a stale repeat; ESB itself is in order): it
		 * says nothing about the frame being assembled, which goes on. */
		l->stats.drop_orphan++;
		return;
	} else if (l->rx_state != RX_ASSEMBLING || id != l->rx_id || idx != l->rx_next) {
		if (l->rx_state == RX_DISCARD && id == l->rx_id && idx == l->rx_next) {
			l->stats.drop_discarded++;
		} else if (l->rx_state == RX_ASSEMBLING) {
			l->stats.drop_lost++;
		} else {
			l->stats.drop_orphan++;
		}
		discard(l, id, idx);
		return;
	}
	if (l->rx_len + (n - hdr) > l->rx_total) {
		l->stats.drop_malformed++; /* more data than the first fragment announced */
		discard(l, id, idx);
		return;
	}
	memcpy(l->cfg.rx_buf + l->rx_len, d + hdr, n - hdr);
	l->rx_len += n - hdr;
	l->rx_next = (uint8_t)(idx + 1U);
	if (flags & SMPFOTA_ESB_FLAG_LAST) {
		if (l->rx_len != l->rx_total) {
			l->stats.drop_malformed++; /* ended short: a corrupted LAST, not a frame */
			l->rx_state = RX_DISCARD;
			return;
		}
		l->rx_state = RX_DONE;
		deliver(l);
	}
}

/* Read the radio's RX FIFO dry, unless a frame is waiting for room (then leaving packets in
 * the FIFO is the back-pressure). */
static void drain(struct smpfota_esb_link *l)
{
	while (!l->rx_stalled) {
		int n = l->cfg.radio.read_rx_payload(l->cfg.radio.ctx, &l->rx_pl);
		if (n <= 0) {
			count_err(l, n);
			break;
		}
		l->stats.packets_rx++;
		rx_fragment(l, l->rx_pl.data, l->rx_pl.length);
	}
}

/* ---- API ---------------------------------------------------------------------------------- */

int smpfota_esb_link_init(struct smpfota_esb_link *l, const struct smpfota_esb_link_config *cfg,
			  uint32_t now_us)
{
	const struct smpfota_esb_radio *r;

	if (l == NULL || cfg == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	r = &cfg->radio;
	if ((cfg->role != SMPFOTA_ESB_PTX && cfg->role != SMPFOTA_ESB_PRX) ||
	    r->write_payload == NULL || r->read_rx_payload == NULL ||
	    r->max_payload < SMPFOTA_ESB_MIN_PAYLOAD || r->max_payload > SMPFOTA_ESB_MAX_PAYLOAD ||
	    cfg->txq == NULL || cfg->txq_size < 3U || cfg->rx_buf == NULL || cfg->rx_size == 0 ||
	    cfg->rx == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	if (cfg->role == SMPFOTA_ESB_PTX &&
	    (r->start_tx == NULL || r->flush_tx == NULL || r->is_idle == NULL)) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	if (l->cfg.poll_interval_us == 0) {
		l->cfg.poll_interval_us = DEFAULT_POLL_INTERVAL_US;
	}
	if (l->cfg.poll_timeout_us == 0) {
		l->cfg.poll_timeout_us = DEFAULT_POLL_TIMEOUT_US;
	}
	if (l->cfg.backoff_us == 0) {
		l->cfg.backoff_us = DEFAULT_BACKOFF_US;
	}
	if (l->cfg.max_tx_failures == 0) {
		l->cfg.max_tx_failures = DEFAULT_MAX_TX_FAILURES;
	}
	l->tx_id = cfg->first_id & SMPFOTA_ESB_ID_MASK;
	l->now = now_us;
	l->last_poll = now_us - l->cfg.poll_interval_us;
	l->last_activity = now_us;
	return 0;
}

size_t smpfota_esb_link_mtu(const struct smpfota_esb_link *l)
{
	size_t m = l->cfg.txq_size - 2U;
	return m < SMPFOTA_ESB_MAX_FRAME ? m : SMPFOTA_ESB_MAX_FRAME;
}

int smpfota_esb_link_send(struct smpfota_esb_link *l, const uint8_t *frame, size_t len)
{
	uint8_t b[2];

	if (frame == NULL || len == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	if (len > smpfota_esb_link_mtu(l)) {
		return SMPFOTA_ERR_MSGSIZE;
	}
	if (l->cfg.txq_size - l->tx_used < 2U + len) {
		return SMPFOTA_ERR_BUSY;
	}
	b[0] = (uint8_t)(len >> 8);
	b[1] = (uint8_t)len;
	ring_copy(l, l->tx_used, b, 2, true);
	ring_copy(l, l->tx_used + 2U, (uint8_t *)(uintptr_t)frame, len, true); /* only read */
	l->tx_used += 2U + len;
	pump(l);
	return 0;
}

int smpfota_esb_link_transport_send(void *ctx, const uint8_t *frame, size_t len)
{
	return smpfota_esb_link_send(ctx, frame, len);
}

static void give_up(struct smpfota_esb_link *l)
{
	count_err(l, l->cfg.radio.flush_tx(l->cfg.radio.ctx));
	l->stats.tx_flushes++;
	if (l->cur_len != 0 && l->cur_off != 0) {
		ring_pop(l);
		l->stats.drop_tx_frames++;
	}
	l->failures = 0;
}

void smpfota_esb_link_on_event(struct smpfota_esb_link *l, enum smpfota_esb_evt evt,
			       uint32_t now_us)
{
	l->now = now_us;
	if (evt == SMPFOTA_ESB_EVT_TX_SUCCESS) {
		l->failures = 0;
	} else if (evt == SMPFOTA_ESB_EVT_TX_FAILED && is_ptx(l)) {
		l->stats.tx_failed++;
		if (++l->failures >= l->cfg.max_tx_failures) {
			give_up(l);
		} else {
			l->backoff = true;
			l->backoff_at = now_us + l->cfg.backoff_us;
		}
	}
	drain(l);
	pump(l);
}

void smpfota_esb_link_poll(struct smpfota_esb_link *l, uint32_t now_us)
{
	l->now = now_us;
	if (l->rx_stalled) {
		deliver(l);
	}
	if (l->backoff && util_time_reached(now_us, l->backoff_at)) {
		l->backoff = false;
		l->stats.tx_restarts++;
		count_err(l, l->cfg.radio.start_tx(l->cfg.radio.ctx));
	}
	drain(l);
	pump(l);
}

int32_t smpfota_esb_link_next_deadline(const struct smpfota_esb_link *l, uint32_t now_us)
{
	uint32_t at;

	if (l->rx_stalled) {
		return (int32_t)l->cfg.poll_interval_us; /* offer the frame again */
	}
	if (l->backoff) {
		at = l->backoff_at;
	} else if (is_ptx(l) && want_poll(l, now_us) && l->cur_len == 0 && l->tx_used == 0) {
		if (!l->cfg.radio.is_idle(l->cfg.radio.ctx)) {
			return -1; /* a poll goes only on an idle radio: its next event comes first */
		}
		at = l->flowing ? now_us : l->last_poll + l->cfg.poll_interval_us;
	} else {
		return -1;
	}
	return util_time_until(now_us, at);
}

bool smpfota_esb_link_tx_idle(const struct smpfota_esb_link *l)
{
	return l->tx_used == 0;
}
