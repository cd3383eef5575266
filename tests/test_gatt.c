/*
 * SMP over GATT tests, against the rules of Zephyr's Bluetooth transport (smp_bt.c,
 * smp_reassembly.c; docs/ble.md): pieces of at most ATT_MTU - 3 for every MTU from 23 to 498
 * (and 517), answers split across notifications at any boundary, a target with and without
 * reassembly, interleaved, truncated, oversized and junk pieces, a stack without buffers, a
 * disconnection; then the client engine and the server talking through two links.
 */
#include <stdlib.h>

#include "check.h"
#include "emu/image.h"
#include "emu/nor.h"
#include "emu/target.h"
#include "smpfota/client.h"
#include "smpfota/gatt.h"
#include "smpfota/server.h"
#include "test_util.h"

#define CAP 4096U

/* A fake stack: records every piece handed to it; `room` pieces accepted before BUSY
 * (-1: unlimited); `fail` makes it refuse with an error. */
struct stack {
	uint8_t bytes[70000];
	size_t used;
	size_t lens[4096];
	unsigned n;
	int room;
	bool fail;
};

static int stack_send(void *ctx, const uint8_t *p, size_t len)
{
	struct stack *s = ctx;
	if (s->fail) {
		return SMPFOTA_ERR_IO;
	}
	if (s->room == 0) {
		return SMPFOTA_ERR_BUSY;
	}
	if (s->room > 0) {
		s->room--;
	}
	memcpy(s->bytes + s->used, p, len);
	s->used += len;
	s->lens[s->n++] = len;
	return 0;
}

/* Frames a link delivered. */
struct sink {
	uint8_t frames[16][CAP];
	size_t lens[16];
	unsigned n;
};

static int sink_rx(void *user, const uint8_t *f, size_t len)
{
	struct sink *k = user;
	if (k->n < 16) {
		memcpy(k->frames[k->n], f, len);
		k->lens[k->n] = len;
	}
	k->n++;
	return 0;
}

struct end {
	struct smpfota_gatt g;
	struct stack st;
	struct sink sk;
	uint8_t tx[CAP], rx[CAP];
};

static struct end A, B;

static void end_init(struct end *e, bool peer_reassembles, bool whole_pieces, size_t rx_size)
{
	memset(e, 0, sizeof(*e));
	e->st.room = -1;
	struct smpfota_gatt_config c = {
		.ops = {.send = stack_send, .ctx = &e->st},
		.tx_buf = e->tx,
		.tx_size = sizeof(e->tx),
		.rx_buf = e->rx,
		.rx_size = rx_size,
		.rx = sink_rx,
		.user = &e->sk,
		.peer_reassembles = peer_reassembles,
		.whole_pieces = whole_pieces,
	};
	CHECK_EQ(smpfota_gatt_init(&e->g, &c), 0);
}

/* An SMP frame: header (op, len) and a patterned body. */
static size_t make_frame(uint8_t *f, uint8_t op, size_t body, uint8_t seed)
{
	memset(f, 0, 8);
	f[0] = (uint8_t)(0x08 | op); /* version 1 */
	f[2] = (uint8_t)(body >> 8);
	f[3] = (uint8_t)body;
	f[6] = seed;
	for (size_t i = 0; i < body; i++) {
		f[8 + i] = (uint8_t)(seed + i * 7U);
	}
	return 8 + body;
}

static uint8_t F[CAP], G[CAP];

static void test_config_and_mtu(void)
{
	struct smpfota_gatt g;
	uint8_t b[64];
	struct smpfota_gatt_config c = {.ops = {.send = stack_send, .ctx = &A.st},
					.tx_buf = b,
					.tx_size = sizeof(b),
					.rx_buf = b,
					.rx_size = sizeof(b),
					.rx = sink_rx};
	CHECK_EQ(smpfota_gatt_init(&g, &c), 0);
	c.rx = NULL;
	CHECK_EQ(smpfota_gatt_init(&g, &c), SMPFOTA_ERR_INVAL);
	c.rx = sink_rx;
	c.tx_size = 7;
	CHECK_EQ(smpfota_gatt_init(&g, &c), SMPFOTA_ERR_INVAL);

	end_init(&A, false, false, CAP);
	CHECK_EQ(smpfota_gatt_mtu(&A.g), 20); /* ATT_MTU 23 until exchanged */
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 22), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 518), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 247), 0);
	CHECK_EQ(smpfota_gatt_mtu(&A.g), 244);
	end_init(&A, true, false, CAP);
	CHECK_EQ(smpfota_gatt_mtu(&A.g), CAP); /* the peer reassembles: up to the buffer */
	smpfota_gatt_disconnected(&A.g);
	CHECK_EQ(A.g.att_mtu, 23);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, 0), SMPFOTA_ERR_INVAL);
}

