/*
 * Each board's network core: the ESB link (smpfota_esb_link) and the net core's end of the
 * frame bridge (smpfota_bridge): frames from the app core (a2n) go into the link, frames the
 * link receives go to the app core (n2a), credit holds either side back when the other is
 * full, and the link's counters go to the app core as events. Radio events reach the link at
 * once (our design) or as an IPC message to the app core (naive baseline). Also what a reset
 * loses on either board.
 */
#include "sim_priv.h"

#include <string.h>

static int bridge_init(struct world *w, struct board *b);

int sim_link_init(struct world *w, struct board *b)
{
	if (sim_is_ble(w)) {
		return sim_ble_link_init(w, b);
	}
	struct smpfota_esb_link_config cfg = {
		.role = b->master ? SMPFOTA_ESB_PTX : SMPFOTA_ESB_PRX,
		.radio = sim_radio_ops(b),
		.pipe = 0,
		.first_id = (uint8_t)sim_rnd(w),
		.txq = b->txq,
		.txq_size = sizeof(b->txq),
		.rx_buf = b->rxbuf,
		/* with the secure channel, a request of buf_size plus its overhead */
		.rx_size = b->master ? sizeof(b->rxbuf)
				     : w->c->buf_size + (w->sec ? SMPFOTA_SECURE_OVERHEAD : 0U),
		.rx = b->master ? sim_master_link_rx : sim_target_link_rx,
		.user = w,
	};
	b->link_ready = true;
	int rc = smpfota_esb_link_init(&b->link, &cfg, (uint32_t)(w->now / US));
	return rc != 0 || w->c->naive ? rc : bridge_init(w, b);
}

static int chan_a2n(void *ctx, const uint8_t *msg, size_t len)
{
	struct board *b = ctx;
	return sim_ipc_send(b->w, &b->a2n, msg, len);
}

static int chan_n2a(void *ctx, const uint8_t *msg, size_t len)
{
	struct board *b = ctx;
	return sim_ipc_send(b->w, &b->n2a, msg, len);
}

/* A frame from the app core into the link; a full link queue keeps it in the bridge (and its
 * credit: the app core is held back). */
static int net_rx(void *user, const uint8_t *frame, size_t len)
{
	struct board *b = user;
	int rc = smpfota_esb_link_send(&b->link, frame, len);
	if (rc == 0 && b->master) {
		b->w->m_kick = true;
	}
	return rc == SMPFOTA_ERR_BUSY ? rc : 0; /* a frame the link can never take is dropped */
}

/* Both ends of a board's bridge start (with the cores, after a reset). */
static int bridge_init(struct world *w, struct board *b)
{
	uint32_t now = (uint32_t)(w->now / US);
	struct smpfota_bridge_config app = {
		.ops = {.send = chan_a2n, .ctx = b},
		.ring = b->app_ring,
		.ring_size = sizeof(b->app_ring),
		.tx_buf = b->app_txb,
		.tx_buf_size = sizeof(b->app_txb),
		.max_frame = FRAME_MAX,
		.first_epoch = (uint8_t)sim_rnd(w),
		.rx = b->master ? sim_master_app_rx : sim_target_app_rx,
		.event = sim_app_event,
		.user = w,
	};
	struct smpfota_bridge_config net = {
		.ops = {.send = chan_n2a, .ctx = b},
		.ring = b->net_ring,
		.ring_size = sizeof(b->net_ring),
		.tx_buf = b->net_txb,
		.tx_buf_size = sizeof(b->net_txb),
		.max_frame = FRAME_MAX,
		.first_epoch = (uint8_t)sim_rnd(w),
		.rx = net_rx,
		.user = b,
	};
	int rc = smpfota_bridge_init(&b->app_br, &app, now);
	return rc != 0 ? rc : smpfota_bridge_init(&b->net_br, &net, now);
}

uint64_t sim_bridge_deadline(const struct world *w, const struct smpfota_bridge *br)
{
	int32_t d = smpfota_bridge_next_deadline(br, (uint32_t)(w->now / US));
	return d < 0 ? NEVER : w->now + (uint64_t)d * US;
}

