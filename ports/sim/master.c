/*
 * The master's application core: the update workflow (update.h) on the client engine, the
 * image read from memory, frames to and from the net core through the bridge over IPC (or
 * straight to the link in the naive baseline).
 */
#include "sim_priv.h"

#include <string.h>

#include "smpfota/smpfota.h"

/* One frame to the link: the engine's transport, or the secure channel's (secure.c). */
int sim_master_link_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct world *w = ctx;
	int rc = sim_is_ble(w) ? sim_ble_master_send(w, frame, len)
		 : w->c->naive ? smpfota_esb_link_send(&w->m.link, frame, len)
			       : smpfota_bridge_send(&w->m.app_br, frame, len);
	if (rc == 0) {
		w->st->frames_from_master++;
	}
	return rc;
}

static void on_step(void *user, enum smpfota_update_step step)
{
	struct world *w = user;
	sim_log(w, "%s", smpfota_update_step_name((int)step));
	if (step == SMPFOTA_UPDATE_UPLOAD && w->upload_start == 0) {
		w->upload_start = w->now;
	}
	if (step == SMPFOTA_UPDATE_VERIFY && w->upload_end == 0) {
		w->upload_end = w->now;
		w->st->upload_packets = w->st->packets;
		w->st->upload_retransmits = w->st->retransmits;
	}
}

static void on_progress(void *user, const struct smpfota_upload_progress *p)
{
	struct world *w = user;
	uint32_t pct = p->total ? (uint32_t)((uint64_t)p->done * 100 / p->total) : 0;
	if (pct / 10 != w->last_pct / 10 || p->done == p->total) {
		w->last_pct = pct;
		sim_log(w, "upload %3u%%  %u/%u bytes, window %u", pct, p->done, p->total,
			p->window);
	}
}

static void on_done(void *user, int err, enum smpfota_update_step step,
		    const struct smpfota_smp_status *st)
{
	(void)st;
	struct world *w = user;
	w->done = true;
	w->err = err;
	w->step = (int)step;
	if (w->upload_end == 0 && w->upload_start != 0 && step > SMPFOTA_UPDATE_UPLOAD) {
		w->upload_end = w->now;
	}
	sim_log(w, "update %s%s%s", err ? "failed: " : "done", err ? smpfota_errname(err) : "",
		err ? "" : "");
}

int sim_src_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	struct world *w = ctx;
	if ((uint64_t)off + len > w->len) {
		return SMPFOTA_ERR_IO;
	}
	memcpy(buf, w->image + off, len);
	return 0;
}

/* Largest frame the master's link takes: ESB's frame limit; over BLE one ATT piece when the
 * target does not reassemble (the negotiated MTU, which the glue knows), else the same. */
static uint16_t sim_master_mtu(const struct world *w)
{
	if (sim_is_ble(w) && w->c->ble.no_reassembly) {
		return (uint16_t)(w->c->ble.att_mtu - SMPFOTA_GATT_ATT_HDR);
	}
	return FRAME_MAX;
}

/* Per-attempt timeout: 2.5 s (as the phone apps), longer over a BLE connection whose
 * interval would not let an answer back in time (four intervals and a second). */
static uint32_t sim_master_timeout_ms(const struct world *w)
{
	uint32_t t = sim_is_ble(w) ? w->c->ble.interval_us / 1000U * 4U + 1000U : 0;
	return t > 2500 ? t : 2500;
}

/* BLE, a target that reassembles: frames go in pieces sized to the connection event
 * (gatt.h). Not through the secure channel, whose sealing adds to the frame the engine
 * sizes. */
static uint16_t sim_master_piece(const struct world *w)
{
	if (!sim_is_ble(w) || w->sec || w->c->ble.no_reassembly) {
		return 0;
	}
	return sim_ble_piece(w);
}

int sim_master_start(struct world *w)
{
	int rc = sim_sec_master_start(w);
	if (rc != 0) {
		return rc;
	}
	struct smpfota_client_config cfg = {
		.tx = {.send = w->sec ? sim_sec_master_send : sim_master_link_send,
		       .ctx = w,
		       .mtu = w->sec ? smpfota_secure_mtu(sim_master_mtu(w)) : sim_master_mtu(w),
		       .piece = sim_master_piece(w)},
		.buf = w->cli_buf,
		.buf_size = w->cli_buf_size,
		.frame_cap = FRAME_MAX,
		.slots = SMPFOTA_CLIENT_MAX_INFLIGHT,
		.version = SMPFOTA_SMP_V2,
		.timeout_ms = sim_master_timeout_ms(w),
		.retries = 3,
		.seq = (uint8_t)sim_rnd(w),
	};
	rc = smpfota_client_init(&w->cli, &cfg);
	if (rc != 0) {
		return rc;
	}
	struct smpfota_update_params prm = {
		.upload = {.window = w->c->naive ? 1 : w->c->window,
			   .max_failures = 20,
			   /* the bridge and ESB hold back what the target cannot take yet */
			   .held_not_dropped = !w->c->naive && !sim_is_ble(w),
			   /* BLE's link layer resends until acknowledged */
			   .lossless = sim_is_ble(w)},
		.force = w->force,
		.reset_wait_ms = 300000, /* a swap of a full internal slot takes ~40 s */
	};
	return smpfota_update_start(&w->upd, &w->cli, &w->src, &w->info, &prm, on_step, on_progress,
				    on_done, w, sim_ms(w->now));
}