/* Central -> target with reassembly, target -> central notifications, every MTU 23..498 and
 * 517: pieces of exactly ATT_MTU - 3 but the last, put back together byte for byte. */
static void test_every_mtu_both_ways(void)
{
	static const size_t sizes[] = {8, 9, 20, 21, 244, 245, 1000, 2475, CAP};
	for (unsigned mtu = 23; mtu <= 517; mtu = mtu == 498 ? 517 : mtu + 1) {
		for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			end_init(&A, true, false, CAP); /* central */
			end_init(&B, true, false, CAP); /* peripheral */
			CHECK_EQ(smpfota_gatt_set_mtu(&A.g, (uint16_t)mtu), 0);
			CHECK_EQ(smpfota_gatt_set_mtu(&B.g, (uint16_t)mtu), 0);
			size_t n = make_frame(F, 2, sizes[k] - 8, (uint8_t)mtu);
			CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
			CHECK(smpfota_gatt_tx_idle(&A.g));
			CHECK_EQ(A.st.used, n);
			CHECK_EQ(A.st.n, (n + mtu - 4) / (mtu - 3));
			for (unsigned i = 0; i < A.st.n; i++) {
				CHECK(A.st.lens[i] == mtu - 3 || i == A.st.n - 1);
			}
			size_t off = 0;
			for (unsigned i = 0; i < A.st.n; i++) {
				smpfota_gatt_on_piece(&B.g, A.st.bytes + off, A.st.lens[i], 0);
				off += A.st.lens[i];
			}
			CHECK_EQ(B.sk.n, 1);
			CHECK_EQ(B.sk.lens[0], n);
			CHECK_MEM(B.sk.frames[0], F, n);
			/* the answer back, as notifications */
			size_t m = make_frame(G, 3, sizes[k] - 8, (uint8_t)(mtu + 1));
			CHECK_EQ(smpfota_gatt_send(&B.g, G, m), 0);
			off = 0;
			for (unsigned i = 0; i < B.st.n; i++) {
				CHECK(B.st.lens[i] <= mtu - 3);
				smpfota_gatt_on_piece(&A.g, B.st.bytes + off, B.st.lens[i], 0);
				off += B.st.lens[i];
			}
			CHECK_EQ(A.sk.n, 1);
			CHECK_EQ(A.sk.lens[0], m);
			CHECK_MEM(A.sk.frames[0], G, m);
		}
	}
}

static unsigned queued_n; /* what the fake stack reports as still queued */

static unsigned stack_queued(void *ctx)
{
	(void)ctx;
	return queued_n;
}

/* A central's hold (gatt.h): an answer that finds the link idle holds the next frame's first
 * piece for hold_ms, so that it does not ride in the packet that acknowledges the answer;
 * not when a frame is still being handed over or the stack still queues pieces (they carry
 * the acknowledgement); off by default; a disconnection ends it. */
static void test_hold_after_answer(void)
{
	end_init(&A, true, false, CAP);
	A.g.cfg.ops.queued = stack_queued;
	queued_n = 0;
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 247), 0);
	size_t m = make_frame(G, 3, 10, 1), n = make_frame(F, 2, 500, 2);
	/* off: the next frame goes at once */
	smpfota_gatt_on_piece(&A.g, G, m, 100);
	CHECK_EQ(smpfota_gatt_hold_left(&A.g, 100), -1);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	CHECK_EQ(A.st.n, 3);
	/* on: held until 8 ms after the answer */
	smpfota_gatt_set_hold(&A.g, 8);
	A.st.n = 0;
	A.st.used = 0;
	smpfota_gatt_on_piece(&A.g, G, m, 200);
	CHECK_EQ(smpfota_gatt_hold_left(&A.g, 203), 5);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	CHECK_EQ(A.st.n, 0);
	CHECK(!smpfota_gatt_tx_idle(&A.g));
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), SMPFOTA_ERR_BUSY);
	smpfota_gatt_poll(&A.g, 207);
	CHECK_EQ(A.st.n, 0);
	smpfota_gatt_poll(&A.g, 208);
	CHECK_EQ(A.st.n, 3);
	CHECK_EQ(smpfota_gatt_hold_left(&A.g, 208), -1);
	CHECK_MEM(A.st.bytes, F, n);
	/* pieces still queued in the stack carry the acknowledgement: no hold */
	queued_n = 2;
	smpfota_gatt_on_piece(&A.g, G, m, 300);
	CHECK_EQ(smpfota_gatt_hold_left(&A.g, 300), -1);
	queued_n = 0;
	/* nor while a frame is being handed over (its next piece carries it) */
	A.st.room = 1;
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	smpfota_gatt_on_piece(&A.g, G, m, 400);
	CHECK_EQ(smpfota_gatt_hold_left(&A.g, 400), -1);
	A.st.room = -1;
	smpfota_gatt_poll(&A.g, 400);
	CHECK(smpfota_gatt_tx_idle(&A.g));
	/* a disconnection ends a wait */
	smpfota_gatt_on_piece(&A.g, G, m, 500);
	CHECK_EQ(smpfota_gatt_hold_left(&A.g, 500), 8);
	smpfota_gatt_disconnected(&A.g);
	CHECK_EQ(smpfota_gatt_hold_left(&A.g, 500), -1);
}

