/*
 * Frame bridge between two cores: protocol, credit rules and restart handling are described
 * in include/smpfota/bridge.h.
 */
#include "smpfota/bridge.h"

#include <string.h>

#define DEFAULT_HELLO_INTERVAL_US 100000U
#define DEFAULT_RETRY_US 1000U
#define DEFAULT_EVENT_INTERVAL_US 100000U
#define RING_SKIP 0xffffU

/* Time a is at or after b, on a wrapping 32-bit clock. */
static bool time_reached(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- receive ring ------------------------------------------------------------------------- */

/* Room credit can promise: one largest frame is kept back for the padding at the ring's end,
 * so that any credited frame fits contiguously (see bridge.h). */
static size_t grantable(const struct smpfota_bridge *b)
{
	return b->cfg.ring_size - SMPFOTA_BRIDGE_COST(b->cfg.max_frame);
}

static uint32_t granted_now(const struct smpfota_bridge *b)
{
	size_t room = grantable(b);
	return b->received + (uint32_t)(b->r_used < room ? room - b->r_used : 0U);
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* Store a frame whole; false when it does not fit contiguously. */
static bool ring_put(struct smpfota_bridge *b, const uint8_t *frame, size_t len)
{
	size_t size = b->cfg.ring_size;
	size_t need = SMPFOTA_BRIDGE_COST(len);
	if (b->r_phys == 0) {
		b->r_head = 0; /* empty: start at 0, no padding */
	}
	size_t tail = (b->r_head + b->r_phys) % size;
	bool wrapped = b->r_phys > 0 && tail <= b->r_head;
	size_t at = tail;
	if (wrapped) {
		if (b->r_head - tail < need) {
			return false;
		}
	} else if (size - tail < need) {
		if (b->r_head < need) {
			return false;
		}
		if (size - tail >= 2U) {
			put_u16(b->cfg.ring + tail, RING_SKIP);
		}
		b->r_phys += size - tail;
		at = 0;
	}
	put_u16(b->cfg.ring + at, (uint16_t)len);
	memcpy(b->cfg.ring + at + 2, frame, len);
	b->r_phys += need;
	b->r_used += need;
	b->r_count++;
	return true;
}

/* The oldest frame (skipping the padding before it); NULL when empty. */
static const uint8_t *ring_peek(struct smpfota_bridge *b, size_t *len)
{
	if (b->r_count == 0) {
		return NULL;
	}
	size_t size = b->cfg.ring_size;
	if (size - b->r_head < 2U || get_u16(b->cfg.ring + b->r_head) == RING_SKIP) {
		b->r_phys -= size - b->r_head;
		b->r_head = 0;
	}
	*len = get_u16(b->cfg.ring + b->r_head);
	return b->cfg.ring + b->r_head + 2;
}

static void ring_pop(struct smpfota_bridge *b, size_t len)
{
	size_t need = SMPFOTA_BRIDGE_COST(len);
	b->r_head = (b->r_head + need) % b->cfg.ring_size;
	b->r_phys -= need;
	b->r_used -= need;
	b->r_count--;
}

/* Offer stored frames, oldest first, until the callback is busy. */
static void deliver(struct smpfota_bridge *b)
{
	const uint8_t *f;
	size_t len;
	while ((f = ring_peek(b, &len)) != NULL) {
		if (b->cfg.rx(b->cfg.user, f, len) == SMPFOTA_ERR_BUSY) {
			b->stats.rx_busy++;
			b->rx_blocked = true;
			b->retry_at = b->now + b->cfg.retry_us;
			return;
		}
		b->stats.frames_rx++;
		ring_pop(b, len);
	}
	b->rx_blocked = false;
}

/* ---- sending messages --------------------------------------------------------------------- */

/* One message out of tx_buf. */
static int chan_send(struct smpfota_bridge *b, size_t len)
{
	int rc = b->cfg.ops.send(b->cfg.ops.ctx, b->cfg.tx_buf, len);
	if (rc == SMPFOTA_ERR_BUSY) {
		b->stats.chan_busy++;
		b->retry_at = b->now + b->cfg.retry_us;
		return rc;
	}
	if (rc < 0) {
		b->stats.chan_errors++;
		return SMPFOTA_ERR_IO;
	}
	b->stats.msgs_tx++;
	return 0;
}

/* Grant, epoch or hello, from tx_buf; the grant counts as told once sent. */
static int send_grant(struct smpfota_bridge *b, uint8_t type)
{
	uint8_t *m = b->cfg.tx_buf;
	uint32_t g = granted_now(b);
	size_t len = SMPFOTA_BRIDGE_CTRL_SIZE;
	m[0] = type;
	m[1] = b->epoch;
	put_u32(m + 2, g);
	if (type != SMPFOTA_BRIDGE_MSG_GRANT) {
		m[6] = SMPFOTA_BRIDGE_VERSION;
		put_u16(m + 7, b->cfg.max_frame);
		len = SMPFOTA_BRIDGE_HELLO_SIZE;
	}
	int rc = chan_send(b, len);
	if (rc == 0) {
		b->reported = g;
	}
	return rc;
}

/* The other end may be short of credit for a largest frame, and we have more to give. */
static bool grant_due(const struct smpfota_bridge *b)
{
	int32_t left = (int32_t)(b->reported - b->received);
	return granted_now(b) != b->reported &&
	       left < (int32_t)SMPFOTA_BRIDGE_COST(b->cfg.max_frame);
}

/* Start a new receive epoch: everything tagged with the old one is dropped uncounted, and the
 * other end resets its count when the announcement arrives. */
static void new_epoch(struct smpfota_bridge *b)
{
	b->epoch++;
	b->received = 0;
	b->reported = 0;
	b->announce = true;
}

/* Events may go: never sent yet, or event_interval_us passed (unsigned: a long quiet time
 * that wraps the clock delays them by at most one interval). */
static bool events_may_go(const struct smpfota_bridge *b, uint32_t now)
{
	return !b->ev_sent_once || now - b->ev_sent_at >= b->cfg.event_interval_us;
}

/* Send whatever control traffic is due, in order: announcement, grant, events. Stops at the
 * first refusal; the rest waits for the next call. */
static void flush_ctrl(struct smpfota_bridge *b)
{
	if (!b->synced && time_reached(b->now, b->hello_at)) {
		if (!b->announce) {
			new_epoch(b); /* a HELLO is an announcement: each one a new epoch */
		}
		b->hello_at = b->now + b->cfg.hello_interval_us;
	}
	if (b->announce) {
		uint8_t type = b->synced ? SMPFOTA_BRIDGE_MSG_EPOCH : SMPFOTA_BRIDGE_MSG_HELLO;
		if (send_grant(b, type) != 0) {
			return;
		}
		b->announce = false;
		if (type == SMPFOTA_BRIDGE_MSG_HELLO) {
			b->stats.hellos_tx++;
		} else {
			b->stats.epochs_tx++;
		}
	}
	if (grant_due(b)) {
		if (send_grant(b, SMPFOTA_BRIDGE_MSG_GRANT) != 0) {
			return;
		}
		b->stats.grants_tx++;
	}
	if (b->ev_pending == 0 || !events_may_go(b, b->now)) {
		return;
	}
	for (unsigned code = 0; b->ev_pending != 0 && code < SMPFOTA_BRIDGE_EVT_COUNT; code++) {
		if ((b->ev_pending & (1U << code)) == 0) {
			continue;
		}
		uint8_t *m = b->cfg.tx_buf;
		m[0] = SMPFOTA_BRIDGE_MSG_EVENT;
		m[1] = (uint8_t)code;
		put_u32(m + 2, b->ev_val[code]);
		if (chan_send(b, SMPFOTA_BRIDGE_CTRL_SIZE) != 0) {
			return;
		}
		b->ev_pending &= (uint8_t) ~(1U << code);
		b->stats.events_tx++;
		b->ev_sent_once = true;
		b->ev_sent_at = b->now;
	}
}

/* ---- API ---------------------------------------------------------------------------------- */

int smpfota_bridge_init(struct smpfota_bridge *b, const struct smpfota_bridge_config *cfg,
			uint32_t now_us)
{
	if (b == NULL || cfg == NULL || cfg->ops.send == NULL || cfg->rx == NULL ||
	    cfg->ring == NULL || cfg->tx_buf == NULL || cfg->max_frame == 0 ||
	    cfg->max_frame > SMPFOTA_BRIDGE_MAX_FRAME ||
	    cfg->ring_size < SMPFOTA_BRIDGE_RING_MIN(cfg->max_frame) ||
	    cfg->tx_buf_size < SMPFOTA_BRIDGE_HDR_SIZE + 1U ||
	    cfg->tx_buf_size < SMPFOTA_BRIDGE_HELLO_SIZE) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	if (b->cfg.hello_interval_us == 0) {
		b->cfg.hello_interval_us = DEFAULT_HELLO_INTERVAL_US;
	}
	if (b->cfg.retry_us == 0) {
		b->cfg.retry_us = DEFAULT_RETRY_US;
	}
	if (b->cfg.event_interval_us == 0) {
		b->cfg.event_interval_us = DEFAULT_EVENT_INTERVAL_US;
	}
	b->now = now_us;
	b->epoch = (uint8_t)(cfg->first_epoch - 1U);
	new_epoch(b); /* the first HELLO carries first_epoch */
	b->hello_at = now_us + b->cfg.hello_interval_us;
	flush_ctrl(b);
	return 0;
}

size_t smpfota_bridge_mtu(const struct smpfota_bridge *b)
{
	if (!b->synced) {
		return 0;
	}
	size_t room = b->cfg.tx_buf_size - SMPFOTA_BRIDGE_HDR_SIZE;
	return b->peer_max_frame < room ? b->peer_max_frame : room;
}

bool smpfota_bridge_ready(const struct smpfota_bridge *b)
{
	return b->synced;
}

int smpfota_bridge_send(struct smpfota_bridge *b, const uint8_t *frame, size_t len)
{
	if (len == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	flush_ctrl(b); /* announcements first: the grant riding on this frame must be known */
	if (!b->synced) {
		b->stats.no_credit++;
		return SMPFOTA_ERR_BUSY;
	}
	if (len > smpfota_bridge_mtu(b)) {
		return SMPFOTA_ERR_MSGSIZE;
	}
	uint32_t cost = (uint32_t)SMPFOTA_BRIDGE_COST(len);
	if ((int32_t)(b->peer_granted - b->sent) < (int32_t)cost) {
		b->stats.no_credit++;
		return SMPFOTA_ERR_BUSY;
	}
	uint8_t *m = b->cfg.tx_buf;
	uint32_t g = granted_now(b);
	m[0] = SMPFOTA_BRIDGE_MSG_FRAME;
	m[1] = b->tag;
	/* While our new epoch is untold, the other end knows only the one before, so it ignores
	 * this grant; nothing then counts as told. */
	m[2] = b->epoch;
	put_u32(m + 3, g);
	memcpy(m + SMPFOTA_BRIDGE_HDR_SIZE, frame, len);
	int rc = chan_send(b, SMPFOTA_BRIDGE_HDR_SIZE + len);
	if (rc != 0) {
		return rc;
	}
	b->sent += cost;
	b->stats.frames_tx++;
	if (!b->announce) {
		b->reported = g;
	}
	return 0;
}

int smpfota_bridge_transport_send(void *ctx, const uint8_t *frame, size_t len)
{
	return smpfota_bridge_send(ctx, frame, len);
}

/* A FRAME for our epoch: count it, then deliver it straight, store it, or drop it. */
static void on_frame(struct smpfota_bridge *b, const uint8_t *data, size_t len)
{
	uint32_t cost = (uint32_t)SMPFOTA_BRIDGE_COST(len);
	int32_t left = (int32_t)(b->reported - b->received);
	b->received += cost; /* counted even when dropped: the sender counted it too */
	if (len > b->cfg.max_frame || left < (int32_t)cost) {
		b->stats.drop_credit++;
		return;
	}
	/* The ring was offered first (input), so an empty ring means in-order delivery. */
	if (b->r_count == 0) {
		if (b->cfg.rx(b->cfg.user, data, len) != SMPFOTA_ERR_BUSY) {
			b->stats.frames_rx++;
			b->stats.frames_direct++;
			return;
		}
		b->stats.rx_busy++;
		b->rx_blocked = true;
		b->retry_at = b->now + b->cfg.retry_us;
	}
	if (!ring_put(b, data, len)) {
		b->stats.drop_credit++; /* cannot happen within credit (bridge.h) */
	}
}

/* EPOCH or HELLO from the other end: its receive side starts over, so do our counts. An
 * EPOCH for the epoch we already send to is the answer to our HELLO from an end that had
 * counted nothing from us yet (HELLOs crossed, see the HELLO case): what we sent since its
 * HELLO is on its way into that count, so it is a grant only. */
static bool on_epoch(struct smpfota_bridge *b, const uint8_t *m, size_t len, bool hello)
{
	if (len != SMPFOTA_BRIDGE_HELLO_SIZE || m[6] != SMPFOTA_BRIDGE_VERSION ||
	    get_u16(m + 7) == 0) {
		return false;
	}
	bool same = !hello && b->synced && m[1] == b->tag;
	b->synced = true;
	b->tag = m[1];
	b->peer_granted = get_u32(m + 2);
	b->peer_max_frame = get_u16(m + 7);
	if (!same) {
		b->sent = 0;
	}
	return true;
}

void smpfota_bridge_input(struct smpfota_bridge *b, const uint8_t *msg, size_t len, uint32_t now_us)
{
	b->now = now_us;
	uint8_t type = len > 0 ? msg[0] : 0U;
	bool ok = true;
	b->stats.msgs_rx++;
	if (b->r_count != 0) {
		deliver(b); /* older frames first */
	}
	switch (type) {
	case SMPFOTA_BRIDGE_MSG_FRAME:
		if (len <= SMPFOTA_BRIDGE_HDR_SIZE) {
			ok = false;
			break;
		}
		if (b->synced && msg[2] == b->tag) {
			b->peer_granted = get_u32(msg + 3);
		}
		if (msg[1] != b->epoch || b->announce) {
			b->stats.drop_stale++;
			break;
		}
		on_frame(b, msg + SMPFOTA_BRIDGE_HDR_SIZE, len - SMPFOTA_BRIDGE_HDR_SIZE);
		break;
	case SMPFOTA_BRIDGE_MSG_GRANT:
		if (len != SMPFOTA_BRIDGE_CTRL_SIZE) {
			ok = false;
		} else if (b->synced && msg[1] == b->tag) {
			b->peer_granted = get_u32(msg + 2);
			b->stats.grants_rx++;
		}
		break;
	case SMPFOTA_BRIDGE_MSG_EPOCH:
		ok = on_epoch(b, msg, len, false);
		break;
	case SMPFOTA_BRIDGE_MSG_HELLO:
		ok = on_epoch(b, msg, len, true);
		if (!ok) {
			break;
		}
		b->stats.hellos_rx++;
		/* It lost its count of what it sent us: announce a fresh grant. When we have
		 * counted nothing in this epoch (we started too: the HELLOs crossed), the epoch
		 * stays: it may already be sending to it on the strength of our own HELLO, and a
		 * new epoch would drop that frame as stale (the first request after every boot).
		 * Nothing sent before its restart can follow its HELLO (the channel is in order). */
		if (b->received == 0) {
			b->reported = 0;
			b->announce = true;
		} else {
			new_epoch(b);
		}
		if (b->cfg.event != NULL) {
			b->cfg.event(b->cfg.user, SMPFOTA_BRIDGE_EVT_PEER_RESTART,
				     b->peer_max_frame);
		}
		break;
	case SMPFOTA_BRIDGE_MSG_EVENT:
		if (len != SMPFOTA_BRIDGE_CTRL_SIZE || msg[1] >= SMPFOTA_BRIDGE_EVT_COUNT) {
			ok = false;
			break;
		}
		b->stats.events_rx++;
		if (b->cfg.event != NULL) {
			b->cfg.event(b->cfg.user, msg[1], get_u32(msg + 2));
		}
		break;
	default:
		ok = false;
		break;
	}
	if (!ok) {
		b->stats.drop_malformed++;
	}
	flush_ctrl(b);
}

void smpfota_bridge_poll(struct smpfota_bridge *b, uint32_t now_us)
{
	b->now = now_us;
	deliver(b);
	flush_ctrl(b);
}

int32_t smpfota_bridge_next_deadline(const struct smpfota_bridge *b, uint32_t now_us)
{
	int32_t best = -1;
	bool ev = b->ev_pending != 0;
	bool ev_held = ev && events_may_go(b, now_us); /* due: only the channel held them */
	/* Control traffic left over means the channel was busy; frames left, the rx callback. */
	bool want[3] = {b->rx_blocked || b->announce || grant_due(b) || ev_held, !b->synced,
			ev && !ev_held};
	uint32_t at[3] = {b->retry_at, b->hello_at, b->ev_sent_at + b->cfg.event_interval_us};
	for (int i = 0; i < 3; i++) {
		if (!want[i]) {
			continue;
		}
		int32_t d = time_reached(now_us, at[i]) ? 0 : (int32_t)(at[i] - now_us);
		if (best < 0 || d < best) {
			best = d;
		}
	}
	return best;
}

void smpfota_bridge_post_event(struct smpfota_bridge *b, unsigned code, uint32_t value,
			       uint32_t now_us)
{
	if (code >= SMPFOTA_BRIDGE_EVT_COUNT) {
		return;
	}
	b->now = now_us;
	uint8_t bit = (uint8_t)(1U << code);
	if ((b->ev_posted & bit) != 0 && b->ev_val[code] == value) {
		return;
	}
	b->ev_posted |= bit;
	b->ev_val[code] = value;
	b->ev_pending |= bit;
	flush_ctrl(b);
}

void smpfota_bridge_post_link_stats(struct smpfota_bridge *b,
				    const struct smpfota_esb_link_stats *s, uint32_t now_us)
{
	uint32_t drops = s->drop_dup + s->drop_lost + s->drop_orphan + s->drop_malformed +
			 s->drop_overflow + s->drop_discarded;
	smpfota_bridge_post_event(b, SMPFOTA_BRIDGE_EVT_TX_FAILED, s->tx_failed, now_us);
	smpfota_bridge_post_event(b, SMPFOTA_BRIDGE_EVT_FRAMES_LOST, s->drop_tx_frames, now_us);
	smpfota_bridge_post_event(b, SMPFOTA_BRIDGE_EVT_RX_DROPS, drops, now_us);
	smpfota_bridge_post_event(b, SMPFOTA_BRIDGE_EVT_RADIO_ERRORS, s->radio_errors, now_us);
}
