/*
 * Frame bridge tests: two ends (think application core and network core) over an in-memory
 * channel shaped like ICMsg: in order, a ring of a few KB each way that refuses a message
 * when full, and that a restart may empty. The consumers can be made busy. Frames carry a
 * sequence number and a pattern, so every delivery is checked for order, duplicates and
 * content.
 */
#include <stdlib.h>

#include "check.h"
#include "smpfota/bridge.h"

/* ---- channel ------------------------------------------------------------------------------- */

#define CH_MSGS 256
#define MSG_MAX 600

struct chan {
	uint8_t data[CH_MSGS][MSG_MAX];
	size_t len[CH_MSGS];
	unsigned head, count;
	size_t used, cap; /* bytes, as a ring would count them */
	bool broken;      /* send fails with an error */
	unsigned sent;
};

static int ch_send(void *ctx, const uint8_t *msg, size_t len)
{
	struct chan *c = ctx;
	if (c->broken) {
		return SMPFOTA_ERR_IO;
	}
	if (len > MSG_MAX || c->count == CH_MSGS || c->used + len + 8 > c->cap) {
		return SMPFOTA_ERR_BUSY;
	}
	unsigned i = (c->head + c->count) % CH_MSGS;
	memcpy(c->data[i], msg, len);
	c->len[i] = len;
	c->count++;
	c->used += len + 8;
	c->sent++;
	return 0;
}

static void ch_clear(struct chan *c)
{
	c->head = c->count = 0;
	c->used = 0;
}

/* ---- one end ------------------------------------------------------------------------------- */

#define MAXF 500
#define LOGN 4096

struct end {
	struct smpfota_bridge b;
	struct smpfota_bridge_config cfg;
	uint8_t ring[4 * (MAXF + 2)];
	uint8_t txb[SMPFOTA_BRIDGE_HDR_SIZE + MAXF];
	struct chan out;    /* messages this end sent, not yet read by the other */
	bool busy;          /* the consumer refuses */
	uint32_t got[LOGN]; /* sequence numbers delivered */
	unsigned n_got;
	bool bad;          /* a delivered frame was corrupt */
	uint32_t next_seq; /* next frame this end sends */
	unsigned restarts_seen;
	uint32_t ev[8];
	unsigned n_ev;
};

struct pair {
	struct end e[2];
	uint32_t now;
};

static struct pair P;

static void fill(uint8_t *f, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++) {
		f[i] = (uint8_t)(seq * 31U + i * 7U);
	}
	if (len >= 4) {
		memcpy(f, &seq, 4);
	}
}

static int on_rx(void *user, const uint8_t *f, size_t len)
{
	struct end *e = user;
	if (e->busy) {
		return SMPFOTA_ERR_BUSY;
	}
	uint32_t seq = 0;
	if (len < 4) {
		e->bad = true;
		return 0;
	}
	memcpy(&seq, f, 4);
	uint8_t want[MAXF];
	fill(want, len, seq);
	if (memcmp(want, f, len) != 0) {
		e->bad = true;
	}
	if (e->n_got < LOGN) {
		e->got[e->n_got] = seq;
	}
	e->n_got++;
	return 0;
}

static void on_event(void *user, unsigned code, uint32_t value)
{
	struct end *e = user;
	if (code == SMPFOTA_BRIDGE_EVT_PEER_RESTART) {
		e->restarts_seen++;
		return;
	}
	if (code < 8) {
		e->ev[code] = value;
	}
	e->n_ev++;
}

static int start(int i, uint8_t epoch, size_t ring_size, size_t chan_cap)
{
	struct end *e = &P.e[i];
	e->out.cap = chan_cap;
	e->cfg = (struct smpfota_bridge_config){
		.ops = {.send = ch_send, .ctx = &e->out},
		.ring = e->ring,
		.ring_size = ring_size,
		.tx_buf = e->txb,
		.tx_buf_size = sizeof(e->txb),
		.max_frame = MAXF,
		.first_epoch = epoch,
		.rx = on_rx,
		.event = on_event,
		.user = e,
	};
	return smpfota_bridge_init(&e->b, &e->cfg, P.now);
}