/* Pieces sized to the connection event, against the hand formula (Core Vol 6 Part B): on
 * LE 1M a pair with a p-byte piece takes (1+4+2+p+7+3) x 8 + 150 + 80 + 150 = 8p + 516 µs,
 * and a 20-byte answer's notification 27 x 8 = 216 µs more than an empty PDU. In 7.5 ms,
 * three pairs of 244-byte pieces leave 96 µs, too little for it; 3 (8p + 516) + 216 <= 7500
 * gives p <= 239. Encrypted (MIC 4 in each data PDU): 3 (8p + 548) + 248 <= 7500, p <= 233.
 * LE 2M: five pairs of 244 bytes leave 540 µs: 244. A piece over several PDUs: not tuned.
 * The link then sends pieces of that size (when the target reassembles) until the next
 * connection, and smpfota_gatt_piece() reports the size it sends. */
static void test_event_piece(void)
{
	struct smpfota_gatt_conn_params p = {
		.event_us = 7500, .att_mtu = 247, .data_len = 251, .phy = 1, .encrypted = false};
	CHECK_EQ(smpfota_gatt_event_piece(&p), 239);
	p.encrypted = true;
	CHECK_EQ(smpfota_gatt_event_piece(&p), 233);
	p.encrypted = false;
	p.phy = 2;
	CHECK_EQ(smpfota_gatt_event_piece(&p), 244);
	p.event_us = 30000; /* 21 pairs of 1392 µs: 768 left */
	CHECK_EQ(smpfota_gatt_event_piece(&p), 244);
	p.phy = 1;
	p.data_len = 27; /* 244 + 7 octets over 27-octet PDUs */
	CHECK_EQ(smpfota_gatt_event_piece(&p), 244);
	p.data_len = 251;
	p.att_mtu = 498;
	CHECK_EQ(smpfota_gatt_event_piece(&p), 495);
	p.att_mtu = 247;
	p.event_us = 1000; /* not one pair fits */
	CHECK_EQ(smpfota_gatt_event_piece(&p), 244);

	end_init(&A, true, false, CAP);
	CHECK_EQ(smpfota_gatt_piece(&A.g), 20); /* ATT_MTU 23 */
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 247), 0);
	CHECK_EQ(smpfota_gatt_piece(&A.g), 244);
	smpfota_gatt_set_piece(&A.g, 239);
	CHECK_EQ(smpfota_gatt_piece(&A.g), 239);
	size_t n = make_frame(F, 2, 2390 - 8, 1);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	CHECK_EQ(A.st.n, 10);
	for (unsigned i = 0; i < A.st.n; i++) {
		CHECK_EQ(A.st.lens[i], smpfota_gatt_piece(&A.g));
	}
	smpfota_gatt_disconnected(&A.g);
	CHECK_EQ(smpfota_gatt_piece(&A.g), 20);
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 247), 0);
	CHECK_EQ(smpfota_gatt_piece(&A.g), 244);
	A.st.n = 0;
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	CHECK_EQ(A.st.n, 10); /* 9 x 244 + 194: the piece went with the connection */
	CHECK_EQ(A.st.lens[0], 244);
	smpfota_gatt_set_piece(&A.g, 300); /* more than ATT_MTU - 3 */
	CHECK_EQ(smpfota_gatt_piece(&A.g), 244);
	/* the connection's figure reaches the link: pieces of what the link reports */
	p = (struct smpfota_gatt_conn_params){
		.event_us = 7500, .att_mtu = 247, .data_len = 251, .phy = 1, .encrypted = true};
	smpfota_gatt_set_piece(&A.g, smpfota_gatt_event_piece(&p));
	CHECK_EQ(smpfota_gatt_piece(&A.g), 233);
	A.st.n = 0;
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	CHECK_EQ(A.st.lens[0], 233);
	/* a target without reassembly takes a frame as one piece: the piece size is ignored */
	end_init(&A, false, false, CAP);
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 247), 0);
	smpfota_gatt_set_piece(&A.g, 100);
	CHECK_EQ(smpfota_gatt_piece(&A.g), 244);
	n = make_frame(F, 2, 244 - 8, 2);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	CHECK_EQ(A.st.n, 1);
	CHECK_EQ(A.st.lens[0], smpfota_gatt_piece(&A.g));
}

