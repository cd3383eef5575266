/*
 * Fleet simulator (fleet.h): one master, N targets, one shared radio, in virtual time.
 *
 * Parts and their clocks (ns): the air (one transaction at a time, timed as radio.c, §2.3
 * of the spec), the master (the fleet scheduler, a client and an ESB link per target), and
 * per target its net core (the PRX link) and its app core (the SMP server on flash timed as
 * flash.c; a frame's handling keeps the core busy for what it costs). The loop jumps to the
 * earliest time any part needs and runs every part due then in a fixed order.
 */
#include "sim/fleet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/image.h"
#include "sim_priv.h"
#include "smpfota/bcast.h"
#include "smpfota/fleet.h"
#include "smpfota/smpfota.h"

#define INBOX 64U        /* frames a target's net core holds for its app core */
#define BQ 8U            /* broadcast packets the master's net core queues */
#define BCAST_PIPE 0     /* the master's pipe kept for the broadcast address */
#define READDRESS_US 20U /* esb_update_prefix with the radio idle (estimate) */
#define POWER_BACK_NS (100ULL * MS)

struct fl_world;

struct fdev {
	struct fl_target *t;
	bool qspi;
};

struct inframe {
	uint64_t ready;
	bool raw; /* a broadcast packet, not an SMP frame */
	uint16_t len;
	uint8_t d[FRAME_MAX];
};

struct fl_target {
	struct fl_world *w;
	unsigned idx;
	/* the target board */
	uint8_t *app_mem, *qspi_mem;
	struct smpfota_nor app_nor, qspi_nor;
	struct fdev dev_app, dev_qspi;
	struct smpfota_emu_target tgt;
	struct smpfota_bcast_target_config bcfg;
	struct smpfota_bcast_target bt; /* the broadcast group and its record */
	struct smpfota_nor *slot_nor;   /* device of the secondary slot (power cuts count there) */
	uint64_t charge;                /* ns of flash work of the handler running now */
	bool charging;
	struct smpfota_emu_esb prx;
	struct smpfota_esb_link tlink;
	uint8_t t_txq[8192];
	uint8_t t_rx[FRAME_MAX];
	struct inframe in[INBOX];
	unsigned in_head, in_count;
	uint32_t in_bytes;
	uint8_t out[FRAME_MAX]; /* an answer waiting for room in the link */
	uint16_t out_len;
	uint64_t out_at;
	uint64_t app_free, up_at, reset_at;
	bool down; /* powered off after a cut, until up_at */
	bool prx_ev;
	bool fault_reset_done;
	/* the master's side for this target */
	struct smpfota_emu_esb ptx; /* its packet queue on the master (virtual FIFO) */
	bool stopped;               /* TX_FAILED: waits for start_tx */
	struct smpfota_esb_link mlink;
	uint8_t m_txq[16384];
	uint8_t m_rx[FRAME_MAX];
	struct smpfota_client cli;
	uint8_t *cli_buf;
	int pipe; /* -1: not addressed */
	/* results */
	struct smpfota_sim_fleet_target *res;
};

struct fl_world {
	const struct smpfota_sim_fleet_config *fc;
	const struct smpfota_sim_config *c;
	struct smpfota_sim_fleet_result *r;
	uint64_t now;
	uint64_t rng;
	const uint8_t *image;
	size_t len;
	struct fl_target *t; /* n */
	unsigned n;
	/* the air */
	bool busy;
	unsigned cur; /* target of the transaction in the air */
	enum ptx_phase phase;
	uint64_t t_next, ready_at;
	unsigned attempts;
	struct smpfota_esb_payload ack;
	unsigned rr; /* round robin: last target served */
	int pipe_of[SMPFOTA_SIM_FLEET_PIPES];
	uint64_t pipe_used[SMPFOTA_SIM_FLEET_PIPES];
	/* the master */
	bool bcast; /* broadcast mode: its phase runs before the fleet's */
	bool bcast_running;
	struct smpfota_bcast_master bm;
	struct smpfota_bcast_member *members; /* n */
	struct smpfota_esb_payload bq[BQ];
	unsigned bq_head, bq_count;
	bool fleet_started;
	struct smpfota_fleet fleet;
	struct smpfota_fleet_target ft[SMPFOTA_SIM_FLEET_MAX];
	struct smpfota_upload_source src;
	struct smpfota_image_info info;
	bool force;
	bool m_up;
	uint64_t m_up_at;
	bool m_reset_done;
	uint8_t rec[SMPFOTA_FLEET_RECORD_SIZE(SMPFOTA_SIM_FLEET_MAX)];
	uint8_t saved[SMPFOTA_FLEET_RECORD_SIZE(SMPFOTA_SIM_FLEET_MAX)]; /* the master's flash */
	size_t saved_len;
	uint8_t scratch[FRAME_MAX];
};

static uint64_t rnd(struct fl_world *w)
{
	return sim_splitmix(&w->rng);
}

static bool chance(struct fl_world *w, double p)
{
	return sim_chance_of(&w->rng, p);
}