int sim_master_link_rx(void *user, const uint8_t *frame, size_t len)
{
	struct world *w = user;
	if (!w->c->naive) {
		return smpfota_bridge_send(&w->m.net_br, frame, len); /* net core -> app core */
	}
	return sim_master_app_rx(user, frame, len);
}

/* A frame reaches the engine (from the bridge, or from the link in the naive baseline). */
int sim_master_app_rx(void *user, const uint8_t *frame, size_t len)
{
	struct world *w = user;
	if (w->done) {
		return 0;
	}
	w->now += w->c->t.cpu_msg_us * US;
	if (w->sec) {
		sim_sec_master_rx(w, frame, len); /* the channel hands authentic frames on */
	} else {
		(void)smpfota_client_input(&w->cli, frame, len, sim_ms(w->now));
	}
	smpfota_update_poll(&w->upd, sim_ms(w->now));
	return 0;
}

/* Events from a net core (its link's counters), as the NCS samples log them. */
void sim_app_event(void *user, unsigned code, uint32_t value)
{
	struct world *w = user;
	if (code == SMPFOTA_BRIDGE_EVT_FRAMES_LOST && value > 0) {
		sim_log(w, "%s net core: %u frames given up on the radio",
			w->running == &w->m ? "master" : "target", value);
	}
}

uint64_t sim_master_next(struct world *w)
{
	struct board *b = &w->m;
	if (w->m_restart_at != NEVER) {
		return w->m_restart_at;
	}
	if (w->done || (sim_is_ble(w) && !w->ble->started)) {
		return NEVER; /* over BLE the update starts once connected */
	}
	uint64_t n = sim_is_ble(w) ? sim_ble_app_next(w, b) : sim_app_input_next(w, b);
	if (w->m_kick) {
		n = w->now;
	}
	int32_t d = smpfota_update_next_deadline(&w->upd, sim_ms(w->now));
	int32_t hs = w->sec ? sim_sec_master_deadline(w) : -1;
	if (hs >= 0 && (d < 0 || hs < d)) {
		d = hs; /* a HELLO to send again */
	}
	if (d >= 0) {
		/* the engine's clock is in ms: run at the next whole ms that satisfies it */
		uint64_t at = ((uint64_t)sim_ms(w->now) + (uint64_t)d) * MS;
		n = min64(n, at > w->now ? at : w->now);
	}
	return n < b->app_free ? b->app_free : n;
}

void sim_master_step(struct world *w)
{
	struct board *b = &w->m;
	uint64_t t0 = w->now;
	if (w->m_restart_at != NEVER && w->m_restart_at <= w->now) {
		w->m_restart_at = NEVER;
		sim_log(w, "master restarts");
		w->done = false;
		if (!sim_is_ble(w)) {
			(void)sim_link_init(w, b); /* both cores start now: bridge handshake */
		}
		if (sim_master_start(w) != 0) {
			w->done = true;
			w->err = SMPFOTA_ERR_INVAL;
		}
		b->app_free = w->now;
		return;
	}
	if (w->now < b->app_free || w->done || (sim_is_ble(w) && !w->ble->started)) {
		return;
	}
	w->m_kick = false;
	w->running = b;
	if (sim_is_ble(w)) {
		sim_ble_app_step(w, b);
	} else if (w->c->naive) {
		sim_naive_app_link(w, b);
	} else {
		struct ipc_msg *m;
		smpfota_bridge_poll(&b->app_br, (uint32_t)(w->now / US));
		while (!w->done && (m = sim_ipc_head(&b->n2a, t0)) != NULL) {
			smpfota_bridge_input(&b->app_br, m->data, m->len, (uint32_t)(w->now / US));
			sim_ipc_pop(&b->n2a);
		}
	}
	if (!w->done && w->sec) {
		sim_sec_master_poll(w);
	}
	if (!w->done) {
		smpfota_update_poll(&w->upd, sim_ms(w->now));
	}
	w->running = NULL;
	b->app_free = w->now;
	w->now = t0;
}