/* Answers split at arbitrary boundaries (a stack may notify less than it could), several
 * frames back to back. */
static void test_arbitrary_splits(void)
{
	uint32_t x = 12345;
	for (int round = 0; round < 200; round++) {
		end_init(&A, true, false, CAP);
		uint8_t stream[3 * CAP];
		size_t lens[3], total = 0;
		for (int i = 0; i < 3; i++) {
			x = x * 1103515245U + 12345U;
			lens[i] = make_frame(stream + total, 3, (x >> 8) % 1500,
					     (uint8_t)(round + i));
			total += lens[i];
		}
		size_t off = 0;
		while (off < total) {
			x = x * 1103515245U + 12345U;
			size_t n = 1 + (x >> 8) % 300;
			/* never across two frames: Zephyr notifies each frame on its own */
			size_t end = 0;
			for (int i = 0; i < 3; i++) {
				end += lens[i];
				if (off < end) {
					break;
				}
			}
			if (n > end - off) {
				n = end - off;
			}
			/* a first piece holds at least the header */
			if (off + 8 <= end &&
			    (off == 0 || off == lens[0] || off == lens[0] + lens[1]) && n < 8) {
				n = 8;
			}
			smpfota_gatt_on_piece(&A.g, stream + off, n, 0);
			off += n;
		}
		CHECK_EQ(A.sk.n, 3);
		size_t o = 0;
		for (int i = 0; i < 3; i++) {
			CHECK_EQ(A.sk.lens[i], lens[i]);
			CHECK_MEM(A.sk.frames[i], stream + o, lens[i]);
			o += lens[i];
		}
		CHECK_EQ(A.g.stats.drop_truncated + A.g.stats.drop_malformed + A.g.stats.drop_short,
			 0);
	}
}

/* A Zephyr target without CONFIG_MCUMGR_TRANSPORT_BT_REASSEMBLY: frames up to ATT_MTU - 3,
 * each write one frame; a piece whose header disagrees with its length is dropped. */
static void test_target_without_reassembly(void)
{
	end_init(&A, false, false, CAP);
	end_init(&B, true, true, CAP);
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 185), 0);
	CHECK_EQ(smpfota_gatt_mtu(&A.g), 182);
	size_t n = make_frame(F, 2, 182 - 8, 1);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n + 1), SMPFOTA_ERR_MSGSIZE);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	CHECK_EQ(A.st.n, 1);
	smpfota_gatt_on_piece(&B.g, A.st.bytes, A.st.lens[0], 0);
	CHECK_EQ(B.sk.n, 1);
	CHECK_EQ(B.sk.lens[0], n);
	smpfota_gatt_on_piece(&B.g, F, 100, 0); /* the first piece of a longer frame */
	smpfota_gatt_on_piece(&B.g, F + 100, n - 100, 0);
	CHECK_EQ(B.sk.n, 1);
	CHECK_EQ(B.g.stats.drop_malformed + B.g.stats.drop_short, 2);
}

/* Interleaved: a frame's tail is missing and the next frame's first piece is longer than
 * what the partial one still needs: the partial frame goes, the new one is kept. */