static void flog(struct fl_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void flog(struct fl_world *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sim_vlog(w->c, w->now, fmt, ap);
	va_end(ap);
}

static uint32_t us32(uint64_t ns)
{
	return (uint32_t)(ns / US);
}

const char *smpfota_sim_fleet_mode_name(enum smpfota_sim_fleet_mode m)
{
	return m == SMPFOTA_SIM_FLEET_SEQUENTIAL  ? "sequential"
	       : m == SMPFOTA_SIM_FLEET_BROADCAST ? "broadcast"
						  : "unicast";
}

int smpfota_sim_fleet_mode_parse(const char *name)
{
	if (strcmp(name, "unicast") == 0) {
		return SMPFOTA_SIM_FLEET_UNICAST;
	}
	if (strcmp(name, "broadcast") == 0) {
		return SMPFOTA_SIM_FLEET_BROADCAST;
	}
	return strcmp(name, "sequential") == 0 ? SMPFOTA_SIM_FLEET_SEQUENTIAL : -1;
}

/* ---- target flash ------------------------------------------------------------------------ */

static void on_flash_op(void *ctx, int kind, uint32_t off, size_t len)
{
	(void)off;
	struct fdev *d = ctx;
	struct fl_target *t = d->t;
	const struct smpfota_sim_timing *tm = &t->w->c->t;
	if (!t->charging) {
		return;
	}
	switch (kind) {
	case SMPFOTA_NOR_OP_READ:
		t->charge += d->qspi ? (uint64_t)len * 1000000ULL / tm->qspi_read_kBps : 0;
		break;
	case SMPFOTA_NOR_OP_WRITE:
		t->charge += d->qspi ? (uint64_t)len * tm->qspi_prog_us * US / 256U
				     : (uint64_t)((len + 3) / 4) * tm->word_write_us * US;
		break;
	case SMPFOTA_NOR_OP_ERASE:
		t->charge += (uint64_t)((len + PAGE - 1) / PAGE) *
			     (d->qspi ? tm->qspi_erase_us : tm->page_erase_us) * US;
		break;
	default:
		break;
	}
}

static int flash_part(struct fl_target *t, struct smpfota_nor *nor, struct fdev *dev, uint8_t *mem,
		      uint32_t size, bool qspi)
{
	int rc = smpfota_nor_init(nor, mem, size, PAGE, WRITE_SIZE);
	if (rc == 0) {
		smpfota_nor_erase_all(nor);
		*dev = (struct fdev){t, qspi};
		nor->on_op = on_flash_op;
		nor->on_op_ctx = dev;
	}
	return rc;
}

/* The board with an older image (0.0.0, same size, its own body) confirmed in its primary
 * slot; a used secondary slot except in the radio scenario (pre-erased QSPI). */
static int target_setup(struct fl_world *w, struct fl_target *t)
{
	const struct smpfota_sim_config *c = w->c;
	uint32_t slot = c->slot_size;
	bool internal = c->scenario == SMPFOTA_SIM_INTERNAL;
	uint32_t slots = slot + PAGE + (internal ? slot : 0);
	/* the broadcast record after the slots: one word per chunk of at least 128 bytes */
	uint32_t rec = (SMPFOTA_BCAST_RECORD_SIZE(slot, PAGE, 128U) + PAGE - 1U) / PAGE * PAGE;
	uint32_t app_size = slots + rec;
	t->app_mem = malloc(app_size);
	t->qspi_mem = internal ? NULL : malloc(slot);
	if (t->app_mem == NULL || (!internal && t->qspi_mem == NULL)) {
		return SMPFOTA_ERR_NOMEM;
	}
	int rc = flash_part(t, &t->app_nor, &t->dev_app, t->app_mem, app_size, false);
	smpfota_emu_target_init(&t->tgt);
	if (rc == 0 && internal) {
		rc = smpfota_emu_target_add_image(&t->tgt, &t->app_nor, 0, &t->app_nor, slot + PAGE,
						  slot);
		t->slot_nor = &t->app_nor;
	} else if (rc == 0) {
		rc = flash_part(t, &t->qspi_nor, &t->dev_qspi, t->qspi_mem, slot, true);
		rc = rc ? rc
			: smpfota_emu_target_add_image(&t->tgt, &t->app_nor, 0, &t->qspi_nor, 0,
						       slot);
		t->slot_nor = &t->qspi_nor;
	}
	struct smpfota_emu_image_spec s = {
		.hdr_size = 32, .hash_only = true, .seed = (uint32_t)rnd(w)};
	size_t overhead = smpfota_emu_image_size(&s);
	s.body_size = (uint32_t)(w->len > overhead + 4 ? w->len - overhead : 4);
	size_t old_len = smpfota_emu_image_size(&s);
	uint8_t *old = rc == 0 ? malloc(old_len) : NULL;
	if (rc == 0 && old == NULL) {
		rc = SMPFOTA_ERR_NOMEM;
	}
	if (rc == 0) {
		rc = smpfota_emu_image_build(old, old_len, &s, NULL) == old_len ? 0
										: SMPFOTA_ERR_INVAL;
		rc = rc ? rc : smpfota_emu_target_provision(&t->tgt, 0, old, old_len);
		rc = rc ? rc : smpfota_boot_set_confirmed(&t->tgt.images[0].primary);
	}
	free(old);
	if (rc != 0) {
		return rc;
	}
	if (c->scenario != SMPFOTA_SIM_RADIO) {
		uint8_t *mem = internal ? t->app_mem + slot + PAGE : t->qspi_mem;
		for (uint32_t i = 0; i < slot; i++) {
			mem[i] = (uint8_t)(rnd(w) & 0x7f); /* clears bits: not erased */
		}
	}
	struct smpfota_server_config *cfg = &t->tgt.cfg;
	cfg->buf_size = c->buf_size;
	cfg->buf_count = c->buf_count;
	cfg->image_check = true;
	t->tgt.boot_buf_size = PAGE;
	t->bcfg.slot = t->tgt.images[0].secondary;
	t->bcfg.record = (struct smpfota_flash_area){&t->app_nor.flash, slots, rec};
	return 0;
}

/* ---- target cores -------------------------------------------------------------------------- */

static int t_radio_write(void *ctx, const struct smpfota_esb_payload *p)
{
	struct fl_target *t = ctx;
	return smpfota_emu_esb_write(&t->prx, p);
}

static int t_radio_read(void *ctx, struct smpfota_esb_payload *p)
{
	struct fl_target *t = ctx;
	return smpfota_emu_esb_read(&t->prx, p);
}

/* A frame from the master reaches the target's net core: it waits there for the app core
 * (the IPC ring); with no room the link holds it and ESB withholds ACKs. */
static int t_link_rx(void *user, const uint8_t *frame, size_t len)
{
	struct fl_target *t = user;
	const struct smpfota_sim_timing *tm = &t->w->c->t;
	if (t->in_count == INBOX || t->in_bytes + len > tm->ipc_ring) {
		return SMPFOTA_ERR_BUSY;
	}
	struct inframe *f = &t->in[(t->in_head + t->in_count) % INBOX];
	f->ready = t->w->now + tm->ipc_msg_us * US + (uint64_t)len * tm->ipc_ns_per_byte;
	f->len = (uint16_t)len;
	f->raw = false;
	memcpy(f->d, frame, len);
	t->in_count++;
	t->in_bytes += (uint32_t)len;
	return 0;
}

static void t_link_init(struct fl_world *w, struct fl_target *t)
{
	smpfota_emu_esb_reset(&t->prx);
	t->prx_ev = false;
	struct smpfota_esb_link_config cfg = {
		.role = SMPFOTA_ESB_PRX,
		.radio = {.write_payload = t_radio_write,
			  .read_rx_payload = t_radio_read,
			  .ctx = t,
			  .max_payload = w->c->t.max_payload},
		.first_id = (uint8_t)rnd(w),
		.txq = t->t_txq,
		.txq_size = sizeof(t->t_txq),
		.rx_buf = t->t_rx,
		.rx_size = w->c->buf_size,
		.rx = t_link_rx,
		.user = t,
	};
	(void)smpfota_esb_link_init(&t->tlink, &cfg, us32(w->now));
}

/* Reset (warm) or power-on after a cut: MCUboot (its flash work timed), then the app. */
static void t_boot(struct fl_world *w, struct fl_target *t, bool warm)
{
	uint64_t at = w->now;
	t->res->resets++;
	t->in_count = 0;
	t->in_head = 0;
	t->in_bytes = 0;
	t->out_len = 0;
	t->reset_at = NEVER;
	for (int tries = 0;; tries++) {
		if (smpfota_emu_target_power_cut(&t->tgt)) {
			smpfota_emu_target_power_on(&t->tgt);
			at += POWER_BACK_NS;
			warm = false;
		}
		t->charge = 0;
		t->charging = true;
		int rc = smpfota_emu_target_boot(&t->tgt);
		t->charging = false;
		at += w->c->t.boot_us * US + t->charge;
		if (rc == 0 || tries > 3) {
			break;
		}
	}
	(void)smpfota_emu_target_start(&t->tgt, warm);
	(void)smpfota_bcast_target_init(&t->bt, &t->bcfg); /* its record says where it was */
	t->down = false;
	t->up_at = at;
	t->app_free = at;
	t_link_init(w, t);
}

static bool t_up(const struct fl_target *t, uint64_t now)
{
	return !t->down && now >= t->up_at;
}

/* The app core takes the next frame (or hands its answer to the net core). */
static void t_app_step(struct fl_world *w, struct fl_target *t)
{
	const struct smpfota_sim_timing *tm = &w->c->t;
	if (t->out_len != 0) {
		if (w->now < t->out_at) {
			return;
		}
		if (smpfota_esb_link_send(&t->tlink, t->out, t->out_len) == 0) {
			t->out_len = 0;
		} else {
			t->out_at = w->now + 100 * US; /* the link's queue is full: try again */
		}
		return;
	}
	if (t->in_count == 0 || t->in[t->in_head].ready > w->now) {
		return;
	}
	struct inframe *f = &t->in[t->in_head];
	t->charge = 0;
	t->charging = true;
	int n = 0;
	if (f->raw) {
		(void)smpfota_bcast_target_packet(&t->bt, f->d, f->len);
	} else {
		n = smpfota_bcast_target_handle(&t->bt, f->d, f->len, w->scratch,
						sizeof(w->scratch));
		if (n == SMPFOTA_ERR_NOTSUP) {
			n = smpfota_server_handle(&t->tgt.srv, f->d, f->len, w->scratch,
						  sizeof(w->scratch));
		}
	}
	t->charging = false;
	uint64_t end = w->now + tm->cpu_msg_us * US + t->charge;
	t->in_head = (t->in_head + 1) % INBOX;
	t->in_count--;
	t->in_bytes -= f->len;
	t->app_free = end;
	if (smpfota_emu_target_power_cut(&t->tgt)) {
		flog(w, "target %u: power cut", t->idx);
		t->down = true; /* dead until power comes back (t_boot) */
		t->reset_at = end;
		return;
	}
	if (n > 0) {
		memcpy(t->out, w->scratch, (size_t)n);
		t->out_len = (uint16_t)n;
		t->out_at = end + tm->ipc_msg_us * US + (uint64_t)n * tm->ipc_ns_per_byte;
	}
	if (smpfota_server_reset_pending(&t->tgt.srv) && t->reset_at == NEVER) {
		t->reset_at = end + tm->reset_delay_us * US;
	}
}

static uint64_t t_next(const struct fl_world *w, const struct fl_target *t)
{
	uint64_t n = t->reset_at;
	const struct smpfota_sim_target_faults *tf = &w->fc->tf[t->idx];
	if (!t->fault_reset_done && tf->reset_at_us) {
		n = min64(n, tf->reset_at_us * US);
	}
	if (!t_up(t, w->now)) {
		return t->down ? n : min64(n, t->up_at);
	}
	if (t->prx_ev) {
		return w->now;
	}
	int32_t d = smpfota_esb_link_next_deadline(&t->tlink, us32(w->now));
	if (d >= 0) {
		n = min64(n, w->now + (uint64_t)d * US);
	}
	uint64_t app = NEVER;
	if (t->out_len != 0) {
		app = t->out_at;
	} else if (t->in_count != 0) {
		app = t->in[t->in_head].ready;
	}
	if (app != NEVER && app < t->app_free) {
		app = t->app_free;
	}
	return min64(n, app);
}

static void t_step(struct fl_world *w, struct fl_target *t)
{
	const struct smpfota_sim_target_faults *tf = &w->fc->tf[t->idx];
	if (!t->fault_reset_done && tf->reset_at_us && w->now >= tf->reset_at_us * US) {
		t->fault_reset_done = true;
		flog(w, "target %u: fault: reset", t->idx);
		if (!t->down) {
			t_boot(w, t, true);
		}
		return;
	}
	if (t->reset_at <= w->now) {
		flog(w, "target %u: %s", t->idx, t->down ? "power back" : "resets");
		t_boot(w, t, !t->down);
		return;
	}
	if (!t_up(t, w->now)) {
		return;
	}
	if (t->prx_ev) {
		unsigned ev = t->prx.ev;
		t->prx.ev = 0;
		t->prx_ev = false;
		smpfota_emu_esb_deliver(&t->tlink, ev, us32(w->now));
	}
	smpfota_esb_link_poll(&t->tlink, us32(w->now));
	if (w->now >= t->app_free) {
		t_app_step(w, t);
	}
}

/* ---- the air ------------------------------------------------------------------------------- */

static bool eligible(const struct fl_world *w, const struct fl_target *t)
{
	return w->m_up && t->ptx.tx.count > 0 && !t->stopped;
}

/* The next in turn: a target (0..n-1) or the broadcast queue (n). While broadcast packets
 * wait, a target's poll (a header-only packet) yields to them: it only fetches answers, and
 * nothing is asked during a block. */
static int find_next(const struct fl_world *w)
{
	unsigned slots = w->n + 1U;
	bool bq = w->m_up && w->bq_count > 0;
	for (unsigned i = 1; i <= slots; i++) {
		unsigned k = (w->rr + i) % slots;
		if (k == w->n) {
			if (bq) {
				return (int)k;
			}
			continue;
		}
		const struct fl_target *t = &w->t[k];
		if (eligible(w, t) &&
		    !(bq && t->ptx.tx.e[t->ptx.tx.head].length == SMPFOTA_ESB_HDR_SIZE)) {
			return (int)k;
		}
	}
	return -1;
}

static uint64_t air_next(const struct fl_world *w)
{
	if (w->busy) {
		return w->t_next;
	}
	return find_next(w) >= 0 ? (w->ready_at > w->now ? w->ready_at : w->now) : NEVER;
}

/* Give target k a pipe: its own if it has one, else a free one, else the least recently
 * used one re-addressed (the radio is idle between transactions). Returns the cost, ns. */
static uint64_t address(struct fl_world *w, struct fl_target *t)
{
	if (t->pipe >= 0) {
		w->pipe_used[t->pipe] = w->now;
		return 0;
	}
	int first = w->bcast ? BCAST_PIPE + 1 : 0; /* the broadcast address keeps its pipe */
	int best = first;
	for (int p = first; p < (int)SMPFOTA_SIM_FLEET_PIPES; p++) {
		if (w->pipe_of[p] < 0) {
			best = p;
			break;
		}
		if (w->pipe_used[p] < w->pipe_used[best]) {
			best = p;
		}
	}
	if (w->pipe_of[best] >= 0) {
		w->t[w->pipe_of[best]].pipe = -1;
	}
	w->pipe_of[best] = (int)t->idx;
	w->pipe_used[best] = w->now;
	t->pipe = best;
	w->r->readdresses++;
	uint32_t us = w->fc->readdress_us ? w->fc->readdress_us : READDRESS_US;
	return (uint64_t)us * US;
}

static double either(double a, double b)
{
	return 1.0 - (1.0 - a) * (1.0 - b);
}

/* A broadcast packet: no ACK (selective_auto_ack, `noack`), so T = ramp + packet + tTXDIS +
 * t_sw (spec §2.3); every target that hears it hands it to its app core. */
static void bcast_step(struct fl_world *w)
{
	const struct smpfota_sim_timing *tm = &w->c->t;
	struct smpfota_esb_payload *p = &w->bq[w->bq_head];
	if (w->phase == P_START) {
		w->phase = P_END;
		w->t_next = w->now + tm->ramp_us * US + sim_air_ns(tm, p->length) +
			    tm->txdis_us * US;
		w->r->packets++;
		w->r->bcast_packets++;
		return;
	}
	for (unsigned i = 0; i < w->n; i++) {
		struct fl_target *t = &w->t[i];
		const struct smpfota_sim_target_faults *tf = &w->fc->tf[i];
		t->res->bytes_sent += p->length;
		if (tf->dead || !t_up(t, w->now) || chance(w, either(w->c->f.loss, tf->loss))) {
			continue;
		}
		const struct smpfota_sim_timing *tt = &w->c->t;
		if (t->in_count == INBOX || t->in_bytes + p->length > tt->ipc_ring) {
			continue; /* its net core has no room: lost as on air */
		}
		struct inframe *f = &t->in[(t->in_head + t->in_count) % INBOX];
		f->ready = w->now + tt->ipc_msg_us * US + (uint64_t)p->length * tt->ipc_ns_per_byte;
		f->raw = true;
		f->len = p->length;
		memcpy(f->d, p->data, p->length);
		t->in_count++;
		t->in_bytes += p->length;
	}
	w->bq_head = (w->bq_head + 1U) % BQ;
	w->bq_count--;
	w->busy = false;
	w->phase = P_IDLE;
	w->t_next = NEVER;
	w->ready_at = w->now + tm->t_sw_us * US;
}

static void air_step(struct fl_world *w)
{
	const struct smpfota_sim_timing *tm = &w->c->t;
	if (!w->busy) {
		int k = find_next(w);
		if (k < 0) {
			return;
		}
		w->busy = true;
		w->cur = (unsigned)k;
		w->rr = (unsigned)k;
		w->attempts = 0;
		w->phase = P_START;
		w->t_next = w->now + (k == (int)w->n ? 0 : address(w, &w->t[k]));
		return;
	}
	if (w->cur == w->n) {
		bcast_step(w);
		return;
	}
	struct fl_target *t = &w->t[w->cur];
	const struct smpfota_sim_target_faults *tf = &w->fc->tf[t->idx];
	struct smpfota_esb_payload *p = &t->ptx.tx.e[t->ptx.tx.head];
	switch (w->phase) {
	case P_START:
		w->phase = P_END;
		w->t_next = w->now + tm->ramp_us * US + sim_air_ns(tm, p->length) +
			    tm->txdis_us * US;
		t->res->packets++;
		t->res->bytes_sent += p->length;
		w->r->packets++;
		return;
	case P_END: {
		int acklen = -1;
		if (!tf->dead && t_up(t, w->now) && !chance(w, either(w->c->f.loss, tf->loss))) {
			acklen = smpfota_emu_esb_prx_receive(&t->prx, p, &w->ack);
			t->prx_ev = t->prx.ev != 0;
		}
		bool ok = acklen >= 0 && !chance(w, either(w->c->f.ack_loss, tf->loss)) &&
			  smpfota_emu_esb_ptx_ack_fits(&t->ptx, (unsigned)acklen);
		if (ok) {
			w->phase = P_ACKED;
			w->t_next = w->now + tm->ramp_us * US + sim_air_ns(tm, (unsigned)acklen);
		} else if (++w->attempts > tm->retransmit_count) {
			w->phase = P_FAILWAIT;
			w->t_next = w->now + (tm->ramp_us + tm->ack_timeout_us) * US;
		} else {
			w->phase = P_START;
			uint64_t d = tm->retransmit_delay_us > tm->ramp_us
					     ? (tm->retransmit_delay_us - tm->ramp_us) * US
					     : 0;
			w->t_next = w->now + d;
		}
		return;
	}
	case P_ACKED:
		smpfota_emu_esb_ptx_acked(&t->ptx, &w->ack);
		break;
	case P_FAILWAIT:
	default:
		t->ptx.ev |= SMPFOTA_EMU_ESB_EV_TX_FAILED; /* the head stays queued */
		t->stopped = true;
		break;
	}
	w->busy = false;
	w->phase = P_IDLE;
	w->t_next = NEVER;
	w->ready_at = w->now + tm->t_sw_us * US;
}

/* ---- the master ---------------------------------------------------------------------------- */

static int m_radio_write(void *ctx, const struct smpfota_esb_payload *p)
{
	struct fl_target *t = ctx;
	return smpfota_emu_esb_write(&t->ptx, p);
}

static int m_radio_read(void *ctx, struct smpfota_esb_payload *p)
{
	struct fl_target *t = ctx;
	return smpfota_emu_esb_read(&t->ptx, p);
}

static int m_start_tx(void *ctx)
{
	struct fl_target *t = ctx;
	t->stopped = false;
	return 0;
}

static void abort_air(struct fl_world *w, const struct fl_target *t)
{
	if (w->busy && (t == NULL || w->cur == t->idx)) {
		w->busy = false;
		w->phase = P_IDLE;
		w->t_next = NEVER;
		w->ready_at = w->now;
	}
}

static int m_flush_tx(void *ctx)
{
	struct fl_target *t = ctx;
	abort_air(t->w, t);
	smpfota_emu_esb_flush_tx(&t->ptx);
	t->stopped = false;
	return 0;
}

static bool m_is_idle(void *ctx)
{
	struct fl_target *t = ctx;
	return t->ptx.tx.count == 0 && !(t->w->busy && t->w->cur == t->idx);
}

static int src_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	struct fl_world *w = ctx;
	if ((uint64_t)off + len > w->len) {
		return SMPFOTA_ERR_IO;
	}
	memcpy(buf, w->image + off, len);
	return 0;
}

