/*
 * ESB link layer tests: a PTX link and a PRX link over a pair of fake radios
 * (ports/emu/esb_radio.h) with NCS ESB semantics (spec esb-nrf5340.md §1): TX FIFO 8 and RX
 * FIFO 8 per side, AUTO TX mode, retransmits up to retransmit_count then TX_FAILED (head
 * kept), 2-bit PID with PRX duplicate detection (PID + content), ACK payloads queued ahead
 * and popped only when the next *new* packet arrives, ACK withheld while the PRX RX FIFO is
 * full. Packet loss and ACK loss are seeded. Virtual time: one radio transaction per 50 µs
 * step.
 */
#include <stdlib.h>

#include "check.h"
#include "emu/image.h"
#include "smpfota/client.h"
#include "smpfota/esb_link.h"
#include "emu/esb_radio.h"
#include "emu/nor.h"
#include "emu/target.h"
#include "smpfota/server.h"
#include "test_util.h"

/* ---- fake radio pair ----------------------------------------------------------------------- */

/* Two ports/emu/esb_radio.h radios and the air between them: one PTX transaction per step. */
struct air {
	uint32_t rng;
	unsigned loss_pct, ack_loss_pct;
	unsigned retransmit_count;
	bool dead; /* nothing gets through */
	struct smpfota_emu_esb ptx, prx;
	bool ptx_active;      /* AUTO mode: sending until the TX FIFO is empty or TX fails */
	unsigned attempts;    /* of the TX FIFO head */
	unsigned ack_refused; /* ACK payloads the PTX's RX FIFO had no room for */
};

struct end {
	struct air *air;
	bool ptx;
};

static uint32_t xrand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static bool chance(struct air *a, unsigned pct)
{
	return xrand(&a->rng) % 100U < pct;
}

static int f_write(void *ctx, const struct smpfota_esb_payload *p)
{
	struct end *e = ctx;
	struct air *a = e->air;
	if (!e->ptx) {
		return smpfota_emu_esb_write(&a->prx, p); /* an ACK payload */
	}
	int rc = smpfota_emu_esb_write(&a->ptx, p);
	if (rc == 0 && !a->ptx_active) {
		a->ptx_active = true; /* AUTO mode: a write starts an idle PTX */
		a->attempts = 0;
	}
	return rc;
}

static int f_read(void *ctx, struct smpfota_esb_payload *p)
{
	struct end *e = ctx;
	return smpfota_emu_esb_read(e->ptx ? &e->air->ptx : &e->air->prx, p);
}

static int f_start_tx(void *ctx)
{
	struct end *e = ctx;
	if (e->air->ptx.tx.count) {
		e->air->ptx_active = true;
		e->air->attempts = 0;
	}
	return 0;
}

static int f_flush_tx(void *ctx)
{
	struct end *e = ctx;
	smpfota_emu_esb_flush_tx(&e->air->ptx);
	e->air->ptx_active = false;
	return 0;
}

static bool f_is_idle(void *ctx)
{
	struct end *e = ctx;
	return !e->air->ptx_active;
}

/* One PTX transaction (one attempt of the FIFO head). */
static void air_step(struct air *a)
{
	struct smpfota_esb_payload ack;
	bool acked = false;

	if (!a->ptx_active || a->ptx.tx.count == 0) {
		a->ptx_active = false;
		return;
	}
	a->attempts++;
	if (!a->dead && !chance(a, a->loss_pct)) {
		acked = smpfota_emu_esb_prx_receive(&a->prx, &a->ptx.tx.e[a->ptx.tx.head], &ack) >=
			0;
	}
	if (acked && chance(a, a->ack_loss_pct)) {
		acked = false;
	}
	if (acked && !smpfota_emu_esb_ptx_ack_fits(&a->ptx, ack.length)) {
		a->ack_refused++; /* as if the ACK was lost */
		acked = false;
	}
	if (acked) {
		smpfota_emu_esb_ptx_acked(&a->ptx, &ack);
		a->attempts = 0;
		if (a->ptx.tx.count == 0) {
			a->ptx_active = false;
		}
	} else if (a->attempts > a->retransmit_count) {
		a->ptx.ev |= SMPFOTA_EMU_ESB_EV_TX_FAILED; /* head stays in the FIFO, TX stops */
		a->ptx_active = false;
	}
}

/* ---- frames ------------------------------------------------------------------------------- */

