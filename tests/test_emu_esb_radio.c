/*
 * The fake ESB radio (ports/emu/esb_radio.h): the FIFO, PID and ACK-payload rules of NCS
 * esb.c that the simulator and the link tests rely on.
 */
#include "check.h"
#include "emu/esb_radio.h"
#include "smpfota/smpfota.h"

static struct smpfota_esb_payload pl(uint8_t len, uint8_t fill)
{
	struct smpfota_esb_payload p;
	memset(&p, 0, sizeof(p));
	p.length = len;
	memset(p.data, fill, len);
	return p;
}

static void test_write_read_and_pids(void)
{
	struct smpfota_emu_esb ptx;
	smpfota_emu_esb_init(&ptx, true);
	struct smpfota_esb_payload p = pl(10, 1);
	CHECK_EQ(smpfota_emu_esb_write(&ptx, &(struct smpfota_esb_payload){.length = 0}),
		 SMPFOTA_ERR_MSGSIZE);
	CHECK_EQ(smpfota_emu_esb_write(&ptx, &(struct smpfota_esb_payload){.length = 253}),
		 SMPFOTA_ERR_MSGSIZE);
	for (unsigned i = 0; i < SMPFOTA_EMU_ESB_FIFO; i++) {
		CHECK_EQ(smpfota_emu_esb_write(&ptx, &p), 0);
		CHECK_EQ(ptx.tx.e[i].pid, i & 3U); /* 2-bit PID, one per payload */
	}
	CHECK_EQ(smpfota_emu_esb_write(&ptx, &p), SMPFOTA_ERR_NOMEM);
	smpfota_emu_esb_flush_tx(&ptx);
	CHECK_EQ(ptx.tx.count, 0);

	struct smpfota_esb_payload out;
	CHECK_EQ(smpfota_emu_esb_read(&ptx, &out), 0);
	CHECK(smpfota_emu_esb_fifo_push(&ptx.rx, &p));
	CHECK_EQ(smpfota_emu_esb_read(&ptx, &out), 10);
	CHECK_MEM(out.data, p.data, 10);
	CHECK_EQ(ptx.rx.count, 0);
}

/* The PRX's ACK payload rides on every ACK and is popped by the next new packet; a repeat
 * is dropped but gets the same ACK. */
static void test_prx_ack_payloads_and_repeats(void)
{
	struct smpfota_emu_esb prx;
	smpfota_emu_esb_init(&prx, false);
	struct smpfota_esb_payload ack, a = pl(5, 0xa), b = pl(5, 0xb), r1 = pl(7, 0x71);
	a.pid = 0;
	b.pid = 1;
	CHECK_EQ(smpfota_emu_esb_prx_receive(&prx, &a, &ack), 0); /* empty ACK */
	CHECK_EQ(prx.ev, SMPFOTA_EMU_ESB_EV_RX_RECEIVED);
	prx.ev = 0;
	CHECK_EQ(smpfota_emu_esb_write(&prx, &r1), 0);
	/* the repeat of a: dropped, and still no payload (the ACK it repeats was empty) */
	CHECK_EQ(smpfota_emu_esb_prx_receive(&prx, &a, &ack), 0);
	CHECK_EQ(prx.stats.repeats, 1);
	CHECK_EQ(prx.rx.count, 1);
	CHECK_EQ(prx.ev, 0);
	/* a new packet: the ACK carries r1, not popped yet */
	CHECK_EQ(smpfota_emu_esb_prx_receive(&prx, &b, &ack), 7);
	CHECK_MEM(ack.data, r1.data, 7);
	CHECK_EQ(prx.tx.count, 1);
	CHECK_EQ(prx.ev, SMPFOTA_EMU_ESB_EV_RX_RECEIVED);
	prx.ev = 0;
	/* its repeat gets r1 again */
	CHECK_EQ(smpfota_emu_esb_prx_receive(&prx, &b, &ack), 7);
	CHECK_EQ(prx.tx.count, 1);
	/* the next new packet pops r1: TX_SUCCESS */
	a.pid = 2;
	CHECK_EQ(smpfota_emu_esb_prx_receive(&prx, &a, &ack), 0);
	CHECK_EQ(prx.tx.count, 0);
	CHECK_EQ(prx.ev, SMPFOTA_EMU_ESB_EV_RX_RECEIVED | SMPFOTA_EMU_ESB_EV_TX_SUCCESS);
	CHECK_EQ(prx.rx.count, 3);

	/* without the repeat check, a repeat reaches the RX FIFO */
	prx.no_dedup = true;
	CHECK_EQ(smpfota_emu_esb_prx_receive(&prx, &a, &ack), 0);
	CHECK_EQ(prx.rx.count, 4);
	CHECK_EQ(prx.stats.repeats, 3);
}