static int m_link_rx(void *user, const uint8_t *frame, size_t len)
{
	struct fl_target *t = user;
	struct fl_world *w = t->w;
	if (smpfota_bcast_is_group(frame, len)) {
		if (w->bcast_running) {
			smpfota_bcast_master_input(&w->bm, t->idx, frame, len, sim_ms(w->now));
		}
		return 0;
	}
	(void)smpfota_client_input(&t->cli, frame, len, sim_ms(w->now));
	return 0;
}

static int bq_put(void *ctx, const uint8_t *pkt, size_t len)
{
	struct fl_world *w = ctx;
	if (w->bq_count == BQ || len > SMPFOTA_ESB_MAX_PAYLOAD) {
		return SMPFOTA_ERR_BUSY;
	}
	struct smpfota_esb_payload *p = &w->bq[(w->bq_head + w->bq_count) % BQ];
	memset(p, 0, sizeof(*p));
	p->length = (uint8_t)len;
	p->pipe = BCAST_PIPE;
	p->noack = 1;
	memcpy(p->data, pkt, len);
	w->bq_count++;
	return 0;
}

static bool bq_idle(void *ctx)
{
	struct fl_world *w = ctx;
	return w->bq_count == 0 && !(w->busy && w->cur == w->n);
}

/* Broadcast mode: every target a member, START over its unicast link. */
static int bcast_start(struct fl_world *w)
{
	uint16_t chunk = w->fc->bcast_chunk;
	if (chunk == 0) {
		chunk = (uint16_t)((w->c->t.max_payload - SMPFOTA_BCAST_PKT_HDR) / 4U * 4U);
	}
	for (unsigned i = 0; i < w->n; i++) {
		w->members[i] = (struct smpfota_bcast_member){
			.send = smpfota_esb_link_transport_send, .ctx = &w->t[i].mlink};
	}
	struct smpfota_bcast_master_config bc = {
		.members = w->members,
		.n = w->n,
		.read = src_read,
		.read_ctx = w,
		.len = (uint32_t)w->len,
		.sha = w->src.sha,
		.session = (uint8_t)(w->src.sha[0] | 1U),
		.chunk = chunk,
		.block = w->fc->bcast_block ? w->fc->bcast_block : PAGE,
		.timeout_ms = 2500,
		.start_timeout_ms = 15000, /* START may erase: ~9 s for 400 KiB */
		.broadcast = bq_put,
		.broadcast_idle = bq_idle,
		.bctx = w,
		.resume = w->r->master_resets > 0};
	int rc = smpfota_bcast_master_start(&w->bm, &bc, sim_ms(w->now));
	w->bcast_running = rc == 0;
	return rc;
}