static void setup(size_t chan_cap)
{
	memset(&P, 0, sizeof(P));
	P.now = 1000;
	CHECK_EQ(start(0, 10, SMPFOTA_BRIDGE_RING_MIN(MAXF), chan_cap), 0);
	CHECK_EQ(start(1, 200, SMPFOTA_BRIDGE_RING_MIN(MAXF), chan_cap), 0);
}

/* Deliver up to n messages from end i's outbox to the other end. */
static unsigned carry(int i, unsigned n)
{
	struct end *src = &P.e[i], *dst = &P.e[1 - i];
	unsigned k = 0;
	while (k < n && src->out.count > 0) {
		struct chan *c = &src->out;
		unsigned h = c->head;
		c->head = (c->head + 1) % CH_MSGS;
		c->count--;
		c->used -= c->len[h] + 8;
		smpfota_bridge_input(&dst->b, c->data[h], c->len[h], P.now);
		k++;
	}
	return k;
}

/* Run both ends until nothing moves (time advances to the next deadline). */
static void settle(void)
{
	for (int round = 0; round < 1000; round++) {
		unsigned moved = carry(0, CH_MSGS) + carry(1, CH_MSGS);
		int32_t d0 = smpfota_bridge_next_deadline(&P.e[0].b, P.now);
		int32_t d1 = smpfota_bridge_next_deadline(&P.e[1].b, P.now);
		if (moved == 0 && d0 < 0 && d1 < 0) {
			return;
		}
		int32_t d = d0 < 0 ? d1 : (d1 < 0 || d0 < d1 ? d0 : d1);
		if (moved == 0 && d > 0) {
			P.now += (uint32_t)d;
		}
		smpfota_bridge_poll(&P.e[0].b, P.now);
		smpfota_bridge_poll(&P.e[1].b, P.now);
	}
}

/* Send the next frame of end i (length len); returns the send result. */
static int send_next(int i, size_t len)
{
	struct end *e = &P.e[i];
	uint8_t f[MAXF];
	fill(f, len, e->next_seq);
	int rc = smpfota_bridge_send(&e->b, f, len);
	if (rc == 0) {
		e->next_seq++;
	}
	return rc;
}

/* ---- cases --------------------------------------------------------------------------------- */

static void test_config_checks(void)
{
	struct smpfota_bridge b;
	struct end *e = &P.e[0];
	setup(4096);
	struct smpfota_bridge_config c = e->cfg;
	CHECK_EQ(smpfota_bridge_init(&b, &c, 0), 0);
	c.ring_size = SMPFOTA_BRIDGE_RING_MIN(MAXF) - 1;
	CHECK_EQ(smpfota_bridge_init(&b, &c, 0), SMPFOTA_ERR_INVAL);
	c = e->cfg;
	c.max_frame = 0;
	CHECK_EQ(smpfota_bridge_init(&b, &c, 0), SMPFOTA_ERR_INVAL);
	c = e->cfg;
	c.tx_buf_size = SMPFOTA_BRIDGE_HDR_SIZE;
	CHECK_EQ(smpfota_bridge_init(&b, &c, 0), SMPFOTA_ERR_INVAL);
	c = e->cfg;
	c.rx = NULL;
	CHECK_EQ(smpfota_bridge_init(&b, &c, 0), SMPFOTA_ERR_INVAL);
	c = e->cfg;
	c.ops.send = NULL;
	CHECK_EQ(smpfota_bridge_init(&b, &c, 0), SMPFOTA_ERR_INVAL);
}

static void test_handshake(void)
{
	setup(4096);
	CHECK(!smpfota_bridge_ready(&P.e[0].b));
	CHECK_EQ(smpfota_bridge_mtu(&P.e[0].b), 0);
	CHECK_EQ(send_next(0, 10), SMPFOTA_ERR_BUSY); /* no credit before the other end speaks */
	/* The HELLO went out at init, as one message of its own. */
	CHECK_EQ(P.e[0].out.count, 1);
	CHECK_EQ(P.e[0].out.data[0][0], SMPFOTA_BRIDGE_MSG_HELLO);
	CHECK_EQ(P.e[0].out.len[0], SMPFOTA_BRIDGE_HELLO_SIZE);
	settle();
	for (int i = 0; i < 2; i++) {
		CHECK(smpfota_bridge_ready(&P.e[i].b));
		CHECK_EQ(smpfota_bridge_mtu(&P.e[i].b), MAXF);
		CHECK_EQ(P.e[i].restarts_seen, 1); /* each saw the other's HELLO */
		CHECK_EQ(smpfota_bridge_next_deadline(&P.e[i].b, P.now), -1);
	}
}