static void test_interleaved_and_truncated(void)
{
	end_init(&A, true, false, CAP);
	size_t n = make_frame(F, 3, 600, 1);
	size_t m = make_frame(G, 3, 300, 2);
	smpfota_gatt_on_piece(&A.g, F, 244, 0);
	smpfota_gatt_on_piece(&A.g, F + 244, 244, 0); /* 120 bytes still due */
	smpfota_gatt_on_piece(&A.g, G, 244, 0);       /* 244 > 120: a new frame */
	smpfota_gatt_on_piece(&A.g, G + 244, m - 244, 0);
	CHECK_EQ(A.sk.n, 1);
	CHECK_EQ(A.sk.lens[0], m);
	CHECK_MEM(A.sk.frames[0], G, m);
	CHECK_EQ(A.g.stats.drop_truncated, 1);
	/* the edge: one byte more than the partial frame still needs */
	size_t k = make_frame(G + 1000, 3, 113, 5); /* 121 bytes */
	smpfota_gatt_on_piece(&A.g, F, 244, 0);
	smpfota_gatt_on_piece(&A.g, F + 244, 244, 0); /* 120 due */
	smpfota_gatt_on_piece(&A.g, G + 1000, k, 0);
	CHECK_EQ(A.g.stats.drop_truncated, 2);
	CHECK_EQ(A.sk.n, 2);
	CHECK_EQ(A.sk.lens[1], k);
	A.sk.n = 1;

	/* truncated by a disconnection: nothing of it survives into the next connection */
	smpfota_gatt_on_piece(&A.g, F, 244, 0);
	smpfota_gatt_disconnected(&A.g);
	CHECK_EQ(A.g.stats.drop_reset, 1);
	smpfota_gatt_on_piece(&A.g, F, 244, 0);
	smpfota_gatt_on_piece(&A.g, F + 244, 244, 0);
	smpfota_gatt_on_piece(&A.g, F + 488, n - 488, 0);
	CHECK_EQ(A.sk.n, 2);
	CHECK_EQ(A.sk.lens[1], n);
	CHECK_MEM(A.sk.frames[1], F, n);

	/* truncated without a disconnection: dropped after rx_timeout_ms of silence */
	smpfota_gatt_on_piece(&A.g, F, 244, 1000);
	smpfota_gatt_poll(&A.g, 5999);
	CHECK_EQ(A.g.stats.drop_timeout, 0);
	smpfota_gatt_poll(&A.g, 6000);
	CHECK_EQ(A.g.stats.drop_timeout, 1);
	smpfota_gatt_on_piece(&A.g, G, m, 6001);
	CHECK_EQ(A.sk.n, 3);
	CHECK_EQ(A.sk.lens[2], m);
}

/* Junk: short first pieces, bad ops, a piece longer than its frame; an oversized frame is
 * skipped whole (its data is not read as headers) and the next frame gets through. */
static void test_junk_and_oversized(void)
{
	end_init(&A, true, false, 512);
	size_t m = make_frame(G, 3, 100, 9);
	smpfota_gatt_on_piece(&A.g, G, 7, 0);
	CHECK_EQ(A.g.stats.drop_short, 1);
	uint8_t bad[16];
	memcpy(bad, G, sizeof(bad));
	bad[0] = 0x0c; /* op 4 */
	smpfota_gatt_on_piece(&A.g, bad, sizeof(bad), 0);
	CHECK_EQ(A.g.stats.drop_malformed, 1);
	uint8_t longer[200];
	make_frame(longer, 3, 10, 1);
	smpfota_gatt_on_piece(&A.g, longer, sizeof(longer), 0); /* 200 > 18 */
	CHECK_EQ(A.g.stats.drop_malformed, 2);
	CHECK_EQ(A.sk.n, 0);

	/* 2000 bytes do not fit 512: skipped, including pieces that look like headers */
	size_t n = make_frame(F, 3, 1992, 3);
	memcpy(F + 244, G, 8); /* a header look-alike inside the data */
	for (size_t off = 0; off < n; off += 244) {
		smpfota_gatt_on_piece(&A.g, F + off, n - off < 244 ? n - off : 244, 0);
	}
	CHECK_EQ(A.g.stats.drop_overflow, 1);
	CHECK_EQ(A.sk.n, 0);
	smpfota_gatt_on_piece(&A.g, G, m, 0);
	CHECK_EQ(A.sk.n, 1);
	CHECK_EQ(A.sk.lens[0], m);
	CHECK_MEM(A.sk.frames[0], G, m);
}

/* The stack runs out of buffers mid-frame: the rest goes on poll, the next frame waits. */
static void test_stack_busy_and_error(void)
{
	end_init(&A, true, false, CAP);
	size_t n = make_frame(F, 2, 1000, 4);
	A.st.room = 2;
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	CHECK_EQ(A.st.n, 2);
	CHECK(!smpfota_gatt_tx_idle(&A.g));
	CHECK_EQ(smpfota_gatt_send(&A.g, G, 20), SMPFOTA_ERR_BUSY);
	smpfota_gatt_poll(&A.g, 0);
	CHECK_EQ(A.st.n, 2);
	A.st.room = -1;
	smpfota_gatt_poll(&A.g, 0);
	CHECK(smpfota_gatt_tx_idle(&A.g));
	CHECK_EQ(A.st.used, n);
	CHECK_MEM(A.st.bytes, F, n);
	CHECK_EQ(A.g.stats.frames_tx, 1);

	A.st.fail = true;
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	CHECK(smpfota_gatt_tx_idle(&A.g)); /* dropped: SMP's retransmission recovers */
	CHECK_EQ(A.g.stats.send_errors, 1);
	A.st.fail = false;
	A.st.room = 0;
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n), 0);
	smpfota_gatt_disconnected(&A.g);
	CHECK(smpfota_gatt_tx_idle(&A.g));
}