static int save_record(void *user, const uint8_t *rec, size_t len)
{
	struct fl_world *w = user;
	memcpy(w->saved, rec, len);
	w->saved_len = len;
	return 0;
}

static void on_target(void *user, size_t i, const struct smpfota_fleet_target *ft)
{
	struct fl_world *w = user;
	struct smpfota_sim_fleet_target *res = &w->r->t[i];
	if (ft->phase == SMPFOTA_FLEET_STAGED && res->staged_us == 0) {
		res->staged_us = w->now / US;
		flog(w, "target %zu: staged", i);
	}
	if (ft->phase == SMPFOTA_FLEET_FINISHED) {
		res->outcome = ft->outcome;
		res->err = ft->err;
		res->step = ft->step;
		res->virtual_us = w->now / US;
		flog(w, "target %zu: %s%s%s", i, smpfota_fleet_outcome_name(ft->outcome),
		     ft->err ? " " : "", ft->err ? smpfota_errname(ft->err) : "");
	}
}

/* The master (re)starts: its RAM is new; what it saved in flash brings the fleet back. */
static int m_start(struct fl_world *w)
{
	const struct smpfota_sim_config *c = w->c;
	for (unsigned i = 0; i < SMPFOTA_SIM_FLEET_PIPES; i++) {
		w->pipe_of[i] = -1;
	}
	for (unsigned i = 0; i < w->n; i++) {
		struct fl_target *t = &w->t[i];
		smpfota_emu_esb_init(&t->ptx, true);
		t->stopped = false;
		t->pipe = -1;
		struct smpfota_esb_link_config lc = {
			.role = SMPFOTA_ESB_PTX,
			.radio = {.write_payload = m_radio_write,
				  .read_rx_payload = m_radio_read,
				  .start_tx = m_start_tx,
				  .flush_tx = m_flush_tx,
				  .is_idle = m_is_idle,
				  .ctx = t,
				  .max_payload = c->t.max_payload},
			.pipe = 0,
			.first_id = (uint8_t)rnd(w),
			.txq = t->m_txq,
			.txq_size = sizeof(t->m_txq),
			.rx_buf = t->m_rx,
			.rx_size = sizeof(t->m_rx),
			.rx = m_link_rx,
			.user = t,
		};
		int rc = smpfota_esb_link_init(&t->mlink, &lc, us32(w->now));
		struct smpfota_client_config cc = {
			.tx = {.send = smpfota_esb_link_transport_send,
			       .ctx = &t->mlink,
			       .mtu = FRAME_MAX},
			.buf = t->cli_buf,
			.buf_size = (SMPFOTA_CLIENT_MAX_INFLIGHT + 1) * (size_t)FRAME_MAX,
			.frame_cap = FRAME_MAX,
			.slots = SMPFOTA_CLIENT_MAX_INFLIGHT,
			.version = SMPFOTA_SMP_V2,
			.timeout_ms = 2500,
			.retries = 3,
			.seq = (uint8_t)rnd(w),
		};
		rc = rc ? rc : smpfota_client_init(&t->cli, &cc);
		if (rc != 0) {
			return rc;
		}
		w->ft[i].c = &t->cli;
	}
	bool seq = w->fc->mode == SMPFOTA_SIM_FLEET_SEQUENTIAL;
	struct smpfota_fleet_config fc = {
		.targets = w->ft,
		.n = w->n,
		.src = &w->src,
		.img = &w->info,
		.update = {.upload = {.window = c->window, .max_failures = 20},
			   .force = w->force,
			   .reset_wait_ms = 300000 /* a swap of a full internal slot: ~40 s */},
		.max_uploads = seq ? 1 : 0,
		.max_reboots = seq ? 1 : (w->fc->max_reboots ? w->fc->max_reboots : (uint16_t)w->n),
		.record = w->rec,
		.record_size = sizeof(w->rec),
		.save = save_record,
		.on_target = on_target,
		.user = w,
	};
	int rc = smpfota_fleet_init(&w->fleet, &fc);
	if (rc == 0 && w->saved_len != 0 &&
	    smpfota_fleet_restore(&w->fleet, w->saved, w->saved_len) == 0) {
		flog(w, "master: distribution record restored");
	}
	w->m_up = true;
	w->fleet_started = false;
	w->bq_count = 0;
	if (rc == 0 && w->bcast && w->r->bcast_us == 0) {
		flog(w, "master: broadcast");
		return bcast_start(w); /* the fleet starts when it ends */
	}
	w->fleet_started = rc == 0;
	return rc ? rc : smpfota_fleet_start(&w->fleet, sim_ms(w->now));
}