static void test_frames_both_ways(void)
{
	setup(8192);
	/* room for a few frames: a grant need not go before the answer that carries it */
	CHECK_EQ(start(0, 10, 4 * (MAXF + 2), 8192), 0);
	CHECK_EQ(start(1, 20, 4 * (MAXF + 2), 8192), 0);
	settle();
	unsigned before = P.e[0].out.sent;
	for (uint32_t k = 0; k < 100; k++) {
		size_t len = 4 + (k * 37U) % (MAXF - 3);
		CHECK_EQ(send_next(0, len), 0);
		CHECK_EQ(send_next(1, len), 0);
		settle();
	}
	for (int i = 0; i < 2; i++) {
		struct end *e = &P.e[i];
		CHECK_EQ(e->n_got, 100);
		CHECK(!e->bad);
		for (unsigned k = 0; k < 100; k++) {
			CHECK_EQ(e->got[k], k);
		}
		/* An idle consumer takes each frame straight from the channel buffer. */
		CHECK_EQ(e->b.stats.frames_direct, 100);
		CHECK_EQ(e->b.stats.drop_credit + e->b.stats.drop_stale + e->b.stats.drop_malformed,
			 0);
	}
	/* Request/answer traffic: the grants ride on frames, no GRANT message is needed. */
	CHECK_EQ(P.e[0].out.sent - before, 100);
	CHECK_EQ(P.e[0].b.stats.grants_tx + P.e[1].b.stats.grants_tx, 0);
}

static void test_one_way_needs_grants(void)
{
	setup(8192);
	settle();
	for (uint32_t k = 0; k < 50; k++) {
		CHECK_EQ(send_next(0, MAXF), 0);
		settle();
	}
	CHECK_EQ(P.e[1].n_got, 50);
	/* Nothing goes back to carry the grant: standalone GRANTs keep end 0 sending. */
	CHECK(P.e[1].b.stats.grants_tx > 0);
	CHECK(P.e[1].b.stats.grants_tx <= 50);
	CHECK_EQ(P.e[0].b.stats.grants_rx, P.e[1].b.stats.grants_tx);
}

/* A full consumer: the sender is stopped by credit, nothing crosses that is not stored, and
 * everything arrives once the consumer takes again. */
static void test_flow_control(void)
{
	setup(65536);
	settle();
	P.e[1].busy = true;
	unsigned accepted = 0;
	int rc = 0;
	for (int k = 0; k < 40 && rc == 0; k++) {
		rc = send_next(0, 100);
		if (rc == 0) {
			accepted++;
		}
		settle();
	}
	CHECK_EQ(rc, SMPFOTA_ERR_BUSY);
	/* Credit = ring minus one largest frame: floor((2*502 - 502) / 102) frames of 100 B. */
	CHECK_EQ(accepted, (2 * (MAXF + 2) - (MAXF + 2)) / 102);
	CHECK_EQ(P.e[1].n_got, 0);
	CHECK(P.e[1].b.stats.rx_busy > 0);
	CHECK(smpfota_bridge_next_deadline(&P.e[1].b, P.now) >= 0); /* it will offer again */
	CHECK_EQ(P.e[1].b.stats.drop_credit, 0);
	P.e[1].busy = false;
	settle();
	CHECK_EQ(P.e[1].n_got, accepted);
	for (unsigned k = 0; k < accepted; k++) {
		CHECK_EQ(P.e[1].got[k], k);
	}
	/* The room came back as credit: a largest frame goes again. */
	CHECK_EQ(send_next(0, MAXF), 0);
	settle();
	CHECK_EQ(P.e[1].n_got, accepted + 1);
	CHECK(!P.e[1].bad);
}