/* Trickle (docs/ble.md): with two whole requests unanswered, the next frame goes in
 * trickle_piece pieces and smpfota_gatt_trickling() says so; an answer (by its seq) ends it,
 * and the rest goes in whole pieces; an answer to a later request also settles the older
 * ones (answers come in order: those were lost); off when trickle_piece is 0. */
static void test_trickle(void)
{
	end_init(&A, true, false, CAP);
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 247), 0);
	A.g.cfg.trickle_piece = 20;
	size_t n1 = make_frame(F, 2, 1000, 1);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n1), 0); /* seq 1 */
	size_t n2 = make_frame(F, 2, 1000, 2);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n2), 0); /* seq 2 */
	CHECK(!smpfota_gatt_trickling(&A.g));
	for (unsigned i = 0; i < A.st.n; i++) {
		CHECK(A.st.lens[i] <= 244);
	}
	CHECK_EQ(A.st.lens[0], 244); /* whole pieces so far */
	unsigned before = A.st.n;
	A.st.room = 3;
	size_t n3 = make_frame(F, 2, 1000, 3);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n3), 0); /* seq 3: two are unanswered */
	CHECK(smpfota_gatt_trickling(&A.g));
	CHECK_EQ(A.st.n, before + 3);
	for (unsigned i = before; i < A.st.n; i++) {
		CHECK_EQ(A.st.lens[i], 20);
	}
	/* the answer to seq 1 comes: one unanswered left, whole pieces again */
	make_frame(G, 3, 10, 1);
	smpfota_gatt_on_piece(&A.g, G, 18, 0);
	CHECK(!smpfota_gatt_trickling(&A.g));
	A.st.room = -1;
	smpfota_gatt_poll(&A.g, 0);
	CHECK(smpfota_gatt_tx_idle(&A.g));
	CHECK_EQ(A.st.lens[before + 3], 244);
	CHECK_EQ(A.st.used, n1 + n2 + n3);
	/* seq 2 and 3 unanswered; the answer to 3 settles 2 (lost) too */
	make_frame(G, 3, 10, 3);
	smpfota_gatt_on_piece(&A.g, G, 18, 0);
	before = A.st.n;
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n3), 0);
	CHECK_EQ(A.st.lens[before], 244);
	/* off: never small pieces */
	end_init(&A, true, false, CAP);
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 247), 0);
	for (uint8_t k = 0; k < 4; k++) {
		size_t m = make_frame(F, 2, 1000, k);
		CHECK_EQ(smpfota_gatt_send(&A.g, F, m), 0);
		CHECK(!smpfota_gatt_trickling(&A.g));
	}
	for (unsigned i = 0; i < A.st.n; i++) {
		CHECK(A.st.lens[i] == 244 || i % 5 == 4);
	}
	/* a target without reassembly takes whole frames only: never trickled */
	end_init(&A, false, false, CAP);
	A.g.cfg.trickle_piece = 20;
	for (uint8_t k = 0; k < 3; k++) {
		size_t m = make_frame(F, 2, 10, k);
		CHECK_EQ(smpfota_gatt_send(&A.g, F, m), 0);
		CHECK(!smpfota_gatt_trickling(&A.g));
		CHECK_EQ(A.st.lens[A.st.n - 1], m);
	}
	/* a disconnection forgets what was unanswered */
	end_init(&A, true, false, CAP);
	A.g.cfg.trickle_piece = 20;
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n1), 0);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n2), 0);
	smpfota_gatt_disconnected(&A.g);
	A.st.room = 0;
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n3), 0);
	CHECK(!smpfota_gatt_trickling(&A.g));
}

/* The trickled piece follows the connection's data length (docs/ble.md): trickle_piece over
 * 251-octet PDUs or when not known, a piece that fills one PDU (data length - 7) below 251, as
 * long as the ATT_MTU allows it; a disconnection keeps the data length. */