static uint8_t gen_byte(uint32_t k, size_t i)
{
	return (uint8_t)(k * 131U + i * 7U + (i >> 8) + (k >> 3));
}

static void gen(uint32_t k, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		buf[i] = gen_byte(k, i);
	}
}

static bool is_frame(uint32_t k, const uint8_t *f, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (f[i] != gen_byte(k, i)) {
			return false;
		}
	}
	return true;
}

/* ---- a PTX and a PRX over one air ----------------------------------------------------------- */

#define MAXF 8192
#define NSIZES 64

struct sim {
	struct air air;
	struct end pe, re;
	struct smpfota_esb_link ptx, prx;
	uint8_t ptx_txq[3 * MAXF], prx_txq[3 * MAXF];
	uint8_t ptx_rxb[MAXF], prx_rxb[MAXF];
	uint32_t now;
	/* workload */
	size_t sizes[NSIZES];
	unsigned n_frames;
	unsigned sent; /* frames handed to the PTX link */
	unsigned prx_got, ptx_got;
	bool echo;
	bool allow_gaps; /* frames may be dropped (never altered) */
	bool any_order;  /* replays: a whole old frame may come again (never altered) */
	unsigned bad;    /* frames delivered wrong or out of order */
	unsigned prx_next, ptx_next;
	bool prx_busy; /* flow control: PRX's buffer is full */
	uint32_t busy_period_us, busy_len_us;
};

static struct sim S; /* large: static storage, reset per case */

static bool check_rx(struct sim *s, unsigned *next, const uint8_t *f, size_t len)
{
	unsigned k = s->any_order ? 0 : *next;
	unsigned lim = s->allow_gaps ? s->n_frames : k + 1;
	for (; k < lim && k < s->n_frames; k++) {
		if (len == s->sizes[k % NSIZES] && is_frame(k, f, len)) {
			if (k + 1 > *next) {
				*next = k + 1;
			}
			return true;
		}
	}
	s->bad++;
	return false;
}

static int prx_rx(void *user, const uint8_t *f, size_t len)
{
	struct sim *s = user;
	if (s->prx_busy) {
		return SMPFOTA_ERR_BUSY;
	}
	if (s->echo) {
		int rc = smpfota_esb_link_send(&s->prx, f, len);
		if (rc == SMPFOTA_ERR_BUSY) {
			return rc; /* no room for the answer: take the frame later */
		}
		CHECK_EQ(rc, 0);
	}
	if (check_rx(s, &s->prx_next, f, len)) {
		s->prx_got++;
	}
	return 0;
}

static int ptx_rx(void *user, const uint8_t *f, size_t len)
{
	struct sim *s = user;
	if (check_rx(s, &s->ptx_next, f, len)) {
		s->ptx_got++;
	}
	return 0;
}

static void sim_init(struct sim *s, uint8_t max_payload, uint32_t seed)
{
	memset(s, 0, sizeof(*s));
	s->air.rng = seed ? seed : 1;
	s->air.retransmit_count = 3;
	smpfota_emu_esb_init(&s->air.ptx, true);
	smpfota_emu_esb_init(&s->air.prx, false);
	s->pe = (struct end){&s->air, true};
	s->re = (struct end){&s->air, false};
	s->now = 1000;
	struct smpfota_esb_link_config pc = {
		.role = SMPFOTA_ESB_PTX,
		.radio = {f_write, f_read, f_start_tx, f_flush_tx, f_is_idle, &s->pe, max_payload},
		.first_id = (uint8_t)seed,
		.txq = s->ptx_txq,
		.txq_size = sizeof(s->ptx_txq),
		.rx_buf = s->ptx_rxb,
		.rx_size = sizeof(s->ptx_rxb),
		.rx = ptx_rx,
		.user = s,
		.poll_interval_us = 500,
	};
	struct smpfota_esb_link_config rc = pc;
	rc.role = SMPFOTA_ESB_PRX;
	rc.radio = (struct smpfota_esb_radio){f_write, f_read, NULL,       NULL,
					      NULL,    &s->re, max_payload};
	rc.txq = s->prx_txq;
	rc.txq_size = sizeof(s->prx_txq);
	rc.rx_buf = s->prx_rxb;
	rc.rx_size = sizeof(s->prx_rxb);
	rc.rx = prx_rx;
	rc.first_id = (uint8_t)(seed >> 5);
	CHECK_EQ(smpfota_esb_link_init(&s->ptx, &pc, s->now), 0);
	CHECK_EQ(smpfota_esb_link_init(&s->prx, &rc, s->now), 0);
}

