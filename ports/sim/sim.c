/*
 * Two-board nRF5340 simulator (see sim.h): discrete events in virtual time, nanoseconds.
 *
 * Each part is a small state machine with the time it next needs to run; the main loop
 * advances virtual time to the earliest of them and runs every part due then, in a fixed
 * order, so a run is reproducible for a seed. Cores run their handlers to completion; a
 * handler's cost (flash operations, IPC round trips, CPU) advances the core's own clock
 * (w->now while it runs), and whatever it emits is stamped with that clock.
 *
 * Timings: shared/spec/esb-nrf5340.md, "Timing model for the simulator".
 */
#include "sim/sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "smpfota/boot.h"
#include "smpfota/client.h"
#include "smpfota/esb_link.h"
#include "smpfota/image.h"
#include "emu/nor.h"
#include "smpfota/server.h"
#include "smpfota/smpfota.h"
#include "smpfota/update.h"

#define NEVER UINT64_MAX
#define US 1000ULL /* ns */
#define MS 1000000ULL
#define FIFO 8U     /* CONFIG_ESB_TX_FIFO_SIZE / RX_FIFO_SIZE (spec §1.5) */
#define IPC_MAXQ 512U
#define IPC_HDR 8U  /* ring bytes per message besides the data (estimate of ICMsg's) */
#define FRAME_MAX 4096U
#define HIST FIFO /* a stale packet can only come from the 8-entry TX FIFO */
#define PAGE 4096U
#define WRITE_SIZE 4U

enum { EV_TX_OK = 1, EV_TX_FAIL = 2, EV_RX = 4 };

/* ---- small parts ---------------------------------------------------------------------------- */

struct fifo {
	struct smpfota_esb_payload e[FIFO];
	unsigned head, count;
};

static bool fifo_push(struct fifo *f, const struct smpfota_esb_payload *p)
{
	if (f->count == FIFO) {
		return false;
	}
	f->e[(f->head + f->count) % FIFO] = *p;
	f->count++;
	return true;
}

static void fifo_pop(struct fifo *f)
{
	f->head = (f->head + 1) % FIFO;
	f->count--;
}

struct ipc_msg {
	uint64_t ready;
	uint16_t len;
	uint8_t data[FRAME_MAX];
};

/* One ICMsg direction: a ring of `cap` bytes; a message holds its room until taken. */
struct ipc {
	struct ipc_msg *q; /* IPC_MAXQ entries */
	unsigned head, count;
	uint32_t used, cap;
	uint64_t last_ready;
};

enum ptx_phase { P_IDLE, P_START, P_END, P_ACKED, P_FAILWAIT, P_STOPPED };

struct world;
struct board;

struct radio {
	struct world *w;
	struct board *b;
	struct fifo tx, rx;
	unsigned ev;              /* events raised, not yet handled by the link's core */
	uint8_t pid;
	/* PTX */
	enum ptx_phase phase;
	uint64_t t_next;
	uint64_t ready_at;        /* earliest start of the next transaction */
	uint64_t d_time;          /* radio DISABLED after the packet of this attempt */
	unsigned attempts;
	struct smpfota_esb_payload ack;
	/* PRX */
	bool ack_out;             /* the TX FIFO head went out with the last ACK */
	bool have_last;
	struct smpfota_esb_payload last;
	struct smpfota_esb_payload hist[HIST];
	unsigned hist_n;
};

struct flash_dev {
	struct world *w;
	bool qspi;
};

#define RPCQ 64U
enum { RPC_WRITE, RPC_START, RPC_FLUSH };

struct rpc_op {
	uint64_t at;
	int kind;
	struct smpfota_esb_payload p;
};

struct board {
	struct world *w;
	bool master;
	struct radio radio;
	struct smpfota_esb_link link;
	uint8_t txq[16384];
	uint8_t rxbuf[FRAME_MAX];
	struct ipc a2n, n2a;
	bool a2n_blocked;         /* the link refused the a2n head; retry after link progress */
	bool evt_msg;             /* naive: an event message is in n2a */
	uint64_t evt_ready;
	uint64_t app_free;        /* app core busy until */
	uint64_t up_at;           /* radio and cores run from this time (after a reset) */
	bool link_ready;
	/* a frame the app core could not hand over yet */
	uint8_t pend[FRAME_MAX];
	uint16_t pend_len;
	uint8_t scratch[FRAME_MAX];
	/* naive: radio calls on their way to the net core */
	struct rpc_op rpcq[RPCQ];
	unsigned rq_head, rq_count;
	unsigned pending_writes;
};

struct world {
	const struct smpfota_sim_config *c;
	uint64_t now;             /* clock of whatever runs now */
	uint64_t rng;
	bool charging;            /* flash operations cost time (not during set-up) */
	struct board *running;    /* naive: the board whose app core runs a handler now */

	struct board m, t;

	/* master */
	const uint8_t *image;
	size_t len;
	struct smpfota_client cli;
	uint8_t *cli_buf;
	size_t cli_buf_size;
	struct smpfota_update upd;
	struct smpfota_upload_source src;
	struct smpfota_image_info info;
	bool force;
	bool m_kick;              /* a refused send may go now */
	uint64_t m_restart_at;
	bool done;
	int err;
	int step;
	uint64_t upload_start, upload_end;
	uint32_t last_pct;

	/* target */
	uint8_t *app_mem, *qspi_mem;
	struct smpfota_nor app_nor, qspi_nor;
	struct flash_dev dev_app, dev_qspi;
	struct smpfota_boot_image img;
	struct smpfota_server_config scfg;
	struct smpfota_server srv;
	uint8_t boot_buf[PAGE];
	uint64_t t_reset_at;
	bool t_reset_warm;
	uint8_t old_hash[32];     /* SHA-256 TLV of the image the target ran before */

	bool fault_t_done, fault_m_done;

	/* Target flash operations (writes and erases, every device) since set-up, for power
	 * cuts "at operation N" and for interrupting an MCUboot run by a reset. */
	uint32_t g_ops;
	bool counting;
	uint32_t cut_at;          /* global operation to cut at; 0 = none */
	/* The latest MCUboot run: flash before it, and when each of its operations ended. */
	struct {
		bool valid, recording;
		uint32_t g0, n, cap;
		uint64_t start, end;
		uint64_t *op_end;
		uint8_t *app_snap, *qspi_snap;
		struct smpfota_nor app_nor, qspi_nor;
	} boot;
	struct smpfota_sim_stats *st;
};