static void m_reset(struct fl_world *w)
{
	flog(w, "master: fault: reset");
	w->r->master_resets++;
	abort_air(w, NULL);
	for (unsigned i = 0; i < w->n; i++) {
		smpfota_client_cancel(&w->t[i].cli);
		smpfota_emu_esb_init(&w->t[i].ptx, true);
	}
	memset(&w->fleet, 0, sizeof(w->fleet)); /* RAM lost */
	w->bcast_running = false;
	w->bq_count = 0;
	w->m_up = false;
	w->m_up_at = w->now + w->c->t.boot_us * US;
}

static uint64_t m_next(const struct fl_world *w)
{
	const struct smpfota_sim_faults *f = &w->c->f;
	uint64_t n = NEVER;
	if (!w->m_reset_done && f->master_reset_at_us) {
		n = f->master_reset_at_us * US;
	}
	if (!w->m_up) {
		return min64(n, w->m_up_at);
	}
	for (unsigned i = 0; i < w->n; i++) {
		const struct fl_target *t = &w->t[i];
		if (t->ptx.ev) {
			return w->now;
		}
		int32_t d = smpfota_esb_link_next_deadline(&t->mlink, us32(w->now));
		if (d >= 0) {
			n = min64(n, w->now + (uint64_t)d * US);
		}
	}
	int32_t d = w->bcast_running   ? smpfota_bcast_master_next_deadline(&w->bm, sim_ms(w->now))
		    : w->fleet_started ? smpfota_fleet_next_deadline(&w->fleet, sim_ms(w->now))
				       : 0;
	if (d >= 0) {
		n = min64(n, d == 0 ? w->now : ((uint64_t)sim_ms(w->now) + (uint64_t)d) * MS);
	}
	return n;
}