static void dispatch(struct smpfota_esb_link *l, unsigned *ev, uint32_t now)
{
	unsigned e = *ev;
	*ev = 0;
	smpfota_emu_esb_deliver(l, e, now);
}

static void sim_step(struct sim *s)
{
	static uint8_t fb[MAXF];
	s->now += 50;
	if (s->busy_period_us) {
		s->prx_busy = (s->now % s->busy_period_us) < s->busy_len_us;
	}
	/* the master offers frames as fast as the link takes them */
	while (s->sent < s->n_frames) {
		size_t len = s->sizes[s->sent % NSIZES];
		gen(s->sent, fb, len);
		if (smpfota_esb_link_send(&s->ptx, fb, len) != 0) {
			break;
		}
		s->sent++;
	}
	air_step(&s->air);
	dispatch(&s->ptx, &s->air.ptx.ev, s->now);
	dispatch(&s->prx, &s->air.prx.ev, s->now);
	smpfota_esb_link_poll(&s->ptx, s->now);
	smpfota_esb_link_poll(&s->prx, s->now);
}

/* Run until every frame (and echo) arrived or the link has been quiet for 20 s. */
static void sim_run(struct sim *s, uint32_t max_steps)
{
	for (uint32_t i = 0; i < max_steps; i++) {
		sim_step(s);
		if (s->sent == s->n_frames && s->prx_got == s->n_frames &&
		    (!s->echo || s->ptx_got == s->n_frames)) {
			break;
		}
	}
	/* settle: let the radios drain (nothing more may be delivered wrong) */
	for (int i = 0; i < 200; i++) {
		sim_step(s);
	}
}

static void set_sizes(struct sim *s, const size_t *sz, size_t n)
{
	for (size_t i = 0; i < NSIZES; i++) {
		s->sizes[i] = sz[i % n];
	}
}

static const size_t mixed[] = {1,   8000, 2,   28,   29,   30,   31,   58, 59, 250, 251,
			       252, 253,  500, 1024, 2048, 4096, 7999, 13, 3,  100, 777};

