/*
 * Each board's network core: the ESB link (smpfota_esb_link) fed from the a2n ring, handing
 * received frames to its app core; radio events reach the link at once (our design) or as an
 * IPC message to the app core (naive baseline). Also what a reset loses on either board.
 */
#include "sim_priv.h"

#include <string.h>

int sim_link_init(struct world *w, struct board *b)
{
	struct smpfota_esb_link_config cfg = {
		.role = b->master ? SMPFOTA_ESB_PTX : SMPFOTA_ESB_PRX,
		.radio = sim_radio_ops(b),
		.pipe = 0,
		.first_id = (uint8_t)sim_rnd(w),
		.txq = b->txq,
		.txq_size = sizeof(b->txq),
		.rx_buf = b->rxbuf,
		.rx_size = b->master ? sizeof(b->rxbuf) : w->c->buf_size,
		.rx = b->master ? sim_master_link_rx : sim_target_link_rx,
		.user = w,
	};
	b->link_ready = true;
	return smpfota_esb_link_init(&b->link, &cfg, (uint32_t)(w->now / US));
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
	sim_radio_reset(&b->radio);
	b->rq_count = 0;
	b->pending_writes = 0;
	sim_ipc_clear(&b->a2n);
	sim_ipc_clear(&b->n2a);
	b->a2n_blocked = false;
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
	uint64_t n = b->radio.ev ? w->now : NEVER;
	if (!b->a2n_blocked) {
		n = min64(n, sim_ipc_next(&b->a2n));
	}
	return min64(n, sim_link_deadline(w, b));
}

void sim_deliver_events(struct world *w, struct board *b)
{
	unsigned ev = b->radio.ev;
	b->radio.ev = 0;
	uint32_t now = (uint32_t)(w->now / US);
	if (ev & EV_TX_FAIL) {
		smpfota_esb_link_on_event(&b->link, SMPFOTA_ESB_EVT_TX_FAILED, now);
	}
	if (ev & EV_TX_OK) {
		smpfota_esb_link_on_event(&b->link, SMPFOTA_ESB_EVT_TX_SUCCESS, now);
	}
	if (ev & EV_RX) {
		smpfota_esb_link_on_event(&b->link, SMPFOTA_ESB_EVT_RX_RECEIVED, now);
	}
	b->a2n_blocked = false;
}

void sim_net_step(struct world *w, struct board *b)
{
	if (b->radio.ev) {
		sim_deliver_events(w, b);
	}
	struct ipc_msg *m;
	while (!b->a2n_blocked && (m = sim_ipc_head(&b->a2n, w->now)) != NULL) {
		int rc = smpfota_esb_link_send(&b->link, m->data, m->len);
		if (rc == SMPFOTA_ERR_BUSY) {
			b->a2n_blocked = true;
			break;
		}
		sim_ipc_pop(&b->a2n);
		if (b->master) {
			w->m_kick = true;
		}
	}
	smpfota_esb_link_poll(&b->link, (uint32_t)(w->now / US));
}

/* Naive design: the link on the app core; radio events reach it as IPC messages. */
void sim_naive_post_events(struct world *w, struct board *b)
{
	if (w->c->naive && b->radio.ev && !b->evt_msg && board_up(b, w->now)) {
		b->evt_msg = true;
		b->evt_ready = w->now + w->c->t.ipc_msg_us * US;
		w->st->ipc_msgs++;
	}
}