static int m_step(struct fl_world *w)
{
	const struct smpfota_sim_faults *f = &w->c->f;
	if (!w->m_reset_done && f->master_reset_at_us && w->now >= f->master_reset_at_us * US) {
		w->m_reset_done = true;
		m_reset(w);
		return 0;
	}
	if (!w->m_up) {
		return w->now >= w->m_up_at ? m_start(w) : 0;
	}
	for (unsigned i = 0; i < w->n; i++) {
		struct fl_target *t = &w->t[i];
		if (t->ptx.ev) {
			unsigned ev = t->ptx.ev;
			t->ptx.ev = 0;
			smpfota_emu_esb_deliver(&t->mlink, ev, us32(w->now));
		}
		smpfota_esb_link_poll(&t->mlink, us32(w->now));
	}
	if (w->bcast_running) {
		smpfota_bcast_master_poll(&w->bm, sim_ms(w->now));
		if (smpfota_bcast_master_finished(&w->bm)) {
			w->bcast_running = false;
			w->r->bcast_us = w->now / US;
			w->r->bcast_repairs = w->bm.stats.repairs;
			for (unsigned i = 0; i < w->n; i++) {
				w->r->t[i].bcast = w->members[i].result;
				flog(w, "target %u: broadcast %s", i,
				     smpfota_bcast_result_name(w->members[i].result));
			}
			w->fleet_started = true; /* the rest by unicast, then activation */
			return smpfota_fleet_start(&w->fleet, sim_ms(w->now));
		}
		return 0;
	}
	if (w->fleet_started) {
		smpfota_fleet_poll(&w->fleet, sim_ms(w->now));
	}
	return 0;
}