static void mixed_random(struct sim *s, uint32_t seed)
{
	uint32_t r = seed | 1U;
	set_sizes(s, mixed, sizeof(mixed) / sizeof(mixed[0]));
	for (size_t i = 22; i < NSIZES; i++) {
		s->sizes[i] = 1 + xrand(&r) % 8000;
	}
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void echo_case(uint8_t max_payload, unsigned loss, unsigned ack_loss, uint32_t seed)
{
	struct sim *s = &S;
	sim_init(s, max_payload, seed);
	mixed_random(s, seed);
	s->air.loss_pct = loss;
	s->air.ack_loss_pct = ack_loss;
	if (loss || ack_loss) {
		s->air.retransmit_count = 2; /* ESB gives up now and then: recovery is exercised */
	}
	s->echo = true;
	s->n_frames = NSIZES;
	sim_run(s, 3000000);
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(s->prx_got, s->n_frames);
	CHECK_EQ(s->ptx_got, s->n_frames);
	CHECK_EQ(s->ptx.stats.drop_tx_frames, 0);
	CHECK_EQ(s->prx.stats.frames_rx, s->n_frames);
	CHECK_EQ(s->ptx.stats.frames_rx, s->n_frames);
	CHECK(s->ptx.stats.polls_tx > 0); /* the answers needed polls to flow */
	/* all answered: the PTX still polls until poll_timeout after its last frame (a count
	 * can be fooled), then goes quiet */
	for (int i = 0; i < 3000000 / 50 + 100; i++) {
		sim_step(s);
	}
	CHECK_EQ(smpfota_esb_link_next_deadline(&s->ptx, s->now), -1);
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(smpfota_esb_link_next_deadline(&s->prx, s->now), -1);
	CHECK_EQ(s->air.ack_refused, 0);
	if (loss || ack_loss) {
		CHECK(s->ptx.stats.tx_failed > 0); /* ESB gave up at times: the link recovered */
		CHECK(s->ptx.stats.tx_restarts > 0);
	}
}

static void test_roundtrip_32(void)
{
	echo_case(32, 0, 0, 1);
}

static void test_roundtrip_252(void)
{
	echo_case(252, 0, 0, 2);
}

static void test_sizes_1_to_300_each(void)
{
	/* every size around the fragment boundaries, both payload limits */
	for (int mp = 0; mp < 2; mp++) {
		struct sim *s = &S;
		sim_init(s, mp ? 252 : 32, 7);
		for (size_t i = 0; i < NSIZES; i++) {
			s->sizes[i] = 0;
		}
		s->echo = true;
		unsigned total_ok = 0;
		for (size_t base = 1; base <= 300; base += NSIZES) {
			sim_init(s, mp ? 252 : 32, (uint32_t)(7 + base));
			for (size_t i = 0; i < NSIZES; i++) {
				s->sizes[i] = base + i;
			}
			s->echo = true;
			s->n_frames = NSIZES;
			sim_run(s, 400000);
			CHECK_EQ(s->bad, 0);
			CHECK_EQ(s->ptx_got, NSIZES);
			total_ok += s->ptx_got;
		}
		CHECK_EQ(total_ok, 5 * NSIZES);
	}
}

static void test_loss10_32(void)
{
	echo_case(32, 10, 10, 11);
}

static void test_loss10_252(void)
{
	echo_case(252, 10, 10, 12);
}

static void test_loss30_32(void)
{
	echo_case(32, 30, 0, 13);
}

static void test_loss30_252(void)
{
	echo_case(252, 30, 30, 14);
}

static void test_ack_loss30_32(void)
{
	echo_case(32, 0, 30, 15);
}

/* ACK lost -> the PTX resends the same packet; without ESB's PID check the PRX link sees it
 * twice and must drop the copy. */
static void test_duplicates_dropped(void)
{
	struct sim *s = &S;
	sim_init(s, 32, 21);
	mixed_random(s, 21);
	s->air.ack_loss_pct = 30;
	s->air.prx.no_dedup = true;
	s->n_frames = NSIZES;
	sim_run(s, 3000000);
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(s->prx_got, s->n_frames);
	CHECK_EQ(s->prx.stats.frames_rx, s->n_frames); /* each frame exactly once */
	CHECK(s->air.prx.stats.repeats > 0);
	CHECK(s->prx.stats.drop_dup > 0);
	CHECK_EQ(s->prx.stats.drop_lost, 0);
}

/* A response much larger than one ACK payload arrives whole. */
static void test_large_response(void)
{
	for (int mp = 0; mp < 2; mp++) {
		struct sim *s = &S;
		sim_init(s, mp ? 252 : 32, 31);
		size_t sz[] = {8000};
		set_sizes(s, sz, 1);
		s->echo = true;
		s->n_frames = 3;
		sim_run(s, 1000000);
		CHECK_EQ(s->bad, 0);
		CHECK_EQ(s->ptx_got, 3);
		CHECK(s->prx.stats.frags_tx >= 3 * (8000 / (mp ? 250 : 30)));
	}
}

/* The PRX's buffer is busy 20 ms of every 50 ms (a flash erase): back-pressure through
 * withheld ACKs, PTX backs off and resends, nothing lost or duplicated. */
static void test_flow_control(void)
{
	struct sim *s = &S;
	sim_init(s, 252, 41);
	mixed_random(s, 41);
	s->busy_period_us = 50000;
	s->busy_len_us = 20000;
	s->echo = true;
	s->n_frames = NSIZES;
	sim_run(s, 3000000);
	s->busy_period_us = 0;
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(s->prx_got, s->n_frames);
	CHECK_EQ(s->ptx_got, s->n_frames);
	CHECK(s->prx.stats.rx_busy > 0);
	CHECK(s->air.prx.stats.withheld > 0);
	CHECK(s->ptx.stats.tx_failed > 0);
	CHECK_EQ(s->ptx.stats.drop_tx_frames, 0);
	CHECK_EQ(s->prx.stats.drop_dup + s->prx.stats.drop_lost, 0);
}

/* ESB gives up for good (dead link): after max_tx_failures the PTX flushes and drops the
 * frame; once the link is back, later frames arrive intact and nothing wrong is delivered. */
static void test_give_up_then_recover(void)
{
	struct sim *s = &S;
	sim_init(s, 32, 51);
	size_t sz[] = {600};
	set_sizes(s, sz, 1);
	s->n_frames = 40;
	s->allow_gaps = true;
	for (int i = 0; i < 40; i++) {
		sim_step(s);
	}
	s->air.dead = true;
	for (int i = 0; i < 20000; i++) {
		sim_step(s); /* 1 s of nothing: 50 failures of ~2.2 ms each */
	}
	CHECK(s->ptx.stats.tx_flushes > 0);
	CHECK(s->ptx.stats.drop_tx_frames > 0);
	CHECK(s->ptx.backoff);
	int32_t dl = smpfota_esb_link_next_deadline(&s->ptx, s->now);
	CHECK(dl >= 0 && dl <= 2000); /* the end of the backoff */
	s->air.dead = false;
	sim_run(s, 1000000);
	CHECK_EQ(s->bad, 0);
	CHECK(s->prx_got > 0);
	CHECK(s->prx_got < s->n_frames);
	CHECK_EQ(s->prx_next, s->n_frames); /* the last frames made it */
	CHECK(s->prx.stats.drop_lost + s->prx.stats.drop_orphan > 0 ||
	      s->ptx.stats.drop_tx_frames > 0);
}

/* ---- receiver fed by hand: corrupted, replayed, truncated fragments ---------------------- */

#define MAXPK 2048

struct capture {
	struct smpfota_esb_payload pk[MAXPK];
	unsigned n;
	struct smpfota_esb_payload in;
	bool have_in;
};

static struct capture C;

static int c_write(void *ctx, const struct smpfota_esb_payload *p)
{
	struct capture *c = ctx;
	if (c->n == MAXPK) {
		return SMPFOTA_ERR_NOMEM;
	}
	c->pk[c->n++] = *p;
	return 0;
}

static int c_read(void *ctx, struct smpfota_esb_payload *p)
{
	struct capture *c = ctx;
	if (!c->have_in) {
		return 0;
	}
	c->have_in = false;
	*p = c->in;
	return p->length;
}

static int c_ok(void *ctx)
{
	(void)ctx;
	return 0;
}

static bool c_idle(void *ctx)
{
	(void)ctx;
	return false; /* never poll */
}

static int count_rx(void *user, const uint8_t *f, size_t len)
{
	struct sim *s = user;
	if (check_rx(s, &s->prx_next, f, len)) {
		s->prx_got++;
	}
	return 0;
}

/* Cut frames 0..n-1 into payloads with a PTX link writing into C. */
static void cut_frames(struct sim *s, uint8_t mp, unsigned n)
{
	static uint8_t fb[MAXF];
	struct smpfota_esb_link_config pc = {.role = SMPFOTA_ESB_PTX,
					     .radio = {c_write, c_read, c_ok, c_ok, c_idle, &C, mp},
					     .txq = s->ptx_txq,
					     .txq_size = sizeof(s->ptx_txq),
					     .rx_buf = s->ptx_rxb,
					     .rx_size = sizeof(s->ptx_rxb),
					     .rx = count_rx,
					     .user = s,
					     .first_id = 3};
	C.n = 0;
	CHECK_EQ(smpfota_esb_link_init(&s->ptx, &pc, 0), 0);
	for (unsigned k = 0; k < n; k++) {
		size_t len = s->sizes[k % NSIZES];
		gen(k, fb, len);
		CHECK_EQ(smpfota_esb_link_send(&s->ptx, fb, len), 0);
	}
	CHECK(smpfota_esb_link_tx_idle(&s->ptx));
}

static void feed(struct smpfota_esb_link *l, const struct smpfota_esb_payload *p)
{
	C.in = *p;
	C.have_in = true;
	smpfota_esb_link_on_event(l, SMPFOTA_ESB_EVT_RX_RECEIVED, 0);
}

static void make_prx(struct sim *s, uint8_t mp, size_t cap)
{
	struct smpfota_esb_link_config rc = {.role = SMPFOTA_ESB_PRX,
					     .radio = {c_write, c_read, NULL, NULL, NULL, &C, mp},
					     .txq = s->prx_txq,
					     .txq_size = sizeof(s->prx_txq),
					     .rx_buf = s->prx_rxb,
					     .rx_size = cap,
					     .rx = count_rx,
					     .user = s};
	CHECK_EQ(smpfota_esb_link_init(&s->prx, &rc, 0), 0);
}

static void test_header_format(void)
{
	struct sim *s = &S;
	memset(s, 0, sizeof(*s));
	size_t sz[] = {60};
	set_sizes(s, sz, 1);
	cut_frames(s, 32, 1);
	CHECK_EQ(C.n, 3); /* 28 + 30 + 2 */
	CHECK_EQ(C.pk[0].length, 32);
	CHECK_EQ(C.pk[0].data[0], 0x80 | 3);
	CHECK_EQ(C.pk[0].data[1], 0);
	CHECK_EQ(C.pk[0].data[2], 0);
	CHECK_EQ(C.pk[0].data[3], 60);
	CHECK_EQ(C.pk[1].data[0], 3);
	CHECK_EQ(C.pk[1].data[1], 1);
	CHECK_EQ(C.pk[2].data[0], 0x40 | 3);
	CHECK_EQ(C.pk[2].data[1], 2);
	CHECK_EQ(C.pk[2].length, 4);
}

static void test_clean_stream_and_dups(void)
{
	struct sim *s = &S;
	memset(s, 0, sizeof(*s));
	mixed_random(s, 61);
	s->n_frames = 12;
	cut_frames(s, 32, 12);
	make_prx(s, 32, MAXF);
	for (unsigned i = 0; i < C.n; i++) {
		feed(&s->prx, &C.pk[i]);
		feed(&s->prx, &C.pk[i]); /* every packet twice */
	}
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(s->prx_got, 12);
	CHECK_EQ(s->prx.stats.drop_dup, C.n);
}

static void test_overflow_refused(void)
{
	struct sim *s = &S;
	memset(s, 0, sizeof(*s));
	size_t sz[] = {500, 100, 501, 99};
	set_sizes(s, sz, 4);
	s->n_frames = 4;
	s->allow_gaps = true;
	cut_frames(s, 32, 4);
	make_prx(s, 32, 500);
	for (unsigned i = 0; i < C.n; i++) {
		feed(&s->prx, &C.pk[i]);
	}
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(s->prx_got, 3);
	CHECK_EQ(s->prx.stats.drop_overflow, 1);
	CHECK_EQ(s->prx.stats.drop_discarded, 501 / 30); /* the rest of it, quietly */
}

/* Random single-field header corruption, truncation, loss, immediate and delayed replays:
 * every delivered frame is one that was sent, whole (check_rx), never anything else. A replay
 * of a whole old frame (ESB never replays; past the duplicate window the link cannot tell)
 * may deliver that frame again, unaltered: the SMP layer matches by sequence number. */
static void test_corrupt_and_replay(void)
{
	struct sim *s = &S;
	uint32_t r = 99;
	unsigned delivered = 0;
	for (int trial = 0; trial < 300; trial++) {
		uint8_t mp = (trial & 1) ? 252 : 32;
		memset(s, 0, sizeof(*s));
		mixed_random(s, (uint32_t)trial + 5U);
		for (size_t i = 0; i < NSIZES; i++) {
			s->sizes[i] = 1 + s->sizes[i] % 2000; /* < 256 fragments: no index wrap */
		}
		s->n_frames = 10;
		s->allow_gaps = true;
		s->any_order = true;
		cut_frames(s, mp, 10);
		make_prx(s, mp, MAXF);
		for (unsigned i = 0; i < C.n; i++) {
			struct smpfota_esb_payload p = C.pk[i];
			unsigned what = xrand(&r) % 100;
			if (what < 3) {
				continue; /* lost */
			} else if (what < 6) {
				/* one header field corrupted: a bit of byte 0, 1, or (first) 2-3 */
				unsigned hb = p.data[0] & SMPFOTA_ESB_FLAG_FIRST ? 4 : 2;
				p.data[xrand(&r) % hb] ^= (uint8_t)(1U << (xrand(&r) % 8));
			} else if (what < 8 && p.length > 3) {
				p.length = (uint8_t)(p.length - 1 -
						     xrand(&r) % (p.length - 3)); /* cut */
			} else if (what < 11 && i > 0) {
				unsigned back = 1 + xrand(&r) % (i < 40 ? i : 40);
				feed(&s->prx, &C.pk[i - back]); /* replay of an earlier fragment */
			}
			feed(&s->prx, &p);
		}
		CHECK_EQ(s->bad, 0);
		delivered += s->prx_got;
	}
	CHECK(delivered > 0); /* some frames got through untouched */
	CHECK(delivered < 3000);
}

/* A stale non-first fragment of another frame arriving mid-frame is dropped without
 * breaking the frame being assembled. */
static void test_stray_fragment_mid_frame(void)
{
	struct sim *s = &S;
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < NSIZES; i++) {
		s->sizes[i] = 1000; /* 32 fragments each at 32 bytes */
	}
	s->n_frames = 3;
	cut_frames(s, 32, 3);
	make_prx(s, 32, MAXF);
	unsigned per = C.n / 3;
	for (unsigned i = 0; i < C.n; i++) {
		if (i > per && i % 5 == 0) {
			struct smpfota_esb_payload old = C.pk[1 + (i * 7) % (per - 1)];
			feed(&s->prx, &old); /* non-first fragment of frame 0, long gone */
		}
		feed(&s->prx, &C.pk[i]);
	}
	CHECK_EQ(s->bad, 0);
	CHECK_EQ(s->prx_got, 3);
	CHECK(s->prx.stats.drop_orphan + s->prx.stats.drop_dup > 0);
	CHECK_EQ(s->prx.stats.drop_lost, 0);
}