void sim_link_stats(struct world *w, const struct smpfota_esb_link *l)
{
	const struct smpfota_esb_link_stats *s = &l->stats;
	w->st->link_drops += s->drop_dup + s->drop_lost + s->drop_orphan + s->drop_malformed +
			     s->drop_overflow + s->drop_discarded;
}

/* What a reset loses on either board: radio FIFOs, IPC rings, the link's state (its
 * counters are kept in the run's statistics first). */
void sim_board_reset(struct world *w, struct board *b)
{
	if (sim_is_ble(w)) {
		sim_ble_board_reset(w, b);
	}
	sim_radio_reset(&b->radio);
	b->rq_count = 0;
	b->pending_writes = 0;
	sim_ipc_clear(&b->a2n);
	sim_ipc_clear(&b->n2a);
	b->evt_msg = false;
	b->pend_len = 0;
	if (b->link_ready) {
		sim_link_stats(w, &b->link);
	}
}

uint64_t sim_link_deadline(const struct world *w, const struct board *b)
{
	if (!b->link_ready) {
		return NEVER;
	}
	int32_t d = smpfota_esb_link_next_deadline(&b->link, (uint32_t)(w->now / US));
	return d < 0 ? NEVER : w->now + (uint64_t)d * US;
}

/* Our design: the link on the net core, which never stalls. */
uint64_t sim_net_next(struct world *w, struct board *b)
{
	if (w->c->naive || !board_up(b, w->now) || !b->link_ready) {
		return b->link_ready && !board_up(b, w->now) ? b->up_at : NEVER;
	}
	uint64_t n = b->radio.esb.ev ? w->now : NEVER;
	n = min64(n, sim_ipc_next(&b->a2n));
	n = min64(n, sim_bridge_deadline(w, &b->net_br));
	return min64(n, sim_link_deadline(w, b));
}

void sim_deliver_events(struct world *w, struct board *b)
{
	unsigned ev = b->radio.esb.ev;
	b->radio.esb.ev = 0;
	smpfota_emu_esb_deliver(&b->link, ev, (uint32_t)(w->now / US));
}

void sim_net_step(struct world *w, struct board *b)
{
	if (b->radio.esb.ev) {
		sim_deliver_events(w, b);
	}
	uint32_t now = (uint32_t)(w->now / US);
	/* The link may have room now: frames the bridge kept go first, then the ring's
	 * messages (an ICMsg receiver always takes a message; credit made sure it fits). */
	smpfota_bridge_poll(&b->net_br, now);
	struct ipc_msg *m;
	while ((m = sim_ipc_head(&b->a2n, w->now)) != NULL) {
		smpfota_bridge_input(&b->net_br, m->data, m->len, now);
		sim_ipc_pop(&b->a2n);
	}
	smpfota_esb_link_poll(&b->link, now);
	smpfota_bridge_post_link_stats(&b->net_br, &b->link.stats, now);
}

/* Naive design: the link on the app core; radio events reach it as IPC messages. */
void sim_naive_post_events(struct world *w, struct board *b)
{
	if (w->c->naive && b->radio.esb.ev && !b->evt_msg && board_up(b, w->now)) {
		b->evt_msg = true;
		b->evt_ready = w->now + w->c->t.ipc_msg_us * US;
		w->st->ipc_msgs++;
	}
}

/* When the app core next has input from its net core: the event message and the link it runs
 * itself (naive baseline), or the IPC ring and the frame bridge. */
uint64_t sim_app_input_next(struct world *w, struct board *b)
{
	if (w->c->naive) {
		uint64_t n = b->evt_msg ? b->evt_ready : NEVER;
		return min64(n, sim_link_deadline(w, b));
	}
	return min64(sim_ipc_next(&b->n2a), sim_bridge_deadline(w, &b->app_br));
}

/* Naive baseline: the app core takes the radio events' message when it has come, then runs
 * the link. */
void sim_naive_app_link(struct world *w, struct board *b)
{
	if (b->evt_msg && b->evt_ready <= w->now) {
		b->evt_msg = false;
		sim_deliver_events(w, b);
	}
	smpfota_esb_link_poll(&b->link, (uint32_t)(w->now / US));
}