/* A channel with room for little more than one frame: sends and grants are refused and
 * retried; nothing is lost or reordered. */
static void test_channel_busy(void)
{
	setup(SMPFOTA_BRIDGE_HDR_SIZE + MAXF + 8 + 20);
	settle();
	uint32_t sent0 = 0;
	for (int step = 0; step < 2000 && P.e[1].n_got < 200; step++) {
		for (int k = 0; k < 2 && P.e[0].next_seq < 200; k++) {
			(void)send_next(0, 4 + (size_t)(step * 53 + k * 11) % (MAXF - 3));
		}
		carry(0, 1);
		carry(1, 1);
		P.now += 100;
		smpfota_bridge_poll(&P.e[0].b, P.now);
		smpfota_bridge_poll(&P.e[1].b, P.now);
		sent0 = P.e[0].next_seq;
	}
	settle();
	CHECK_EQ(sent0, 200);
	CHECK_EQ(P.e[1].n_got, 200);
	for (unsigned k = 0; k < P.e[1].n_got && k < 200; k++) {
		CHECK_EQ(P.e[1].got[k], k);
	}
	CHECK(P.e[0].b.stats.chan_busy > 0);
	CHECK_EQ(P.e[1].b.stats.drop_credit, 0);
	CHECK(!P.e[1].bad);
}

static void test_channel_error(void)
{
	setup(8192);
	settle();
	P.e[0].out.broken = true;
	uint8_t f[8] = {0};
	CHECK_EQ(smpfota_bridge_send(&P.e[0].b, f, sizeof(f)), SMPFOTA_ERR_IO);
	CHECK_EQ(P.e[0].b.stats.chan_errors, 1);
	CHECK_EQ(smpfota_bridge_send(&P.e[0].b, f, 0), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_bridge_send(&P.e[0].b, f, MAXF + 1), SMPFOTA_ERR_MSGSIZE);
	/* The failed frame cost no credit: after the channel is back, the full credit is there. */
	P.e[0].out.broken = false;
	P.e[1].busy = true;
	unsigned n = 0;
	while (send_next(0, 100) == 0) {
		n++;
		settle();
	}
	CHECK_EQ(n, (MAXF + 2) / 102);
}

/* The other end restarts with frames still in the channel from before (a channel that
 * survives the restart is the hard case): the old frames are dropped, not miscounted, and
 * credit stays exact afterwards. */
static void restart_case(bool keep_channel)
{
	setup(65536);
	settle();
	P.e[1].busy = true;
	while (send_next(0, 60) == 0) {
	}
	CHECK(P.e[0].out.count > 0); /* frames in flight */
	if (!keep_channel) {
		ch_clear(&P.e[0].out);
		ch_clear(&P.e[1].out);
	}
	memset(P.e[1].got, 0, sizeof(P.e[1].got));
	P.e[1].n_got = 0;
	P.e[1].busy = false;
	CHECK_EQ(start(1, 77, SMPFOTA_BRIDGE_RING_MIN(MAXF), 65536), 0);
	settle();
	CHECK_EQ(P.e[0].restarts_seen, 2);
	CHECK(smpfota_bridge_ready(&P.e[0].b));
	CHECK(smpfota_bridge_ready(&P.e[1].b));
	/* Frames from before the restart that arrive after it: stale, dropped. */
	unsigned old = P.e[1].n_got;
	if (keep_channel) {
		CHECK_EQ(old, 0);
		CHECK(P.e[1].b.stats.drop_stale > 0);
	}
	/* From now on, with the consumer busy half the time, every frame arrives in order and no
	 * frame is ever beyond credit. */
	uint32_t first = P.e[0].next_seq;
	for (int step = 0; step < 3000 && P.e[0].next_seq < first + 300; step++) {
		P.e[1].busy = (step / 7) % 2 == 0;
		(void)send_next(0, 4 + (size_t)(step * 29) % (MAXF - 3));
		carry(0, 3);
		carry(1, 3);
		P.now += 250;
		smpfota_bridge_poll(&P.e[0].b, P.now);
		smpfota_bridge_poll(&P.e[1].b, P.now);
	}
	P.e[1].busy = false;
	settle();
	CHECK_EQ(P.e[0].next_seq, first + 300);
	CHECK_EQ(P.e[1].n_got, 300);
	for (unsigned k = 0; k < 300; k++) {
		CHECK_EQ(P.e[1].got[k], first + k);
	}
	CHECK_EQ(P.e[1].b.stats.drop_credit, 0);
	CHECK(!P.e[1].bad);
}