static size_t trickled_len(uint16_t data_len, uint16_t att_mtu)
{
	end_init(&A, true, false, CAP);
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, att_mtu), 0);
	A.g.cfg.trickle_piece = 8;
	if (data_len != 0) {
		CHECK_EQ(smpfota_gatt_set_data_len(&A.g, data_len), 0);
	}
	for (uint8_t k = 1; k <= 2; k++) {
		size_t m = make_frame(F, 2, 300, k);
		CHECK_EQ(smpfota_gatt_send(&A.g, F, m), 0);
	}
	A.st.room = 1;
	size_t n3 = make_frame(F, 2, 300, 3);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, n3), 0); /* two unanswered: trickled */
	CHECK(smpfota_gatt_trickling(&A.g));
	return A.st.lens[A.st.n - 1];
}

static void test_trickle_follows_data_len(void)
{
	CHECK_EQ(trickled_len(0, 247), 8);
	CHECK_EQ(trickled_len(251, 247), 8);
	CHECK_EQ(trickled_len(27, 247), 20);
	CHECK_EQ(trickled_len(100, 247), 93);
	CHECK_EQ(trickled_len(250, 247), 243);
	CHECK_EQ(trickled_len(250, 100), 97); /* no larger than a whole piece */
	/* kept over a disconnection (the port sets it per connection) */
	CHECK_EQ(trickled_len(27, 247), 20);
	smpfota_gatt_disconnected(&A.g);
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, 247), 0);
	A.st.room = -1;
	for (uint8_t k = 4; k <= 5; k++) {
		size_t m = make_frame(F, 2, 300, k);
		CHECK_EQ(smpfota_gatt_send(&A.g, F, m), 0);
	}
	A.st.room = 1;
	size_t m = make_frame(F, 2, 300, 6);
	CHECK_EQ(smpfota_gatt_send(&A.g, F, m), 0);
	CHECK_EQ(A.st.lens[A.st.n - 1], 20);
	/* 27..251 or 0 */
	CHECK_EQ(smpfota_gatt_set_data_len(&A.g, 26), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_gatt_set_data_len(&A.g, 252), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_gatt_set_data_len(&A.g, 0), 0);
}

/* ---- the client engine and the server over two links ------------------------------------ */

#define PAGE 4096U
#define SLOT (16U * PAGE)
#define DEV (2U * SLOT + PAGE)

static struct {
	struct smpfota_client cli;
	struct smpfota_emu_target tb; /* the target board */
	struct smpfota_nor nor;
	uint8_t mem[DEV];
	uint8_t cbuf[5 * 2048];
	uint8_t rsp[2048];
	uint8_t img[24000];
	size_t img_len;
	bool echo_ok, up_done, match;
	int up_err;
	uint32_t now;
} P;

/* The air between the links: every piece either stack took goes to the other side. */
static void air(void)
{
	size_t off = 0;
	for (unsigned i = 0; i < A.st.n; i++) {
		smpfota_gatt_on_piece(&B.g, A.st.bytes + off, A.st.lens[i], P.now);
		off += A.st.lens[i];
	}
	A.st.n = 0;
	A.st.used = 0;
	off = 0;
	for (unsigned i = 0; i < B.st.n; i++) {
		smpfota_gatt_on_piece(&A.g, B.st.bytes + off, B.st.lens[i], P.now);
		off += B.st.lens[i];
	}
	B.st.n = 0;
	B.st.used = 0;
}

static int srv_rx(void *user, const uint8_t *f, size_t len)
{
	(void)user;
	int n = smpfota_server_handle(&P.tb.srv, f, len, P.rsp, sizeof(P.rsp));
	if (n > 0) {
		CHECK_EQ(smpfota_gatt_send(&B.g, P.rsp, (size_t)n), 0);
	}
	return 0;
}

static int cli_rx(void *user, const uint8_t *f, size_t len)
{
	(void)user;
	(void)smpfota_client_input(&P.cli, f, len, P.now);
	return 0;
}