/* ---- the run ------------------------------------------------------------------------------- */

static int run_loop(struct fl_world *w)
{
	uint64_t limit = w->c->max_virtual_us * US;
	uint64_t last = w->now;
	unsigned same = 0;
	uint64_t tn[SMPFOTA_SIM_FLEET_MAX];
	while (!(w->m_up && w->fleet_started && smpfota_fleet_finished(&w->fleet))) {
		/* What is due is decided from one look at every part: a deadline given relative
		 * to the time it is asked at (a link's poll interval) would never fall due if it
		 * were asked again once time has moved on. */
		w->now = last;
		uint64_t an = air_next(w), mn = m_next(w);
		uint64_t n = min64(an, mn);
		for (unsigned i = 0; i < w->n; i++) {
			tn[i] = t_next(w, &w->t[i]);
			n = min64(n, tn[i]);
		}
		if (n < last) {
			n = last;
		}
		if (n == last && ++same > 10000) {
			n = last + US; /* something keeps asking for "now": let time move */
			same = 0;
			w->r->spins++;
		} else if (n != last) {
			same = 0;
		}
		if (n == NEVER || n > limit) {
			w->now = n == NEVER ? last : limit;
			return 0;
		}
		last = n;
		w->now = n;
		if (an <= n) {
			air_step(w);
		}
		w->now = n;
		if (mn <= n) {
			int rc = m_step(w);
			if (rc != 0) {
				return rc;
			}
		}
		for (unsigned i = 0; i < w->n; i++) {
			w->now = n;
			if (tn[i] <= n) {
				t_step(w, &w->t[i]);
			}
		}
	}
	return 0;
}