static void test_restart_channel_cleared(void)
{
	restart_case(false);
}

static void test_restart_channel_kept(void)
{
	restart_case(true);
}

/* Both ends start before either hears the other (HELLOs cross), and the first HELLO of one is
 * lost (the other end was not listening): the resent HELLO gets them together. */
static void test_hello_lost_and_crossed(void)
{
	setup(8192);
	ch_clear(&P.e[0].out); /* end 0's first HELLO lost */
	carry(1, 1);           /* end 1's HELLO reaches end 0: it syncs and answers */
	CHECK(smpfota_bridge_ready(&P.e[0].b));
	CHECK(!smpfota_bridge_ready(&P.e[1].b));
	settle();
	CHECK(smpfota_bridge_ready(&P.e[1].b));
	CHECK_EQ(smpfota_bridge_mtu(&P.e[1].b), MAXF); /* the answering EPOCH says max_frame */
	CHECK_EQ(send_next(0, 50), 0);
	CHECK_EQ(send_next(1, 50), 0);
	settle();
	CHECK_EQ(P.e[0].n_got, 1);
	CHECK_EQ(P.e[1].n_got, 1);

	/* No answer at all: HELLO again every hello_interval_us, each a new epoch. */
	setup(8192);
	ch_clear(&P.e[1].out);
	uint32_t h0 = P.e[0].b.stats.hellos_tx;
	for (int k = 0; k < 3; k++) {
		ch_clear(&P.e[0].out);
		int32_t d = smpfota_bridge_next_deadline(&P.e[0].b, P.now);
		CHECK(d > 0);
		P.now += (uint32_t)d;
		smpfota_bridge_poll(&P.e[0].b, P.now);
	}
	CHECK_EQ(P.e[0].b.stats.hellos_tx - h0, 3);
}

/* Both ends start together (a board's two cores at power-up: HELLOs cross) and one sends a
 * frame as soon as the other's HELLO has synced it, before the answer to its own HELLO
 * comes back: the frame must arrive (it used to be dropped as stale, because the other end
 * answered the HELLO with a new epoch: the first request after every boot was lost). */
static void test_first_frame_after_crossed_hellos(void)
{
	for (int i = 0; i < 2; i++) {
		setup(8192);
		carry(1 - i, 1); /* the other end's HELLO: end i syncs */
		CHECK(smpfota_bridge_ready(&P.e[i].b));
		CHECK_EQ(send_next(i, 40), 0);
		settle();
		CHECK_EQ(P.e[1 - i].n_got, 1);
		CHECK_EQ(P.e[1 - i].b.stats.drop_stale, 0);
		/* credit stays exact: the other end's ring can be filled to the last byte */
		P.e[1 - i].busy = true;
		unsigned sent = 0;
		while (send_next(i, MAXF) == 0) {
			sent++;
			settle();
		}
		CHECK(sent > 0);
		P.e[1 - i].busy = false;
		settle();
		CHECK_EQ(P.e[1 - i].n_got, 1 + sent);
		CHECK_EQ(P.e[1 - i].b.stats.drop_credit, 0);
		CHECK(!P.e[1 - i].bad);
	}
}

