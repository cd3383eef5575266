/*
 * The air and each board's ESB radio (sim.h, "air"): one PTX transaction at a time, timed
 * from the spec's formula (§2.3), with packet loss, ACK loss, bit errors and replays drawn
 * from the run's generator; the PRX side keeps NCS ESB's FIFO and ACK-payload rules.
 */
#include "sim_priv.h"

#include <string.h>

static unsigned pcf_bits(const struct smpfota_sim_timing *t)
{
	return t->max_payload > 32 ? 11U : 9U;
}

/* On-air time of a packet with `len` payload bytes, ns. */
uint64_t sim_air_ns(const struct smpfota_sim_timing *t, unsigned len)
{
	uint64_t bits = 8ULL * (t->preamble + t->address + len + t->crc) + pcf_bits(t);
	return bits * 1000000ULL / t->bitrate_kbps;
}

static unsigned packet_bits(const struct smpfota_sim_timing *t, unsigned len)
{
	return 8U * (t->preamble + t->address + len + t->crc) + pcf_bits(t);
}

static bool bit_error(struct world *w, unsigned bits)
{
	if (w->c->f.ber <= 0) {
		return false;
	}
	/* P(at least one error) = 1 - (1 - ber)^bits */
	double ok = 1.0;
	for (unsigned i = 0; i < bits; i++) {
		ok *= 1.0 - w->c->f.ber;
	}
	return sim_chance(w, 1.0 - ok);
}

static struct board *peer(struct board *b)
{
	return b->master ? &b->w->t : &b->w->m;
}

void sim_radio_reset(struct radio *r)
{
	struct world *w = r->w;
	struct board *b = r->b;
	struct smpfota_emu_esb esb = r->esb;
	memset(r, 0, sizeof(*r));
	r->w = w;
	r->b = b;
	r->esb = esb;
	smpfota_emu_esb_reset(&r->esb); /* keeps the role, the replay hook and the counters */
	r->phase = P_IDLE;
	r->t_next = NEVER;
}

/* Fault (esb_radio.h stale hook): a stale data packet the PID check did not catch arrives
 * ahead of a new one. */
static bool replay(void *ctx, const struct smpfota_esb_payload *p, bool room,
		   struct smpfota_esb_payload *out)
{
	struct radio *r = ctx;
	struct world *w = r->w;
	bool pick = r->hist_n > 0 && sim_chance(w, w->c->f.replay) && room;
	if (pick) {
		*out = r->hist[sim_rnd(w) % (r->hist_n < HIST ? r->hist_n : HIST)];
	}
	if (p->length > SMPFOTA_ESB_HDR_SIZE) {
		r->hist[r->hist_n % HIST] = *p;
		r->hist_n++;
	}
	return pick;
}

void sim_radio_init(struct radio *r, struct world *w, struct board *b)
{
	r->w = w;
	r->b = b;
	smpfota_emu_esb_init(&r->esb, b->master);
	r->esb.stale = replay;
	r->esb.stale_ctx = r;
	sim_radio_reset(r);
}

void sim_ptx_schedule(struct radio *r)
{
	if (r->phase == P_IDLE && r->esb.tx.count > 0) {
		r->phase = P_START;
		r->t_next = r->ready_at > r->w->now ? r->ready_at : r->w->now;
	}
}

void sim_ptx_step(struct radio *r)
{
	struct world *w = r->w;
	const struct smpfota_sim_timing *t = &w->c->t;
	uint64_t now = r->t_next;
	struct smpfota_esb_payload *p = &r->esb.tx.e[r->esb.tx.head];

	switch (r->phase) {
	case P_START:
		r->d_time = now + t->ramp_us * US + sim_air_ns(t, p->length) + t->txdis_us * US;
		r->phase = P_END;
		r->t_next = r->d_time;
		w->st->packets++;
		if (r->attempts > 0) {
			w->st->retransmits++;
		}
		if (p->length == SMPFOTA_ESB_HDR_SIZE) {
			w->st->polls++;
		}
		return;
	case P_END: {
		struct board *pb = peer(r->b);
		int acklen = -1;
		if (sim_chance(w, w->c->f.loss)) {
			w->st->lost++;
		} else if (bit_error(w, packet_bits(t, p->length))) {
			w->st->crc_errors++;
		} else if (board_up(pb, now)) {
			uint64_t save = w->now;
			w->now = now;
			acklen = smpfota_emu_esb_prx_receive(&pb->radio.esb, p, &r->ack);
			w->now = save;
		}
		bool ok = acklen >= 0;
		if (ok && sim_chance(w, w->c->f.ack_loss)) {
			w->st->ack_lost++;
			ok = false;
		} else if (ok && bit_error(w, packet_bits(t, (unsigned)acklen))) {
			w->st->crc_errors++;
			ok = false;
		}
		if (ok && !smpfota_emu_esb_ptx_ack_fits(&r->esb, (unsigned)acklen)) {
			ok = false; /* nowhere to put the ACK payload: as if lost */
		}
		if (ok) {
			r->phase = P_ACKED;
			r->t_next = now + t->ramp_us * US + sim_air_ns(t, (unsigned)acklen);
		} else if (++r->attempts > t->retransmit_count) {
			r->phase = P_FAILWAIT;
			r->t_next = now + (t->ramp_us + t->ack_timeout_us) * US;
		} else {
			/* the retransmit timer runs from DISABLED; TXEN at delay - ramp (§1.2) */
			r->phase = P_START;
			uint64_t d = t->retransmit_delay_us > t->ramp_us
					     ? (t->retransmit_delay_us - t->ramp_us) * US
					     : 0;
			r->t_next = now + d;
		}
		return;
	}
	case P_ACKED:
		smpfota_emu_esb_ptx_acked(&r->esb, &r->ack);
		r->attempts = 0;
		r->ready_at = now + t->t_sw_us * US;
		r->phase = P_IDLE;
		r->t_next = NEVER;
		{
			uint64_t save = w->now;
			w->now = now;
			sim_ptx_schedule(r);
			w->now = save;
		}
		return;
	case P_FAILWAIT:
		r->esb.ev |= SMPFOTA_EMU_ESB_EV_TX_FAILED; /* the head stays in the TX FIFO */
		w->st->tx_failed++;
		r->phase = P_STOPPED;
		r->t_next = NEVER;
		r->ready_at = now;
		return;
	default:
		r->t_next = NEVER;
		return;
	}
}