static void results(struct fl_world *w)
{
	struct smpfota_sim_fleet_result *r = w->r;
	r->virtual_us = w->now / US;
	r->image_bytes = (uint32_t)w->len;
	r->ok = true;
	uint8_t buf[256];
	for (unsigned i = 0; i < w->n; i++) {
		struct fl_target *t = &w->t[i];
		struct smpfota_sim_fleet_target *res = &r->t[i];
		t->charging = false;
		res->byte_exact = true;
		for (size_t off = 0; off < w->len && res->byte_exact; off += sizeof(buf)) {
			size_t n = w->len - off < sizeof(buf) ? w->len - off : sizeof(buf);
			if (smpfota_flash_area_read(&t->tgt.images[0].primary, (uint32_t)off, buf,
						    n) != 0 ||
			    memcmp(buf, w->image + off, n) != 0) {
				res->byte_exact = false;
			}
		}
		struct smpfota_boot_trailer tr;
		res->confirmed = smpfota_boot_read_trailer(&t->tgt.images[0].primary, &tr) == 0 &&
				 ((tr.magic == SMPFOTA_BOOT_MAGIC_GOOD &&
				   tr.image_ok == SMPFOTA_BOOT_FLAG_SET) ||
				  tr.magic == SMPFOTA_BOOT_MAGIC_UNSET);
		if (res->outcome == SMPFOTA_FLEET_UPDATED) {
			r->updated++;
		}
		if (res->staged_us > r->distributed_us) {
			r->distributed_us = res->staged_us;
		}
		r->ok = r->ok && res->outcome == SMPFOTA_FLEET_UPDATED && res->byte_exact &&
			res->confirmed;
	}
}

int smpfota_sim_fleet_run(const struct smpfota_sim_fleet_config *fc, const uint8_t *image,
			  size_t len, struct smpfota_sim_fleet_result *r)
{
	memset(r, 0, sizeof(*r));
	if (fc == NULL || fc->base == NULL || fc->n == 0 || fc->n > SMPFOTA_SIM_FLEET_MAX ||
	    fc->base->link != SMPFOTA_SIM_LINK_ESB || fc->base->naive || fc->base->buf_size < 128 ||
	    fc->base->buf_size > FRAME_MAX || fc->base->slot_size < 8 * PAGE ||
	    fc->base->slot_size % PAGE || fc->base->t.ipc_ring < 2 * FRAME_MAX ||
	    fc->base->t.qspi_read_kBps == 0 || fc->base->t.bitrate_kbps == 0 ||
	    fc->base->f.loss < 0 || fc->base->f.loss >= 1 || fc->base->f.ack_loss < 0 ||
	    fc->base->f.ack_loss >= 1 || len > fc->base->slot_size) {
		return SMPFOTA_ERR_INVAL;
	}
	for (unsigned i = 0; i < fc->n; i++) {
		if (fc->tf[i].loss < 0 || fc->tf[i].loss >= 1) {
			return SMPFOTA_ERR_INVAL;
		}
	}
	struct fl_world *w = calloc(1, sizeof(*w));
	struct fl_target *ts = calloc(fc->n, sizeof(*ts));
	struct smpfota_bcast_member *mb = calloc(fc->n, sizeof(*mb));
	int rc = w && ts && mb ? 0 : SMPFOTA_ERR_NOMEM;
	if (rc == 0) {
		w->fc = fc;
		w->c = fc->base;
		w->r = r;
		w->rng = fc->base->seed * 0x2545f4914f6cdd1dULL + 7;
		w->image = image;
		w->len = len;
		w->t = ts;
		w->n = fc->n;
		w->members = mb;
		w->bcast = fc->mode == SMPFOTA_SIM_FLEET_BROADCAST;
		w->src = (struct smpfota_upload_source){
			.read = src_read, .ctx = w, .size = (uint32_t)len};
		rc = smpfota_update_check_image(&w->src, &w->info);
	}
	if (rc == 0) {
		const struct smpfota_image_version *v = &w->info.hdr.version;
		w->force = v->major == 0 && v->minor == 0 && v->revision == 0 && v->build == 0;
	}
	for (unsigned i = 0; rc == 0 && i < fc->n; i++) {
		struct fl_target *t = &ts[i];
		t->w = w;
		t->idx = i;
		t->res = &r->t[i];
		t->cli_buf = malloc((SMPFOTA_CLIENT_MAX_INFLIGHT + 1) * (size_t)FRAME_MAX);
		rc = t->cli_buf ? target_setup(w, t) : SMPFOTA_ERR_NOMEM;
		if (rc == 0) {
			smpfota_emu_esb_init(&t->prx, false);
			t_boot(w, t, false); /* power-on at 0 */
			t->res->resets = 0;
			if (fc->tf[i].cut_at_op) {
				t->slot_nor->power_cut_at_op = t->slot_nor->ops +
							       fc->tf[i].cut_at_op;
			}
		}
	}
	if (rc == 0) {
		/* the master's own start-up */
		w->now = fc->base->t.boot_us * US;
		w->busy = false;
		w->t_next = NEVER;
		rc = m_start(w);
	}
	if (rc == 0) {
		rc = run_loop(w);
	}
	if (rc == 0) {
		results(w);
	}
	for (unsigned i = 0; ts != NULL && i < fc->n; i++) {
		free(ts[i].app_mem);
		free(ts[i].qspi_mem);
		free(ts[i].cli_buf);
	}
	free(ts);
	free(mb);
	free(w);
	return rc;
}