static void test_events(void)
{
	setup(8192);
	settle();
	struct smpfota_esb_link_stats s;
	memset(&s, 0, sizeof(s));
	s.tx_failed = 3;
	s.drop_tx_frames = 1;
	s.drop_lost = 2;
	s.drop_dup = 5;
	smpfota_bridge_post_link_stats(&P.e[0].b, &s, P.now);
	settle();
	CHECK_EQ(P.e[1].ev[SMPFOTA_BRIDGE_EVT_TX_FAILED], 3);
	CHECK_EQ(P.e[1].ev[SMPFOTA_BRIDGE_EVT_FRAMES_LOST], 1);
	CHECK_EQ(P.e[1].ev[SMPFOTA_BRIDGE_EVT_RX_DROPS], 7);
	CHECK_EQ(P.e[1].n_ev, 4); /* radio_errors 0 was posted once too */
	/* Unchanged counters are not resent. */
	smpfota_bridge_post_link_stats(&P.e[0].b, &s, P.now);
	settle();
	CHECK_EQ(P.e[1].n_ev, 4);
	/* A full channel coalesces: only the latest value goes. */
	P.now += 200000; /* past the event interval */
	P.e[0].out.cap = 0;
	for (uint32_t v = 10; v < 20; v++) {
		smpfota_bridge_post_event(&P.e[0].b, SMPFOTA_BRIDGE_EVT_USER, v, P.now);
	}
	smpfota_bridge_post_event(&P.e[0].b, 99, 1, P.now); /* not a code: ignored */
	CHECK_EQ(smpfota_bridge_next_deadline(&P.e[0].b, P.now), 1000);
	P.e[0].out.cap = 8192;
	settle();
	CHECK_EQ(P.e[1].n_ev, 5);
	CHECK_EQ(P.e[1].ev[SMPFOTA_BRIDGE_EVT_USER], 19);
	/* A counter that changes on every radio packet: one event message per interval
	 * (100 ms by default), and the last value arrives. */
	uint32_t t0 = P.now;
	unsigned ev0 = P.e[1].n_ev;
	for (uint32_t v = 1; v <= 300; v++) {
		s.drop_dup = v;
		P.now += 1000; /* one change per ms for 300 ms */
		smpfota_bridge_post_link_stats(&P.e[0].b, &s, P.now);
		smpfota_bridge_poll(&P.e[0].b, P.now);
		carry(0, CH_MSGS);
	}
	settle();
	CHECK(P.now - t0 >= 300000);
	CHECK(P.e[1].n_ev - ev0 <= 4);
	CHECK(P.e[1].n_ev - ev0 >= 3);
	CHECK_EQ(P.e[1].ev[SMPFOTA_BRIDGE_EVT_RX_DROPS], 302);
}

static void test_malformed(void)
{
	setup(8192);
	settle();
	struct smpfota_bridge *b = &P.e[1].b;
	static const uint8_t bad[][10] = {
		{0x00},
		{0x09, 1, 2, 3, 4, 5},
		{SMPFOTA_BRIDGE_MSG_FRAME, 0, 0, 0, 0, 0, 0},
		{SMPFOTA_BRIDGE_MSG_GRANT, 1},
		{SMPFOTA_BRIDGE_MSG_EVENT, 8, 0, 0, 0, 0},
		{SMPFOTA_BRIDGE_MSG_HELLO, 1, 0, 0, 0, 0, 9, 100, 0}, /* wrong version */
		{SMPFOTA_BRIDGE_MSG_EPOCH, 1, 0, 0, 0, 0, 1, 0, 0},   /* max_frame 0 */
	};
	static const size_t lens[] = {1, 6, 7, 2, 6, 9, 9};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		smpfota_bridge_input(b, bad[i], lens[i], P.now);
	}
	smpfota_bridge_input(b, bad[0], 0, P.now);
	CHECK_EQ(b->stats.drop_malformed, 8);
	/* A frame beyond the credit given (a sender that ignores credit) is dropped, and counted
	 * so that both ends stay in step. */
	uint8_t m[SMPFOTA_BRIDGE_HDR_SIZE + MAXF];
	memset(m, 0, sizeof(m));
	m[0] = SMPFOTA_BRIDGE_MSG_FRAME;
	m[1] = b->epoch;
	P.e[1].busy = true;
	unsigned drops = 0;
	for (int k = 0; k < 10; k++) {
		fill(m + SMPFOTA_BRIDGE_HDR_SIZE, MAXF, 1000U + (uint32_t)k);
		smpfota_bridge_input(b, m, sizeof(m), P.now);
	}
	drops = b->stats.drop_credit;
	CHECK_EQ(drops, 9); /* the credit covered one largest frame */
	/* The bridge still works both ways afterwards. */
	P.e[1].busy = false;
	settle();
	CHECK_EQ(P.e[1].n_got, 1);
	CHECK_EQ(send_next(1, 40), 0);
	settle();
	CHECK_EQ(P.e[0].n_got, 1);
}