static void on_echo(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	(void)user;
	(void)msg;
	P.echo_ok = err == 0 && rsp->echo.r.len == 900 && rsp->echo.r.ptr[899] == 'x';
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

static void run_engine_over_gatt(uint16_t mtu, bool reassembly)
{
	memset(&P, 0, sizeof(P));
	end_init(&A, reassembly, false, CAP);
	end_init(&B, true, !reassembly, 2048);
	A.g.cfg.rx = cli_rx;
	B.g.cfg.rx = srv_rx;
	CHECK_EQ(smpfota_gatt_set_mtu(&A.g, mtu), 0);
	CHECK_EQ(smpfota_gatt_set_mtu(&B.g, mtu), 0);
	A.st.room = 3; /* a few buffers in the stack, refilled every step */

	smpfota_nor_init(&P.nor, P.mem, DEV, PAGE, 4);
	smpfota_nor_erase_all(&P.nor);
	smpfota_emu_target_init(&P.tb);
	CHECK_EQ(smpfota_emu_target_add_image(&P.tb, &P.nor, 0, &P.nor, SLOT + PAGE, SLOT), 0);
	P.tb.cfg.buf_size = 2048;
	P.tb.cfg.buf_count = 4;
	P.tb.cfg.image_check = true;
	CHECK_EQ(smpfota_emu_target_start(&P.tb, false), 0);
	struct smpfota_client_config cc = {.tx = {.send = smpfota_gatt_transport_send,
						  .ctx = &A.g,
						  .mtu = (uint16_t)smpfota_gatt_mtu(&A.g)},
					   .buf = P.cbuf,
					   .buf_size = sizeof(P.cbuf),
					   .frame_cap = 2048,
					   .slots = 4,
					   .version = SMPFOTA_SMP_V2,
					   .timeout_ms = 500,
					   .retries = 3,
					   .seq = 9};
	CHECK_EQ(smpfota_client_init(&P.cli, &cc), 0);

	static char d[900];
	memset(d, 'x', sizeof(d));
	struct smpfota_os_echo_req e = {.d = {d, reassembly ? 900 : 40}};
	if (reassembly) {
		CHECK_EQ(smpfota_client_send(&P.cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_echo, NULL,
					     P.now),
			 0);
		for (int i = 0; i < 100 && !P.echo_ok; i++) {
			air();
			A.st.room = 3;
			smpfota_gatt_poll(&A.g, P.now);
			smpfota_client_poll(&P.cli, ++P.now);
		}
		CHECK(P.echo_ok);
	}

	struct smpfota_emu_image_spec spec = {.body_size = 20000, .ver = {1, 2, 3, 0}, .seed = 5};
	P.img_len = smpfota_emu_image_build(P.img, sizeof(P.img), &spec, NULL);
	CHECK(P.img_len > 20000);
	struct smpfota_upload_source src = {.read = img_read, .size = (uint32_t)P.img_len};
	tu_sha256(P.img, P.img_len, src.sha);
	struct smpfota_upload_params prm = {.buf_size = 2048, .buf_count = 4};
	CHECK_EQ(smpfota_client_upload(&P.cli, &src, &prm, NULL, up_done, NULL, P.now), 0);
	for (int i = 0; i < 100000 && !P.up_done; i++) {
		air();
		A.st.room = 3;
		smpfota_gatt_poll(&A.g, P.now);
		smpfota_client_poll(&P.cli, ++P.now);
	}
	CHECK(P.up_done);
	CHECK_EQ(P.up_err, 0);
	CHECK(P.match);
	if (!reassembly) {
		CHECK(P.cli.up.frame_size <= (uint32_t)mtu - 3U);
	} else {
		CHECK_EQ(P.cli.up.frame_size, 2048); /* min(buf_size, what the target takes) */
	}
	uint8_t back[256];
	for (uint32_t off = 0; off < P.img_len; off += sizeof(back)) {
		size_t n = P.img_len - off < sizeof(back) ? P.img_len - off : sizeof(back);
		CHECK_EQ(smpfota_flash_area_read(&P.tb.images[0].secondary, off, back, n), 0);
		CHECK_MEM(back, P.img + off, n);
	}
}

static void test_engine_mtu23_reassembly(void)
{
	run_engine_over_gatt(23, true);
}

static void test_engine_mtu247_reassembly(void)
{
	run_engine_over_gatt(247, true);
}

static void test_engine_mtu498_no_reassembly(void)
{
	run_engine_over_gatt(498, false);
}

int main(void)
{
	RUN(test_config_and_mtu);
	RUN(test_every_mtu_both_ways);
	RUN(test_event_piece);
	RUN(test_hold_after_answer);
	RUN(test_arbitrary_splits);
	RUN(test_target_without_reassembly);
	RUN(test_interleaved_and_truncated);
	RUN(test_junk_and_oversized);
	RUN(test_stack_busy_and_error);
	RUN(test_trickle);
	RUN(test_trickle_follows_data_len);
	RUN(test_engine_mtu23_reassembly);
	RUN(test_engine_mtu247_reassembly);
	RUN(test_engine_mtu498_no_reassembly);
	return CHECK_SUMMARY();
}