static void test_config_checks(void)
{
	struct sim *s = &S;
	memset(s, 0, sizeof(*s));
	struct smpfota_esb_link_config rc = {.role = SMPFOTA_ESB_PTX,
					     .radio = {c_write, c_read, NULL, NULL, NULL, &C, 32},
					     .txq = s->prx_txq,
					     .txq_size = 100,
					     .rx_buf = s->prx_rxb,
					     .rx_size = 10,
					     .rx = count_rx,
					     .user = s};
	CHECK_EQ(smpfota_esb_link_init(&s->prx, &rc, 0), SMPFOTA_ERR_INVAL); /* PTX needs all ops */
	rc.role = SMPFOTA_ESB_PRX;
	rc.radio.max_payload = 4;
	CHECK_EQ(smpfota_esb_link_init(&s->prx, &rc, 0), SMPFOTA_ERR_INVAL);
	rc.radio.max_payload = 253 & 0xff; /* cannot be > 252 in a uint8_t except 253..255 */
	CHECK_EQ(smpfota_esb_link_init(&s->prx, &rc, 0), SMPFOTA_ERR_INVAL);
	rc.radio.max_payload = 32;
	CHECK_EQ(smpfota_esb_link_init(&s->prx, &rc, 0), 0);
	uint8_t f[100] = {0};
	CHECK_EQ(smpfota_esb_link_mtu(&s->prx), 98);
	CHECK_EQ(smpfota_esb_link_send(&s->prx, f, 0), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_esb_link_send(&s->prx, f, 99), SMPFOTA_ERR_MSGSIZE);
	C.n = MAXPK; /* radio FIFO full: frames stay in the ring */
	CHECK_EQ(smpfota_esb_link_send(&s->prx, f, 60), 0);
	CHECK_EQ(smpfota_esb_link_send(&s->prx, f, 37), SMPFOTA_ERR_BUSY);
	CHECK_EQ(smpfota_esb_link_send(&s->prx, f, 36), 0);
	CHECK(s->prx.stats.fifo_full > 0);
	C.n = 0;
	smpfota_esb_link_on_event(&s->prx, SMPFOTA_ESB_EVT_TX_SUCCESS, 0);
	CHECK(smpfota_esb_link_tx_idle(&s->prx));
	CHECK_EQ(C.n, 3 + 2); /* 28 + 30 + 2, then 28 + 8 */
}

