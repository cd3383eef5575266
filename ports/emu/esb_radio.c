/*
 * Fake ESB radio (esb_radio.h): NCS esb.c's FIFO and ACK-payload rules, no time.
 */
#include "emu/esb_radio.h"

#include <string.h>

#include "smpfota/smpfota.h"

#define N SMPFOTA_EMU_ESB_FIFO

bool smpfota_emu_esb_fifo_push(struct smpfota_emu_esb_fifo *f, const struct smpfota_esb_payload *p)
{
	if (f->count == N) {
		return false;
	}
	f->e[(f->head + f->count) % N] = *p;
	f->count++;
	return true;
}

void smpfota_emu_esb_fifo_pop(struct smpfota_emu_esb_fifo *f)
{
	f->head = (f->head + 1) % N;
	f->count--;
}

void smpfota_emu_esb_init(struct smpfota_emu_esb *e, bool ptx)
{
	memset(e, 0, sizeof(*e));
	e->ptx = ptx;
}

void smpfota_emu_esb_reset(struct smpfota_emu_esb *e)
{
	struct smpfota_emu_esb keep = *e;
	smpfota_emu_esb_init(e, keep.ptx);
	e->no_dedup = keep.no_dedup;
	e->stale = keep.stale;
	e->stale_ctx = keep.stale_ctx;
	e->stats = keep.stats;
}

int smpfota_emu_esb_write(struct smpfota_emu_esb *e, const struct smpfota_esb_payload *p)
{
	if (p->length == 0 || p->length > SMPFOTA_ESB_MAX_PAYLOAD) {
		return SMPFOTA_ERR_MSGSIZE;
	}
	if (e->tx.count == N) {
		return SMPFOTA_ERR_NOMEM;
	}
	struct smpfota_esb_payload q = *p;
	if (e->ptx) {
		q.pid = e->pid;
		e->pid = (uint8_t)((e->pid + 1U) & 3U);
	}
	(void)smpfota_emu_esb_fifo_push(&e->tx, &q);
	return 0;
}

int smpfota_emu_esb_read(struct smpfota_emu_esb *e, struct smpfota_esb_payload *p)
{
	if (e->rx.count == 0) {
		return 0;
	}
	*p = e->rx.e[e->rx.head];
	smpfota_emu_esb_fifo_pop(&e->rx);
	return p->length;
}

void smpfota_emu_esb_flush_tx(struct smpfota_emu_esb *e)
{
	e->tx.count = 0;
}

static bool repeat(const struct smpfota_emu_esb *e, const struct smpfota_esb_payload *p)
{
	return e->have_last && e->last.pid == p->pid && e->last.length == p->length &&
	       memcmp(e->last.data, p->data, p->length) == 0;
}

int smpfota_emu_esb_prx_receive(struct smpfota_emu_esb *e, const struct smpfota_esb_payload *p,
				struct smpfota_esb_payload *ack)
{
	if (e->rx.count == N) {
		e->stats.withheld++; /* esb.c on_radio_disabled_rx: RX FIFO full, no ACK */
		return -1;
	}
	bool rep = repeat(e, p);
	if (rep) {
		e->stats.repeats++;
	}
	if (!rep || e->no_dedup) {
		struct smpfota_esb_payload old;
		if (e->stale != NULL && e->stale(e->stale_ctx, p, e->rx.count < N - 1, &old) &&
		    e->rx.count < N - 1) {
			(void)smpfota_emu_esb_fifo_push(&e->rx, &old);
			e->stats.stale++;
		}
		(void)smpfota_emu_esb_fifo_push(&e->rx, p);
		e->ev |= SMPFOTA_EMU_ESB_EV_RX_RECEIVED;
		e->last = *p;
		e->have_last = true;
		if (e->ack_out) {
			smpfota_emu_esb_fifo_pop(&e->tx); /* delivered, as far as ESB knows */
			e->ack_out = false;
			e->ev |= SMPFOTA_EMU_ESB_EV_TX_SUCCESS;
		}
		if (e->tx.count > 0) {
			e->ack_out = true;
		}
	}
	/* A repeat gets the same ACK as the packet it repeats. */
	if (!e->ack_out) {
		ack->length = 0;
		return 0;
	}
	*ack = e->tx.e[e->tx.head];
	return ack->length;
}

bool smpfota_emu_esb_ptx_ack_fits(const struct smpfota_emu_esb *e, unsigned len)
{
	return len == 0 || e->rx.count < N;
}

void smpfota_emu_esb_ptx_acked(struct smpfota_emu_esb *e, const struct smpfota_esb_payload *ack)
{
	if (ack != NULL && ack->length > 0) {
		(void)smpfota_emu_esb_fifo_push(&e->rx, ack);
		e->ev |= SMPFOTA_EMU_ESB_EV_RX_RECEIVED;
	}
	smpfota_emu_esb_fifo_pop(&e->tx);
	e->ev |= SMPFOTA_EMU_ESB_EV_TX_SUCCESS;
}

void smpfota_emu_esb_deliver(struct smpfota_esb_link *link, unsigned ev, uint32_t now_us)
{
	if (ev & SMPFOTA_EMU_ESB_EV_TX_FAILED) {
		smpfota_esb_link_on_event(link, SMPFOTA_ESB_EVT_TX_FAILED, now_us);
	}
	if (ev & SMPFOTA_EMU_ESB_EV_TX_SUCCESS) {
		smpfota_esb_link_on_event(link, SMPFOTA_ESB_EVT_TX_SUCCESS, now_us);
	}
	if (ev & SMPFOTA_EMU_ESB_EV_RX_RECEIVED) {
		smpfota_esb_link_on_event(link, SMPFOTA_ESB_EVT_RX_RECEIVED, now_us);
	}
}