static void test_prx_withholds_when_full(void)
{
	struct smpfota_emu_esb prx;
	smpfota_emu_esb_init(&prx, false);
	struct smpfota_esb_payload ack, p = pl(9, 0);
	for (unsigned i = 0; i < SMPFOTA_EMU_ESB_FIFO; i++) {
		p.pid = (uint8_t)(i & 3U);
		p.data[0] = (uint8_t)i;
		CHECK_EQ(smpfota_emu_esb_prx_receive(&prx, &p, &ack), 0);
	}
	p.data[0] = 0xff;
	CHECK_EQ(smpfota_emu_esb_prx_receive(&prx, &p, &ack), -1);
	CHECK_EQ(prx.stats.withheld, 1);
	CHECK_EQ(prx.rx.count, SMPFOTA_EMU_ESB_FIFO);
}

struct hook_log {
	unsigned calls, rooms;
};

static bool stale_hook(void *ctx, const struct smpfota_esb_payload *p, bool room,
		       struct smpfota_esb_payload *out)
{
	struct hook_log *h = ctx;
	h->calls++;
	h->rooms += room;
	*out = pl(3, 0x33);
	(void)p;
	return true;
}

/* The stale packet goes ahead of the new one, only while both fit; the reset keeps the hook
 * and the counters. */
static void test_stale_hook_and_reset(void)
{
	struct smpfota_emu_esb prx;
	struct hook_log h = {0};
	smpfota_emu_esb_init(&prx, false);
	prx.stale = stale_hook;
	prx.stale_ctx = &h;
	struct smpfota_esb_payload ack, out, p = pl(6, 0);
	for (unsigned i = 0; i < 5; i++) {
		p.pid = (uint8_t)(i & 3U);
		p.data[0] = (uint8_t)i;
		(void)smpfota_emu_esb_prx_receive(&prx, &p, &ack);
	}
	/* 4 pairs fill the FIFO (8); the fifth packet gets no ACK: the hook is not called */
	CHECK_EQ(h.calls, 4);
	CHECK_EQ(prx.stats.stale, 4);
	CHECK_EQ(prx.stats.withheld, 1);
	CHECK_EQ(smpfota_emu_esb_read(&prx, &out), 3);
	CHECK_EQ(smpfota_emu_esb_read(&prx, &out), 6);
	CHECK_EQ(out.data[0], 0);
	/* 6 in the FIFO: one more pair fits, then a new packet alone (no room for the pair) */
	p.pid = 1;
	p.data[0] = 50;
	(void)smpfota_emu_esb_prx_receive(&prx, &p, &ack);
	CHECK_EQ(prx.rx.count, 8);
	CHECK_EQ(smpfota_emu_esb_read(&prx, &out), 3);
	p.pid = 2;
	(void)smpfota_emu_esb_prx_receive(&prx, &p, &ack);
	CHECK_EQ(h.calls, 6);
	CHECK_EQ(h.rooms, 5);
	CHECK_EQ(prx.stats.stale, 5);
	CHECK_EQ(prx.rx.count, 8);

	smpfota_emu_esb_reset(&prx);
	CHECK_EQ(prx.rx.count, 0);
	CHECK(!prx.have_last);
	CHECK(prx.stale == stale_hook);
	CHECK_EQ(prx.stats.stale, 5);
	CHECK(!prx.ptx);
}

static void test_ptx_acked(void)
{
	struct smpfota_emu_esb ptx;
	smpfota_emu_esb_init(&ptx, true);
	struct smpfota_esb_payload p = pl(20, 2), ack = pl(4, 4), empty = pl(0, 0);
	CHECK_EQ(smpfota_emu_esb_write(&ptx, &p), 0);
	CHECK_EQ(smpfota_emu_esb_write(&ptx, &p), 0);
	smpfota_emu_esb_ptx_acked(&ptx, &empty);
	CHECK_EQ(ptx.tx.count, 1);
	CHECK_EQ(ptx.rx.count, 0);
	CHECK_EQ(ptx.ev, SMPFOTA_EMU_ESB_EV_TX_SUCCESS);
	ptx.ev = 0;
	smpfota_emu_esb_ptx_acked(&ptx, &ack);
	CHECK_EQ(ptx.tx.count, 0);
	CHECK_EQ(ptx.rx.count, 1);
	CHECK_EQ(ptx.ev, SMPFOTA_EMU_ESB_EV_TX_SUCCESS | SMPFOTA_EMU_ESB_EV_RX_RECEIVED);
	/* a full RX FIFO has no room for a payload, always for an empty ACK */
	for (unsigned i = 1; i < SMPFOTA_EMU_ESB_FIFO; i++) {
		CHECK(smpfota_emu_esb_fifo_push(&ptx.rx, &ack));
	}
	CHECK(!smpfota_emu_esb_ptx_ack_fits(&ptx, 4));
	CHECK(smpfota_emu_esb_ptx_ack_fits(&ptx, 0));
}

int main(void)
{
	RUN(test_write_read_and_pids);
	RUN(test_prx_ack_payloads_and_repeats);
	RUN(test_prx_withholds_when_full);
	RUN(test_stale_hook_and_reset);
	RUN(test_ptx_acked);
	return CHECK_SUMMARY();
}