/* ---- the real client engine over the link, against the real server ------------------------ */

#define PAGE 4096U
#define SLOT (16U * PAGE)
#define DEV (2U * SLOT + PAGE)

struct smp_pair {
	struct smpfota_client cli;
	struct smpfota_emu_target tb; /* the target board */
	struct smpfota_nor nor;
	uint8_t mem[DEV];
	uint8_t cbuf[5 * 2048];
	uint8_t rsp[2048];
	uint8_t img[24000];
	size_t img_len;
	bool match;
	int echo_err;
	bool echo_ok;
	int up_err;
	bool up_done;
};

static struct smp_pair P;

static int srv_rx(void *user, const uint8_t *f, size_t len)
{
	struct sim *s = user;
	if (s->prx.cfg.txq_size - s->prx.tx_used < 2 + sizeof(P.rsp)) {
		return SMPFOTA_ERR_BUSY; /* no room for the answer yet */
	}
	int n = smpfota_server_handle(&P.tb.srv, f, len, P.rsp, sizeof(P.rsp));
	if (n > 0) {
		CHECK_EQ(smpfota_esb_link_send(&s->prx, P.rsp, (size_t)n), 0);
	}
	return 0;
}

static int cli_rx(void *user, const uint8_t *f, size_t len)
{
	struct sim *s = user;
	smpfota_client_input(&P.cli, f, len, s->now / 1000U);
	return 0;
}