static uint64_t rnd(struct world *w)
{
	/* splitmix64: good enough, and the same everywhere */
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool chance(struct world *w, double p)
{
	if (p <= 0) {
		return false;
	}
	return (double)(rnd(w) >> 11) * (1.0 / 9007199254740992.0) < p;
}

static void logf_(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(struct world *w, const char *fmt, ...)
{
	if (w->c->log == NULL) {
		return;
	}
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	w->c->log(w->c->user, w->now / US, line);
}

/* ---- timing (spec "Constants" and §2.3) ------------------------------------------------------ */

static unsigned pcf_bits(const struct smpfota_sim_timing *t)
{
	return t->max_payload > 32 ? 11U : 9U;
}

/* On-air time of a packet with `len` payload bytes, ns. */
static uint64_t air_ns(const struct smpfota_sim_timing *t, unsigned len)
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
	return chance(w, 1.0 - ok);
}

double smpfota_sim_radio_limit_kBps(const struct smpfota_sim_config *c)
{
	const struct smpfota_sim_timing *t = &c->t;
	/* T = ramp_TX + t_pkt + tTXDIS + ramp_RX + t_ACK + t_sw (spec §2.3) */
	double T = (double)t->ramp_us + (double)air_ns(t, t->max_payload) / 1000.0 + t->txdis_us +
		   t->ramp_us + (double)air_ns(t, 0) / 1000.0 + t->t_sw_us;
	return t->max_payload / T * 1000.0; /* B/µs -> kB/s */
}

double smpfota_sim_flash_limit_kBps(const struct smpfota_sim_config *c)
{
	const struct smpfota_sim_timing *t = &c->t;
	switch (c->scenario) {
	case SMPFOTA_SIM_RADIO: /* QSPI program only: 256 B per page program */
		return 256.0 / t->qspi_prog_us * 1000.0;
	case SMPFOTA_SIM_QSPI: /* 4 KB sector erase + 16 page programs */
		return 4096.0 / (t->qspi_erase_us + 16.0 * t->qspi_prog_us) * 1000.0;
	case SMPFOTA_SIM_INTERNAL: /* page erase + 1024 word writes */
	default:
		return 4096.0 / (t->page_erase_us + 1024.0 * t->word_write_us) * 1000.0;
	}
}

double smpfota_sim_limit_kBps(const struct smpfota_sim_config *c)
{
	double r = smpfota_sim_radio_limit_kBps(c), f = smpfota_sim_flash_limit_kBps(c);
	return r < f ? r : f;
}

const char *smpfota_sim_scenario_name(enum smpfota_sim_scenario s)
{
	switch (s) {
	case SMPFOTA_SIM_RADIO: return "radio";
	case SMPFOTA_SIM_INTERNAL: return "internal";
	case SMPFOTA_SIM_QSPI: return "qspi";
	}
	return "?";
}

int smpfota_sim_scenario_parse(const char *name)
{
	for (int s = SMPFOTA_SIM_RADIO; s <= SMPFOTA_SIM_QSPI; s++) {
		if (strcmp(name, smpfota_sim_scenario_name((enum smpfota_sim_scenario)s)) == 0) {
			return s;
		}
	}
	return -1;
}

void smpfota_sim_defaults(struct smpfota_sim_config *c, enum smpfota_sim_scenario s)
{
	memset(c, 0, sizeof(*c));
	c->scenario = s;
	c->t = (struct smpfota_sim_timing){
		.bitrate_kbps = 2000, .preamble = 2, .address = 5, .crc = 2, .max_payload = 252,
		.ramp_us = 40, .txdis_us = 4, .ack_timeout_us = 160, .retransmit_delay_us = 600,
		.retransmit_count = 3, .t_sw_us = 20,
		.ipc_ring = 32768, .ipc_msg_us = 50, .ipc_ns_per_byte = 10,
		.cpu_msg_us = 100, .boot_us = 300000, .reset_delay_us = 250000,
		.page_erase_us = 87500, .word_write_us = 43,
		.qspi_erase_us = 48000, .qspi_prog_us = 896, .qspi_read_kBps = 4000,
	};
	c->seed = 1;
	c->buf_size = 2475;
	c->buf_count = 4;
	c->slot_size = 0x74000;
	c->max_virtual_us = 600ULL * 1000000ULL;
}

/* ---- IPC -------------------------------------------------------------------------------------- */

static uint32_t ipc_room(unsigned len)
{
	return ((len + 3U) & ~3U) + IPC_HDR;
}

static int ipc_send(struct world *w, struct ipc *q, const uint8_t *p, size_t len)
{
	if (len > FRAME_MAX || q->count == IPC_MAXQ || q->used + ipc_room((unsigned)len) > q->cap) {
		w->st->ipc_full++;
		return SMPFOTA_ERR_BUSY;
	}
	struct ipc_msg *m = &q->q[(q->head + q->count) % IPC_MAXQ];
	uint64_t ready = w->now + w->c->t.ipc_msg_us * US + (uint64_t)len * w->c->t.ipc_ns_per_byte;
	if (ready < q->last_ready) {
		ready = q->last_ready; /* a ring delivers in order */
	}
	q->last_ready = ready;
	m->ready = ready;
	m->len = (uint16_t)len;
	memcpy(m->data, p, len);
	q->count++;
	q->used += ipc_room((unsigned)len);
	w->st->ipc_msgs++;
	return 0;
}

static struct ipc_msg *ipc_head(struct ipc *q, uint64_t now)
{
	if (q->count == 0 || q->q[q->head].ready > now) {
		return NULL;
	}
	return &q->q[q->head];
}

static uint64_t ipc_next(const struct ipc *q)
{
	return q->count ? q->q[q->head].ready : NEVER;
}

static void ipc_pop(struct ipc *q)
{
	q->used -= ipc_room(q->q[q->head].len);
	q->head = (q->head + 1) % IPC_MAXQ;
	q->count--;
}

static void ipc_clear(struct ipc *q)
{
	q->head = q->count = 0;
	q->used = 0;
	q->last_ready = 0;
}

/* ---- radio ------------------------------------------------------------------------------------ */

static struct board *peer(struct board *b)
{
	return b->master ? &b->w->t : &b->w->m;
}

static void radio_reset(struct radio *r)
{
	struct world *w = r->w;
	struct board *b = r->b;
	memset(r, 0, sizeof(*r));
	r->w = w;
	r->b = b;
	r->phase = P_IDLE;
	r->t_next = NEVER;
}

static void radio_raise(struct radio *r, unsigned ev)
{
	r->ev |= ev;
}

/* A packet reaches the PRX. Returns -1 when no ACK is sent, else the ACK payload length
 * (0..252) copied into *ack. */
static int prx_receive(struct radio *r, const struct smpfota_esb_payload *p,
		       struct smpfota_esb_payload *ack)
{
	struct world *w = r->w;
	if (r->rx.count == FIFO) {
		w->st->withheld++; /* esb.c on_radio_disabled_rx: RX FIFO full, no ACK (§1.8) */
		return -1;
	}
	bool dup = r->have_last && r->last.pid == p->pid && r->last.length == p->length &&
		   memcmp(r->last.data, p->data, p->length) == 0;
	if (!dup) {
		/* Fault: a stale packet the PID check did not catch arrives first. */
		if (r->hist_n > 0 && chance(w, w->c->f.replay) && r->rx.count < FIFO - 1) {
			struct smpfota_esb_payload old = r->hist[rnd(w) % (r->hist_n < HIST ? r->hist_n : HIST)];
			(void)fifo_push(&r->rx, &old);
			w->st->replays++;
		}
		(void)fifo_push(&r->rx, p);
		radio_raise(r, EV_RX);
		r->last = *p;
		r->have_last = true;
		if (p->length > SMPFOTA_ESB_HDR_SIZE) {
			r->hist[r->hist_n % HIST] = *p;
			r->hist_n++;
		}
		if (r->ack_out) {
			fifo_pop(&r->tx); /* delivered, as far as ESB knows */
			r->ack_out = false;
			radio_raise(r, EV_TX_OK);
		}
		if (r->tx.count > 0) {
			r->ack_out = true;
		}
	}
	if (!r->ack_out) {
		ack->length = 0;
		return 0;
	}
	*ack = r->tx.e[r->tx.head];
	return ack->length;
}

static void ptx_schedule(struct radio *r)
{
	if (r->phase == P_IDLE && r->tx.count > 0) {
		r->phase = P_START;
		r->t_next = r->ready_at > r->w->now ? r->ready_at : r->w->now;
	}
}

static bool board_up(const struct board *b, uint64_t at)
{
	return at >= b->up_at;
}

static void ptx_step(struct radio *r)
{
	struct world *w = r->w;
	const struct smpfota_sim_timing *t = &w->c->t;
	uint64_t now = r->t_next;
	struct smpfota_esb_payload *p = &r->tx.e[r->tx.head];

	switch (r->phase) {
	case P_START:
		r->d_time = now + t->ramp_us * US + air_ns(t, p->length) + t->txdis_us * US;
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
		if (chance(w, w->c->f.loss)) {
			w->st->lost++;
		} else if (bit_error(w, packet_bits(t, p->length))) {
			w->st->crc_errors++;
		} else if (board_up(pb, now)) {
			uint64_t save = w->now;
			w->now = now;
			acklen = prx_receive(&pb->radio, p, &r->ack);
			w->now = save;
		}
		bool ok = acklen >= 0;
		if (ok && chance(w, w->c->f.ack_loss)) {
			w->st->ack_lost++;
			ok = false;
		} else if (ok && bit_error(w, packet_bits(t, (unsigned)acklen))) {
			w->st->crc_errors++;
			ok = false;
		}
		if (ok && acklen > 0 && r->rx.count == FIFO) {
			ok = false; /* nowhere to put the ACK payload: as if lost */
		}
		if (ok) {
			r->phase = P_ACKED;
			r->t_next = now + t->ramp_us * US + air_ns(t, (unsigned)acklen);
		} else if (++r->attempts > t->retransmit_count) {
			r->phase = P_FAILWAIT;
			r->t_next = now + (t->ramp_us + t->ack_timeout_us) * US;
		} else {
			/* the retransmit timer runs from DISABLED; TXEN at delay - ramp (§1.2) */
			r->phase = P_START;
			uint64_t d = t->retransmit_delay_us > t->ramp_us
					     ? (t->retransmit_delay_us - t->ramp_us) * US : 0;
			r->t_next = now + d;
		}
		return;
	}
	case P_ACKED:
		if (r->ack.length > 0) {
			(void)fifo_push(&r->rx, &r->ack);
			radio_raise(r, EV_RX);
		}
		fifo_pop(&r->tx);
		radio_raise(r, EV_TX_OK);
		r->attempts = 0;
		r->ready_at = now + t->t_sw_us * US;
		r->phase = P_IDLE;
		r->t_next = NEVER;
		{
			uint64_t save = w->now;
			w->now = now;
			ptx_schedule(r);
			w->now = save;
		}
		return;
	case P_FAILWAIT:
		radio_raise(r, EV_TX_FAIL);
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

/* ---- radio ops for the link (struct smpfota_esb_radio) ----------------------------------------- */

/* Naive design: each radio call is an nRF RPC command from the app core: the caller blocks
 * for a round trip, and the call takes effect on the net core after the first hop. */
static bool rpc(struct board *b)
{
	return b->w->c->naive && b->w->running == b;
}

static uint64_t rpc_cost(struct board *b, size_t len)
{
	struct world *w = b->w;
	uint64_t hop = w->c->t.ipc_msg_us * US + (uint64_t)len * w->c->t.ipc_ns_per_byte;
	uint64_t at = w->now + hop;
	w->now += 2 * hop;
	w->st->ipc_msgs += 2;
	return at;
}

static void rpc_queue(struct board *b, uint64_t at, int kind, const struct smpfota_esb_payload *p)
{
	struct rpc_op *o = &b->rpcq[(b->rq_head + b->rq_count) % RPCQ];
	o->at = at;
	o->kind = kind;
	if (p != NULL) {
		o->p = *p;
	}
	b->rq_count++;
}

static void apply_write(struct board *b, const struct smpfota_esb_payload *p)
{
	struct radio *r = &b->radio;
	struct smpfota_esb_payload q = *p;
	if (b->master) {
		q.pid = r->pid;
		r->pid = (uint8_t)((r->pid + 1) & 3);
	}
	(void)fifo_push(&r->tx, &q);
	if (b->master) {
		ptx_schedule(r);
	}
}

static void apply_start_tx(struct board *b)
{
	struct radio *r = &b->radio;
	if (r->phase == P_STOPPED) {
		r->phase = P_IDLE;
		r->attempts = 0;
		ptx_schedule(r);
	}
}

static void apply_flush_tx(struct board *b)
{
	struct radio *r = &b->radio;
	r->tx.count = 0;
	r->attempts = 0;
	r->phase = P_IDLE;
	r->t_next = NEVER;
}

/* The net core carries out queued RPC commands (naive design) when they arrive. */
static uint64_t rpc_next(const struct board *b)
{
	return b->rq_count ? b->rpcq[b->rq_head].at : NEVER;
}

static void rpc_step(struct board *b)
{
	while (b->rq_count && b->rpcq[b->rq_head].at <= b->w->now) {
		struct rpc_op *o = &b->rpcq[b->rq_head];
		b->rq_head = (b->rq_head + 1) % RPCQ;
		b->rq_count--;
		if (o->kind == RPC_WRITE) {
			b->pending_writes--;
			apply_write(b, &o->p);
		} else if (o->kind == RPC_START) {
			apply_start_tx(b);
		} else {
			apply_flush_tx(b);
		}
	}
}

static int op_write(void *ctx, const struct smpfota_esb_payload *p)
{
	struct board *b = ctx;
	if (!rpc(b)) {
		if (b->radio.tx.count == FIFO) {
			return SMPFOTA_ERR_NOMEM;
		}
		apply_write(b, p);
		return 0;
	}
	uint64_t at = rpc_cost(b, p->length);
	if (b->radio.tx.count + b->pending_writes >= FIFO || b->rq_count == RPCQ) {
		return SMPFOTA_ERR_NOMEM;
	}
	b->pending_writes++;
	rpc_queue(b, at, RPC_WRITE, p);
	return 0;
}

static int op_read(void *ctx, struct smpfota_esb_payload *p)
{
	struct board *b = ctx;
	struct radio *r = &b->radio;
	if (rpc(b)) {
		(void)rpc_cost(b, r->rx.count ? r->rx.e[r->rx.head].length : 0);
	}
	if (r->rx.count == 0) {
		return 0;
	}
	*p = r->rx.e[r->rx.head];
	fifo_pop(&r->rx);
	return p->length;
}

/* A command without data: carried out now, or queued on its way to the net core. */
static int op_command(struct board *b, int kind)
{
	if (rpc(b) && b->rq_count < RPCQ) {
		rpc_queue(b, rpc_cost(b, 0), kind, NULL);
	} else if (kind == RPC_START) {
		apply_start_tx(b);
	} else {
		apply_flush_tx(b);
	}
	return 0;
}

static int op_start_tx(void *ctx)
{
	return op_command(ctx, RPC_START);
}

static int op_flush_tx(void *ctx)
{
	return op_command(ctx, RPC_FLUSH);
}

static bool op_is_idle(void *ctx)
{
	struct board *b = ctx;
	struct radio *r = &b->radio;
	if (rpc(b)) {
		(void)rpc_cost(b, 0);
	}
	return r->tx.count == 0 && b->pending_writes == 0 &&
	       (r->phase == P_IDLE || r->phase == P_STOPPED);
}

/* ---- flash timing (nor.h on_op hook) ---------------------------------------------------------- */

/* Point each device's power_cut_at_op at the global operation w->cut_at. */
static void arm_cut(struct world *w)
{
	struct smpfota_nor *devs[2] = {&w->app_nor, w->qspi_mem ? &w->qspi_nor : NULL};
	for (int i = 0; i < 2; i++) {
		if (devs[i] != NULL) {
			devs[i]->power_cut_at_op =
				w->cut_at > w->g_ops ? devs[i]->ops + (w->cut_at - w->g_ops) : 0;
		}
	}
}

static void count_op(struct world *w)
{
	if (!w->counting) {
		return;
	}
	w->g_ops++;
	if (w->boot.recording) {
		if (w->boot.n < w->boot.cap) {
			w->boot.op_end[w->boot.n++] = w->now;
		} else {
			w->boot.recording = false; /* too long to replay: resets won't interrupt it */
		}
	}
	if (w->cut_at != 0 && w->g_ops >= w->cut_at) {
		w->cut_at = 0; /* fired (the hook runs after the cut operation) */
	}
	arm_cut(w);
}

static void on_flash_op(void *ctx, int kind, uint32_t off, size_t len)
{
	(void)off;
	struct flash_dev *d = ctx;
	struct world *w = d->w;
	const struct smpfota_sim_timing *t = &w->c->t;
	if (!w->charging) {
		if (kind != SMPFOTA_NOR_OP_READ) {
			count_op(w);
		}
		return;
	}
	uint64_t ns = 0;
	switch (kind) {
	case SMPFOTA_NOR_OP_READ:
		/* app-core flash is memory mapped (no stall worth modelling); QSPI at bus speed */
		ns = d->qspi ? (uint64_t)len * 1000000ULL / t->qspi_read_kBps : 0;
		break;
	case SMPFOTA_NOR_OP_WRITE:
		w->st->flash_writes++;
		ns = d->qspi ? (uint64_t)len * t->qspi_prog_us * US / 256U
			     : (uint64_t)((len + 3) / 4) * t->word_write_us * US;
		break;
	case SMPFOTA_NOR_OP_ERASE:
		w->st->flash_erases++;
		ns = (uint64_t)((len + PAGE - 1) / PAGE) * (d->qspi ? t->qspi_erase_us : t->page_erase_us) * US;
		break;
	default:
		break;
	}
	w->now += ns;
	if (kind != SMPFOTA_NOR_OP_READ) {
		count_op(w);
	}
}

/* ---- the master's application core ------------------------------------------------------------ */

static int m_transport_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct world *w = ctx;
	int rc = w->c->naive ? smpfota_esb_link_send(&w->m.link, frame, len)
			     : ipc_send(w, &w->m.a2n, frame, len);
	if (rc == 0) {
		w->st->frames_from_master++;
	}
	return rc;
}

static void on_step(void *user, enum smpfota_update_step step)
{
	struct world *w = user;
	logf_(w, "%s", smpfota_update_step_name((int)step));
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
		logf_(w, "upload %3u%%  %u/%u bytes, window %u", pct, p->done, p->total, p->window);
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
	logf_(w, "update %s%s%s", err ? "failed: " : "done", err ? smpfota_errname(err) : "",
	      err ? "" : "");
}

static int src_read(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
	struct world *w = ctx;
	if ((uint64_t)off + len > w->len) {
		return SMPFOTA_ERR_IO;
	}
	memcpy(buf, w->image + off, len);
	return 0;
}

static uint32_t ms(uint64_t ns)
{
	return (uint32_t)(ns / MS);
}

static int master_start(struct world *w)
{
	struct smpfota_client_config cfg = {
		.tx = {.send = m_transport_send, .ctx = w, .mtu = FRAME_MAX},
		.buf = w->cli_buf,
		.buf_size = w->cli_buf_size,
		.frame_cap = FRAME_MAX,
		.slots = SMPFOTA_CLIENT_MAX_INFLIGHT,
		.version = SMPFOTA_SMP_V2,
		.timeout_ms = 2500,
		.retries = 3,
		.seq = (uint8_t)rnd(w),
	};
	int rc = smpfota_client_init(&w->cli, &cfg);
	if (rc != 0) {
		return rc;
	}
	struct smpfota_update_params prm = {
		.window = w->c->naive ? 1 : w->c->window,
		.force = w->force,
		.reset_wait_ms = 300000, /* a swap of a full internal slot takes ~40 s */
		.max_failures = 20,
	};
	return smpfota_update_start(&w->upd, &w->cli, &w->src, &w->info, &prm, on_step, on_progress,
				    on_done, w, ms(w->now));
}

/* ---- link callbacks --------------------------------------------------------------------------- */

static void target_handle(struct world *w, const uint8_t *frame, size_t len);

static int m_link_rx(void *user, const uint8_t *frame, size_t len)
{
	struct world *w = user;
	if (!w->c->naive) {
		return ipc_send(w, &w->m.n2a, frame, len); /* net core -> app core */
	}
	if (w->done) {
		return 0;
	}
	w->now += w->c->t.cpu_msg_us * US;
	(void)smpfota_client_input(&w->cli, frame, len, ms(w->now));
	smpfota_update_poll(&w->upd, ms(w->now));
	return 0;
}

static int t_link_rx(void *user, const uint8_t *frame, size_t len)
{
	struct world *w = user;
	w->st->frames_to_target++;
	if (!w->c->naive) {
		int rc = ipc_send(w, &w->t.n2a, frame, len);
		if (rc != 0) {
			w->st->frames_to_target--; /* offered again */
		}
		return rc;
	}
	if (w->t.pend_len) {
		w->st->frames_to_target--;
		return SMPFOTA_ERR_BUSY;
	}
	target_handle(w, frame, len);
	return 0;
}

static int link_init(struct world *w, struct board *b)
{
	struct smpfota_esb_link_config cfg = {
		.role = b->master ? SMPFOTA_ESB_PTX : SMPFOTA_ESB_PRX,
		.radio = {.write_payload = op_write, .read_rx_payload = op_read,
			  .start_tx = op_start_tx, .flush_tx = op_flush_tx, .is_idle = op_is_idle,
			  .ctx = b, .max_payload = w->c->t.max_payload},
		.pipe = 0,
		.first_id = (uint8_t)rnd(w),
		.txq = b->txq,
		.txq_size = sizeof(b->txq),
		.rx_buf = b->rxbuf,
		.rx_size = b->master ? sizeof(b->rxbuf) : w->c->buf_size,
		.rx = b->master ? m_link_rx : t_link_rx,
		.user = w,
	};
	b->link_ready = true;
	return smpfota_esb_link_init(&b->link, &cfg, (uint32_t)(w->now / US));
}

static void link_stats(struct world *w, const struct smpfota_esb_link *l)
{
	const struct smpfota_esb_link_stats *s = &l->stats;
	w->st->link_drops += s->drop_dup + s->drop_lost + s->drop_orphan + s->drop_malformed +
			     s->drop_overflow + s->drop_discarded;
}

/* ---- the target's application core ------------------------------------------------------------ */

/* Hand a response to the link (naive) or the net core (IPC); keep it when there is no room. */
static void t_emit(struct world *w, const uint8_t *p, size_t len)
{
	int rc = w->c->naive ? smpfota_esb_link_send(&w->t.link, p, len)
			     : ipc_send(w, &w->t.a2n, p, len);
	if (rc == SMPFOTA_ERR_BUSY) {
		memcpy(w->t.pend, p, len);
		w->t.pend_len = (uint16_t)len;
	}
}

static void target_handle(struct world *w, const uint8_t *frame, size_t len)
{
	w->now += w->c->t.cpu_msg_us * US;
	int n = smpfota_server_handle(&w->srv, frame, len, w->t.scratch, sizeof(w->t.scratch));
	if (w->app_nor.power_cut || w->qspi_nor.power_cut) {
		return; /* the device is dead; the main loop restarts it */
	}
	if (n > 0) {
		t_emit(w, w->t.scratch, (size_t)n);
	}
	if (smpfota_server_reset_pending(&w->srv) && w->t_reset_at == NEVER) {
		w->t_reset_at = w->now + w->c->t.reset_delay_us * US;
		w->t_reset_warm = true;
	}
}

static bool powered_off(const struct world *w)
{
	return w->app_nor.power_cut || w->qspi_nor.power_cut;
}

/* What a reset loses on either board: radio FIFOs, IPC rings, the link's state (its
 * counters are kept in the run's statistics first). */
static void board_reset(struct world *w, struct board *b)
{
	radio_reset(&b->radio);
	b->rq_count = 0;
	b->pending_writes = 0;
	ipc_clear(&b->a2n);
	ipc_clear(&b->n2a);
	b->a2n_blocked = false;
	b->evt_msg = false;
	b->pend_len = 0;
	if (b->link_ready) {
		link_stats(w, &b->link);
	}
}

/* Remember the flash before an MCUboot run, so that a reset while it runs can be replayed
 * as an interruption at the operation then in progress. */
static void boot_snapshot(struct world *w)
{
	uint32_t app_size = w->app_nor.flash.size;
	memcpy(w->boot.app_snap, w->app_mem, app_size);
	w->boot.app_nor = w->app_nor;
	if (w->qspi_mem != NULL) {
		memcpy(w->boot.qspi_snap, w->qspi_mem, w->qspi_nor.flash.size);
		w->boot.qspi_nor = w->qspi_nor;
	}
	w->boot.g0 = w->g_ops;
	w->boot.n = 0;
	w->boot.start = w->now;
	w->boot.recording = true;
	w->boot.valid = false;
}

/* A reset at time t while MCUboot was still running (it ran to the end eagerly): put the
 * flash back as it was at t, with the operation in progress cut, as on a real part. */
static void boot_interrupt(struct world *w, uint64_t t)
{
	if (!w->boot.valid || t >= w->boot.end) {
		return;
	}
	uint32_t k = 0;
	while (k < w->boot.n && w->boot.op_end[k] <= t) {
		k++;
	}
	memcpy(w->app_mem, w->boot.app_snap, w->app_nor.flash.size);
	w->app_nor = w->boot.app_nor;
	if (w->qspi_mem != NULL) {
		memcpy(w->qspi_mem, w->boot.qspi_snap, w->qspi_nor.flash.size);
		w->qspi_nor = w->boot.qspi_nor;
	}
	w->g_ops = w->boot.g0;
	w->boot.valid = false;
	if (k == 0 && t < w->boot.start) {
		return; /* reset before MCUboot touched the flash */
	}
	/* replay the first k operations without time, cutting operation k + 1 */
	uint32_t saved = w->cut_at;
	w->cut_at = w->g_ops + k + 1;
	arm_cut(w);
	bool charging = w->charging;
	w->charging = false;
	struct smpfota_boot bt = {.images = &w->img, .n_images = 1, .buf = w->boot_buf,
				  .buf_size = sizeof(w->boot_buf)};
	struct smpfota_boot_result res;
	(void)smpfota_boot_go(&bt, &res);
	w->charging = charging;
	smpfota_nor_power_on(&w->app_nor);
	smpfota_nor_power_on(&w->qspi_nor);
	w->cut_at = saved > w->g_ops ? saved : 0;
	arm_cut(w);
	logf_(w, "target reset interrupted MCUboot at flash operation %u of %u", k + 1, w->boot.n);
}

/* Reset the target: warm (retained RAM keeps the server's upload state) or after a power
 * cut (RAM lost). MCUboot runs on the app core, then the net core starts. */
static void target_boot(struct world *w, bool warm)
{
	struct board *b = &w->t;
	w->st->target_resets++;
	w->st->upload_bytes_written += w->srv.stats.bytes_written;
	w->srv.stats.bytes_written = 0;
	board_reset(w, b);
	b->link_ready = false;
	w->t_reset_at = NEVER;
	if (!warm) {
		memset(&w->srv, 0, sizeof(w->srv));
	}
	for (int tries = 0;; tries++) {
		if (powered_off(w)) {
			w->st->power_cuts++;
			smpfota_nor_power_on(&w->app_nor);
			smpfota_nor_power_on(&w->qspi_nor);
			w->now += 100 * MS; /* power comes back */
			memset(&w->srv, 0, sizeof(w->srv));
			warm = false;
		}
		w->now += w->c->t.boot_us * US;
		struct smpfota_boot bt = {.images = &w->img, .n_images = 1, .buf = w->boot_buf,
					  .buf_size = sizeof(w->boot_buf)};
		struct smpfota_boot_result res;
		boot_snapshot(w);
		int rc = smpfota_boot_go(&bt, &res);
		w->boot.recording = false;
		w->boot.end = w->now;
		w->boot.valid = rc == 0 && w->boot.n < w->boot.cap;
		if (rc == 0 || tries > 3) {
			logf_(w, "target boot: swap %s, %s", smpfota_boot_swap_type_name(res.image[0].swap_type),
			      res.image[0].bootable ? "running" : "NOT BOOTABLE");
			break;
		}
	}
	(void)smpfota_server_init(&w->srv, &w->scfg, warm);
	w->srv.stats.bytes_written = 0; /* counted in st->upload_bytes_written */
	b->app_free = w->now;
	b->up_at = w->now;
	(void)link_init(w, b);
}

/* ---- images and flash set-up -------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* The image the target runs before the update: version 0.0.0+0, the same size as the new
 * one, a SHA-256 TLV as imgtool writes it. */
static int write_old_image(struct world *w, uint32_t len)
{
	const uint32_t hdr = 32, tlv = 4 + 4 + 32;
	if (len < hdr + tlv + 4) {
		len = hdr + tlv + 4;
	}
	uint8_t *img = calloc(1, len + WRITE_SIZE);
	if (img == NULL) {
		return SMPFOTA_ERR_NOMEM;
	}
	uint32_t body = len - hdr - tlv;
	put32(img, SMPFOTA_IMAGE_MAGIC);
	put16(img + 8, (uint16_t)hdr);
	put32(img + 12, body);
	for (uint32_t i = 0; i < body; i++) {
		img[hdr + i] = (uint8_t)rnd(w);
	}
	uint8_t *t = img + hdr + body;
	put16(t, SMPFOTA_IMAGE_TLV_INFO_MAGIC);
	put16(t + 2, (uint16_t)tlv);
	t[4] = 0x10; /* IMAGE_TLV_SHA256 */
	put16(t + 6, 32);
	mbedtls_sha256_context sha;
	mbedtls_sha256_init(&sha);
	int rc = smpfota_sha256_starts(&sha);
	rc = rc ? rc : smpfota_sha256_update(&sha, img, hdr + body);
	rc = rc ? rc : smpfota_sha256_finish(&sha, t + 8);
	mbedtls_sha256_free(&sha);
	memcpy(w->old_hash, t + 8, sizeof(w->old_hash));
	uint32_t padded = (len + WRITE_SIZE - 1) / WRITE_SIZE * WRITE_SIZE;
	memset(img + len, 0xff, padded - len);
	if (rc == 0) {
		rc = smpfota_flash_area_write(&w->img.primary, 0, img, padded);
	}
	free(img);
	if (rc == 0) {
		rc = smpfota_boot_set_confirmed(&w->img.primary);
	}
	return rc;
}

static int target_setup(struct world *w)
{
	const struct smpfota_sim_config *c = w->c;
	uint32_t slot = c->slot_size;
	bool internal = c->scenario == SMPFOTA_SIM_INTERNAL;
	uint32_t app_size = slot + PAGE + (internal ? slot : 0);
	w->app_mem = malloc(app_size);
	w->qspi_mem = internal ? NULL : malloc(slot);
	if (w->app_mem == NULL || (!internal && w->qspi_mem == NULL)) {
		return SMPFOTA_ERR_NOMEM;
	}
	int rc = smpfota_nor_init(&w->app_nor, w->app_mem, app_size, PAGE, WRITE_SIZE);
	if (rc != 0) {
		return rc;
	}
	smpfota_nor_erase_all(&w->app_nor);
	w->dev_app = (struct flash_dev){w, false};
	w->app_nor.on_op = on_flash_op;
	w->app_nor.on_op_ctx = &w->dev_app;
	w->img.primary = (struct smpfota_flash_area){&w->app_nor.flash, 0, slot + PAGE};
	if (internal) {
		w->img.secondary = (struct smpfota_flash_area){&w->app_nor.flash, slot + PAGE, slot};
	} else {
		rc = smpfota_nor_init(&w->qspi_nor, w->qspi_mem, slot, PAGE, WRITE_SIZE);
		if (rc != 0) {
			return rc;
		}
		smpfota_nor_erase_all(&w->qspi_nor);
		w->dev_qspi = (struct flash_dev){w, true};
		w->qspi_nor.on_op = on_flash_op;
		w->qspi_nor.on_op_ctx = &w->dev_qspi;
		w->img.secondary = (struct smpfota_flash_area){&w->qspi_nor.flash, 0, slot};
	}
	rc = write_old_image(w, (uint32_t)w->len);
	if (rc != 0) {
		return rc;
	}
	/* A used secondary slot (old data everywhere) must be erased as the upload goes; the
	 * radio scenario's slot was erased beforehand. */
	if (c->scenario != SMPFOTA_SIM_RADIO) {
		uint8_t *mem = internal ? w->app_mem + slot + PAGE : w->qspi_mem;
		for (uint32_t i = 0; i < slot; i++) {
			mem[i] = (uint8_t)(rnd(w) & 0x7f); /* clears bits: not erased */
		}
	}
	w->scfg = (struct smpfota_server_config){
		.images = &w->img,
		.n_images = 1,
		.buf_size = c->buf_size,
		.buf_count = c->buf_count,
		.image_check = true,
		.info = {.kernel = "Zephyr", .node = "smpfota-sim-target",
			 .release = SMPFOTA_VERSION_STRING, .machine = "arm",
			 .processor = "cortex-m33", .platform = "nrf5340dk/nrf5340/cpuapp"},
	};
	memset(&w->srv, 0, sizeof(w->srv));
	return 0;
}

/* ---- the main loop ---------------------------------------------------------------------------- */

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t link_deadline(const struct world *w, const struct board *b)
{
	if (!b->link_ready) {
		return NEVER;
	}
	int32_t d = smpfota_esb_link_next_deadline(&b->link, (uint32_t)(w->now / US));
	return d < 0 ? NEVER : w->now + (uint64_t)d * US;
}

/* Our design: the link on the net core, which never stalls. */
static uint64_t net_next(struct world *w, struct board *b)
{
	if (w->c->naive || !board_up(b, w->now) || !b->link_ready) {
		return b->link_ready && !board_up(b, w->now) ? b->up_at : NEVER;
	}
	uint64_t n = b->radio.ev ? w->now : NEVER;
	if (!b->a2n_blocked) {
		n = min64(n, ipc_next(&b->a2n));
	}
	return min64(n, link_deadline(w, b));
}

static void deliver_events(struct world *w, struct board *b)
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

static void net_step(struct world *w, struct board *b)
{
	if (b->radio.ev) {
		deliver_events(w, b);
	}
	struct ipc_msg *m;
	while (!b->a2n_blocked && (m = ipc_head(&b->a2n, w->now)) != NULL) {
		int rc = smpfota_esb_link_send(&b->link, m->data, m->len);
		if (rc == SMPFOTA_ERR_BUSY) {
			b->a2n_blocked = true;
			break;
		}
		ipc_pop(&b->a2n);
		if (b->master) {
			w->m_kick = true;
		}
	}
	smpfota_esb_link_poll(&b->link, (uint32_t)(w->now / US));
}

/* Naive design: the link on the app core; radio events reach it as IPC messages. */
static void naive_post_events(struct world *w, struct board *b)
{
	if (w->c->naive && b->radio.ev && !b->evt_msg && board_up(b, w->now)) {
		b->evt_msg = true;
		b->evt_ready = w->now + w->c->t.ipc_msg_us * US;
		w->st->ipc_msgs++;
	}
}

static uint64_t master_app_next(struct world *w)
{
	struct board *b = &w->m;
	if (w->m_restart_at != NEVER) {
		return w->m_restart_at;
	}
	if (w->done) {
		return NEVER;
	}
	uint64_t n = NEVER;
	if (w->c->naive) {
		if (b->evt_msg) {
			n = min64(n, b->evt_ready);
		}
		n = min64(n, link_deadline(w, b));
	} else {
		n = min64(n, ipc_next(&b->n2a));
	}
	if (w->m_kick) {
		n = w->now;
	}
	int32_t d = smpfota_update_next_deadline(&w->upd, ms(w->now));
	if (d >= 0) {
		/* the engine's clock is in ms: run at the next whole ms that satisfies it */
		uint64_t at = ((uint64_t)ms(w->now) + (uint64_t)d) * MS;
		n = min64(n, at > w->now ? at : w->now);
	}
	return n < b->app_free ? b->app_free : n;
}

static void master_app_step(struct world *w)
{
	struct board *b = &w->m;
	uint64_t t0 = w->now;
	if (w->m_restart_at != NEVER && w->m_restart_at <= w->now) {
		w->m_restart_at = NEVER;
		logf_(w, "master restarts");
		w->done = false;
		if (master_start(w) != 0) {
			w->done = true;
			w->err = SMPFOTA_ERR_INVAL;
		}
		b->app_free = w->now;
		return;
	}
	if (w->now < b->app_free || w->done) {
		return;
	}
	w->m_kick = false;
	w->running = b;
	if (w->c->naive) {
		if (b->evt_msg && b->evt_ready <= w->now) {
			b->evt_msg = false;
			deliver_events(w, b);
		}
		smpfota_esb_link_poll(&b->link, (uint32_t)(w->now / US));
	} else {
		struct ipc_msg *m;
		while (!w->done && (m = ipc_head(&b->n2a, t0)) != NULL) {
			w->now += w->c->t.cpu_msg_us * US;
			(void)smpfota_client_input(&w->cli, m->data, m->len, ms(w->now));
			ipc_pop(&b->n2a);
			smpfota_update_poll(&w->upd, ms(w->now));
		}
	}
	if (!w->done) {
		smpfota_update_poll(&w->upd, ms(w->now));
	}
	w->running = NULL;
	b->app_free = w->now;
	w->now = t0;
}

static uint64_t target_app_next(struct world *w)
{
	struct board *b = &w->t;
	uint64_t n = w->t_reset_at;
	if (!board_up(b, w->now)) {
		return min64(n, b->up_at);
	}
	if (b->pend_len) {
		n = min64(n, w->now + 100 * US); /* retry the hand-over */
	} else if (w->c->naive) {
		if (b->evt_msg) {
			n = min64(n, b->evt_ready);
		}
		n = min64(n, link_deadline(w, b));
	} else {
		n = min64(n, ipc_next(&b->n2a));
	}
	return n < b->app_free ? b->app_free : n;
}

static void target_app_step(struct world *w)
{
	struct board *b = &w->t;
	uint64_t t0 = w->now;
	if (w->now < b->app_free) {
		return;
	}
	if (w->t_reset_at <= w->now) {
		logf_(w, "target resets");
		target_boot(w, w->t_reset_warm);
		w->now = t0;
		return;
	}
	if (!board_up(b, w->now)) {
		return;
	}
	w->running = b;
	if (b->pend_len) {
		uint16_t n = b->pend_len;
		b->pend_len = 0;
		t_emit(w, b->pend, n);
		if (b->pend_len) {
			w->running = NULL;
			w->now = t0;
			return;
		}
	}
	if (w->c->naive) {
		if (b->evt_msg && b->evt_ready <= w->now) {
			b->evt_msg = false;
			deliver_events(w, b);
		}
		smpfota_esb_link_poll(&b->link, (uint32_t)(w->now / US));
	} else {
		struct ipc_msg *m = ipc_head(&b->n2a, w->now);
		if (m != NULL) {
			target_handle(w, m->data, m->len);
			ipc_pop(&b->n2a);
		}
	}
	w->running = NULL;
	w->st->app_busy_us += (w->now - t0) / US;
	if (powered_off(w)) {
		logf_(w, "target power cut at flash operation %u", w->c->f.target_cut_at_op);
		target_boot(w, false);
	}
	b->app_free = w->now;
	w->now = t0;
}

static void faults_step(struct world *w)
{
	const struct smpfota_sim_faults *f = &w->c->f;
	if (!w->fault_t_done && f->target_reset_at_us && w->now >= f->target_reset_at_us * US) {
		w->fault_t_done = true;
		logf_(w, "fault: target reset");
		uint64_t t0 = w->now;
		boot_interrupt(w, t0);
		target_boot(w, true);
		w->now = t0;
	}
	if (!w->fault_m_done && f->master_reset_at_us && w->now >= f->master_reset_at_us * US) {
		w->fault_m_done = true;
		logf_(w, "fault: master reset");
		w->st->master_resets++;
		struct board *b = &w->m;
		smpfota_client_cancel(&w->cli);
		memset(&w->upd, 0, sizeof(w->upd));
		board_reset(w, b);
		(void)link_init(w, b);
		w->done = true; /* nothing runs until the restart */
		w->m_restart_at = w->now + w->c->t.boot_us * US;
		b->up_at = w->m_restart_at;
	}
}

static uint64_t faults_next(const struct world *w)
{
	const struct smpfota_sim_faults *f = &w->c->f;
	uint64_t n = NEVER;
	if (!w->fault_t_done && f->target_reset_at_us) {
		n = min64(n, f->target_reset_at_us * US);
	}
	if (!w->fault_m_done && f->master_reset_at_us) {
		n = min64(n, f->master_reset_at_us * US);
	}
	return n;
}

static int check_config(const struct smpfota_sim_config *c)
{
	const struct smpfota_sim_timing *t = &c->t;
	if (t->bitrate_kbps == 0 || t->max_payload < SMPFOTA_ESB_MIN_PAYLOAD ||
	    t->max_payload > SMPFOTA_ESB_MAX_PAYLOAD || t->qspi_read_kBps == 0 ||
	    c->buf_size < 128 || c->buf_size > FRAME_MAX || c->buf_count < 1 ||
	    c->slot_size < 8 * PAGE || c->slot_size % PAGE || t->ipc_ring < 2 * FRAME_MAX ||
	    c->f.loss < 0 || c->f.loss >= 1 || c->f.ack_loss < 0 || c->f.ack_loss >= 1 ||
	    c->f.ber < 0 || c->f.ber >= 0.01 || c->f.replay < 0 || c->f.replay > 1) {
		return SMPFOTA_ERR_INVAL;
	}
	return 0;
}

static void run_loop(struct world *w)
{
	struct board *m = &w->m, *t = &w->t;
	uint64_t limit = w->c->max_virtual_us * US;
	uint64_t last = w->now;
	unsigned same = 0;
	for (;;) {
		if (w->done && w->m_restart_at == NEVER) {
			return;
		}
		w->now = last;
		naive_post_events(w, m);
		naive_post_events(w, t);
		uint64_t n = NEVER;
		n = min64(n, m->radio.t_next);
		n = min64(n, net_next(w, m));
		n = min64(n, net_next(w, t));
		n = min64(n, master_app_next(w));
		n = min64(n, target_app_next(w));
		n = min64(n, faults_next(w));
		n = min64(n, rpc_next(m));
		n = min64(n, rpc_next(t));
		if (n < last) {
			n = last;
		}
		if (n == last && ++same > 10000) {
			n = last + US; /* something keeps asking for "now": let time move */
			same = 0;
			w->st->spins++;
		} else if (n != last) {
			same = 0;
		}
		if (n == NEVER || n > limit) {
			w->done = true;
			w->err = SMPFOTA_ERR_TIMEDOUT;
			w->step = (int)w->upd.step;
			w->now = n == NEVER ? last : limit;
			return;
		}
		last = n;
		w->now = n;
		faults_step(w);
		rpc_step(m);
		rpc_step(t);
		w->now = n;
		if (m->radio.t_next <= n) {
			ptx_step(&m->radio);
		}
		w->now = n;
		if (!w->c->naive) {
			if (board_up(m, n) && net_next(w, m) <= n) {
				net_step(w, m);
			}
			w->now = n;
			if (board_up(t, n) && t->link_ready && net_next(w, t) <= n) {
				net_step(w, t);
			}
		}
		w->now = n;
		if (master_app_next(w) <= n) {
			master_app_step(w);
		}
		w->now = n;
		if (target_app_next(w) <= n) {
			target_app_step(w);
		}
		w->now = n;
	}
}

int smpfota_sim_run(const struct smpfota_sim_config *c, const uint8_t *image, size_t len,
		    struct smpfota_sim_result *r)
{
	memset(r, 0, sizeof(*r));
	int rc = check_config(c);
	if (rc != 0) {
		return rc;
	}
	struct world *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return SMPFOTA_ERR_NOMEM;
	}
	w->c = c;
	w->st = &r->stats;
	w->rng = c->seed * 0x2545f4914f6cdd1dULL + 1;
	w->image = image;
	w->len = len;
	w->m.w = w;
	w->m.master = true;
	w->t.w = w;
	w->t.master = false;
	w->m_restart_at = NEVER;
	w->t_reset_at = NEVER;
	w->cli_buf_size = (SMPFOTA_CLIENT_MAX_INFLIGHT + 1) * (size_t)FRAME_MAX;
	w->cli_buf = malloc(w->cli_buf_size);
	struct board *bs[2] = {&w->m, &w->t};
	for (int i = 0; i < 2; i++) {
		bs[i]->a2n.q = calloc(IPC_MAXQ, sizeof(struct ipc_msg));
		bs[i]->n2a.q = calloc(IPC_MAXQ, sizeof(struct ipc_msg));
		bs[i]->a2n.cap = bs[i]->n2a.cap = c->t.ipc_ring;
		bs[i]->radio.w = w;
		bs[i]->radio.b = bs[i];
		radio_reset(&bs[i]->radio);
	}
	if (w->cli_buf == NULL || !w->m.a2n.q || !w->m.n2a.q || !w->t.a2n.q || !w->t.n2a.q) {
		rc = SMPFOTA_ERR_NOMEM;
		goto out;
	}

	/* The master checks its image as a device would before offering it. */
	w->src = (struct smpfota_upload_source){.read = src_read, .ctx = w, .size = (uint32_t)len};
	rc = smpfota_update_check_image(&w->src, &w->info);
	if (rc != 0) {
		goto out;
	}
	const struct smpfota_image_version *v = &w->info.hdr.version;
	w->force = v->major == 0 && v->minor == 0 && v->revision == 0 && v->build == 0;

	rc = target_setup(w);
	if (rc != 0) {
		goto out;
	}
	w->boot.cap = 65536;
	w->boot.op_end = malloc(w->boot.cap * sizeof(uint64_t));
	w->boot.app_snap = malloc(w->app_nor.flash.size);
	w->boot.qspi_snap = w->qspi_mem ? malloc(w->qspi_nor.flash.size) : NULL;
	if (!w->boot.op_end || !w->boot.app_snap || (w->qspi_mem && !w->boot.qspi_snap)) {
		rc = SMPFOTA_ERR_NOMEM;
		goto out;
	}
	w->charging = true;
	w->counting = true;
	w->cut_at = c->f.target_cut_at_op;
	arm_cut(w);
	w->now = 0;
	target_boot(w, false);
	w->st->target_resets = 0;
	/* Both boards power up at 0; the master's MCUboot and start-up take boot_us too. */
	w->now = w->c->t.boot_us * US;
	w->m.up_at = w->m.app_free = w->now;
	(void)link_init(w, &w->m);
	rc = master_start(w);
	if (rc != 0) {
		goto out;
	}
	run_loop(w);

	r->err = w->err;
	r->step = w->step;
	r->virtual_us = w->now / US;
	r->image_bytes = (uint32_t)len;
	r->limit_kBps = smpfota_sim_limit_kBps(c);
	if (w->upload_end > w->upload_start && w->upload_start > 0) {
		r->upload_us = (w->upload_end - w->upload_start) / US;
		r->goodput_kBps = (double)len / (double)r->upload_us * 1000.0;
	}
	/* What the target holds now. */
	w->charging = false;
	uint8_t buf[256];
	r->byte_exact = true;
	for (size_t off = 0; off < len && r->byte_exact; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		if (smpfota_flash_area_read(&w->img.primary, (uint32_t)off, buf, n) != 0 ||
		    memcmp(buf, image + off, n) != 0) {
			r->byte_exact = false;
		}
	}
	struct smpfota_boot_trailer tr;
	r->confirmed = smpfota_boot_read_trailer(&w->img.primary, &tr) == 0 &&
		       ((tr.magic == SMPFOTA_BOOT_MAGIC_GOOD && tr.image_ok == SMPFOTA_BOOT_FLAG_SET) ||
			tr.magic == SMPFOTA_BOOT_MAGIC_UNSET);
	struct smpfota_image_info pi;
	bool valid = smpfota_boot_slot_image(&w->img.primary, &pi) == 0 && pi.hash_valid;
	r->target_runs = !valid ? "invalid" : r->byte_exact ? "new"
			 : memcmp(pi.hash, w->old_hash, sizeof(pi.hash)) == 0 ? "old" : "invalid";
	r->ok = w->err == 0 && r->byte_exact && r->confirmed;
	link_stats(w, &w->m.link);
	link_stats(w, &w->t.link);
	r->stats.upload_bytes_written += w->srv.stats.bytes_written;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		free(bs[i]->a2n.q);
		free(bs[i]->n2a.q);
	}
	free(w->cli_buf);
	free(w->app_mem);
	free(w->qspi_mem);
	free(w->boot.op_end);
	free(w->boot.app_snap);
	free(w->boot.qspi_snap);
	free(w);
	return rc;
}