/* Seeded random traffic both ways with busy consumers, a small channel, and restarts of either
 * end: never a corrupt, duplicated or reordered frame, never one beyond credit; after the
 * last restart every frame sent arrives. */
static void test_random(void)
{
	uint32_t rng = 12345;
	for (int run = 0; run < 20; run++) {
		setup(520 + (size_t)run * 60); /* from just one largest message up */
		/* per sender: its first frame sent against the receiver's current epoch */
		uint32_t sync_seq[2] = {0, 0};
		int tag_seen[2] = {-1, -1};
		for (int step = 0; step < 4000; step++) {
			rng = rng * 1103515245U + 12345U;
			uint32_t r = rng >> 8;
			int i = (int)(r & 1U);
			switch ((r >> 1) % 16) {
			case 0:
				P.e[i].busy = !P.e[i].busy;
				break;
			case 1:
				if (step < 3000 && (r >> 5) % 40 == 0) {
					/* restart end i; what it had received is gone with it */
					if ((r >> 12) & 1U) {
						ch_clear(&P.e[i].out);
					}
					/* a new first epoch (bridge.h: never the last one) */
					uint8_t ep = (uint8_t)(P.e[i].b.epoch + 100U +
							       (r >> 16) % 50U);
					CHECK_EQ(start(i, ep,
						       SMPFOTA_BRIDGE_RING_MIN(MAXF) +
							       (r >> 20) % 200,
						       P.e[i].out.cap),
						 0);
					P.e[i].n_got = 0;
				}
				break;
			case 2:
			case 3:
			case 4:
			case 5:
			case 6:
				(void)send_next(i, 4 + (r >> 7) % (MAXF - 3));
				break;
			default:
				carry(i, 1 + (r >> 9) % 3);
				break;
			}
			P.now += (r >> 13) % 500;
			smpfota_bridge_poll(&P.e[i].b, P.now);
			for (int k = 0; k < 2; k++) {
				int tag = P.e[k].b.synced ? P.e[k].b.tag : -1;
				if (tag != tag_seen[k]) {
					tag_seen[k] = tag;
					sync_seq[k] = P.e[k].next_seq;
				}
			}
		}
		P.e[0].busy = P.e[1].busy = false;
		settle();
		for (int i = 0; i < 2; i++) {
			struct end *dst = &P.e[1 - i];
			CHECK(!dst->bad);
			CHECK_EQ(dst->b.stats.drop_credit, 0);
			/* strictly increasing: no duplicate, no reordering */
			for (unsigned k = 1; k < dst->n_got && k < LOGN; k++) {
				CHECK(dst->got[k] > dst->got[k - 1]);
			}
			/* every frame sent against the receiver's last epoch arrived (one sent
			 * before the sender heard of a restart may be lost, as bridge.h says) */
			unsigned tail = 0;
			for (unsigned k = 0; k < dst->n_got && k < LOGN; k++) {
				tail += dst->got[k] >= sync_seq[i];
			}
			CHECK_EQ(tail, P.e[i].next_seq - sync_seq[i]);
			CHECK(P.e[i].next_seq - sync_seq[i] > 20); /* and traffic did flow */
		}
	}
}

int main(void)
{
	RUN(test_config_checks);
	RUN(test_handshake);
	RUN(test_frames_both_ways);
	RUN(test_one_way_needs_grants);
	RUN(test_flow_control);
	RUN(test_channel_busy);
	RUN(test_channel_error);
	RUN(test_restart_channel_cleared);
	RUN(test_restart_channel_kept);
	RUN(test_hello_lost_and_crossed);
	RUN(test_first_frame_after_crossed_hellos);
	RUN(test_events);
	RUN(test_malformed);
	RUN(test_random);
	return CHECK_SUMMARY();
}