static void on_echo(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	(void)user;
	(void)msg;
	P.echo_err = err;
	P.echo_ok = err == 0 && rsp->echo.r.len == 5 && memcmp(rsp->echo.r.ptr, "hello", 5) == 0;
}

static int img_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	(void)ctx;
	memcpy(buf, P.img + off, len);
	return 0;
}

static void up_done(void *user, int err, const struct smpfota_smp_status *st, bool match)
{
	(void)user;
	(void)st;
	P.match = match;
	P.up_err = err;
	P.up_done = true;
}

static void test_client_server_over_link(void)
{
	struct sim *s = &S;
	memset(&P, 0, sizeof(P));
	sim_init(s, 252, 71);
	s->air.loss_pct = 10;
	s->air.ack_loss_pct = 5;
	s->prx.cfg.rx = srv_rx;
	s->ptx.cfg.rx = cli_rx;

	smpfota_nor_init(&P.nor, P.mem, DEV, PAGE, 4);
	smpfota_nor_erase_all(&P.nor);
	smpfota_emu_target_init(&P.tb);
	CHECK_EQ(smpfota_emu_target_add_image(&P.tb, &P.nor, 0, &P.nor, SLOT + PAGE, SLOT), 0);
	P.tb.cfg.buf_size = 2048;
	P.tb.cfg.buf_count = 4;
	P.tb.cfg.image_check = true;
	CHECK_EQ(smpfota_emu_target_start(&P.tb, false), 0);
	struct smpfota_client_config cc = {
		.tx = {.send = smpfota_esb_link_transport_send, .ctx = &s->ptx, .mtu = 2048},
		.buf = P.cbuf,
		.buf_size = sizeof(P.cbuf),
		.frame_cap = 2048,
		.slots = 4,
		.version = SMPFOTA_SMP_V2,
		.timeout_ms = 500,
		.retries = 3,
		.seq = 9};
	CHECK_EQ(smpfota_client_init(&P.cli, &cc), 0);

	struct smpfota_os_echo_req e = {.d = {"hello", 5}};
	CHECK_EQ(smpfota_client_send(&P.cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_echo, NULL,
				     s->now / 1000U),
		 0);
	for (int i = 0; i < 200000 && !P.echo_ok; i++) {
		sim_step(s);
		smpfota_client_poll(&P.cli, s->now / 1000U);
	}
	CHECK(P.echo_ok);

	P.img_len = smpfota_emu_image_build(P.img, sizeof(P.img),
					    &(struct smpfota_emu_image_spec){.body_size = 20000,
									     .ver = {1, 2, 3, 0},
									     .seed = 5},
					    NULL);
	CHECK(P.img_len > 20000);
	struct smpfota_upload_source src = {.read = img_read, .size = (uint32_t)P.img_len};
	tu_sha256(P.img, P.img_len, src.sha);
	struct smpfota_upload_params prm = {.buf_size = 2048, .buf_count = 4};
	CHECK_EQ(smpfota_client_upload(&P.cli, &src, &prm, NULL, up_done, NULL, s->now / 1000U), 0);
	for (int i = 0; i < 2000000 && !P.up_done; i++) {
		sim_step(s);
		smpfota_client_poll(&P.cli, s->now / 1000U);
	}
	CHECK(P.up_done);
	CHECK_EQ(P.up_err, 0);
	CHECK(P.match);
	uint8_t back[256];
	for (uint32_t off = 0; off < P.img_len; off += sizeof(back)) {
		size_t n = P.img_len - off < sizeof(back) ? P.img_len - off : sizeof(back);
		CHECK_EQ(smpfota_flash_area_read(&P.tb.images[0].secondary, off, back, n), 0);
		CHECK_MEM(back, P.img + off, n);
	}
}

int main(void)
{
	RUN(test_header_format);
	RUN(test_config_checks);
	RUN(test_clean_stream_and_dups);
	RUN(test_overflow_refused);
	RUN(test_corrupt_and_replay);
	RUN(test_stray_fragment_mid_frame);
	RUN(test_roundtrip_32);
	RUN(test_roundtrip_252);
	RUN(test_sizes_1_to_300_each);
	RUN(test_large_response);
	RUN(test_loss10_32);
	RUN(test_loss10_252);
	RUN(test_loss30_32);
	RUN(test_loss30_252);
	RUN(test_ack_loss30_32);
	RUN(test_duplicates_dropped);
	RUN(test_flow_control);
	RUN(test_give_up_then_recover);
	RUN(test_client_server_over_link);
	return CHECK_SUMMARY();
}
