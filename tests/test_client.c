/*
 * Client engine tests: the engine talks to the real SMP server (on emulated NOR) through a
 * simulated network in virtual time: delay, loss, duplication and reordering, seeded.
 */
#include <stdlib.h>

#include "check.h"
#include "emu/image.h"
#include "smpfota/client.h"
#include "emu/nor.h"
#include "emu/target.h"
#include "smpfota/server.h"
#include "smpfota/update.h"
#include "test_util.h"

#define PAGE 4096U
#define SLOT (40U * PAGE)
#define DEV (2U * SLOT + PAGE)

static uint8_t mem[DEV];
static struct smpfota_nor nor;
static struct smpfota_emu_target tb; /* the target board */

/* ---- network ------------------------------------------------------------------------- */

#define MAXPKT 64
#define PKTSZ 9000
struct pkt {
	bool used;
	bool to_server;
	uint32_t at;
	uint32_t order; /* enqueue order: packets due at once arrive in it (FIFO) */
	uint16_t len;
	uint8_t data[PKTSZ];
};
static struct pkt net[MAXPKT];
static uint32_t now_ms;
static uint32_t rng = 1;
static unsigned loss_pct, dup_pct, reorder_pct, delay_ms = 2;
static bool server_down;
static unsigned boots;
static uint32_t sent_frames, sent_data_bytes;
static uint32_t chunks_sent;             /* upload requests handed to the transport */
static int64_t chunks_at_first_ack = -1; /* ... when the first chunk was answered */
/* The server as a queue: each request keeps it busy server_ms (slow_next_ms more for the
 * next one: an erase), so requests wait in order; queue_max (0: no limit) requests on the way
 * or waiting at most, more are dropped (a UART with few buffers). drop_off: the first
 * upload request at or past that offset is lost. */
static uint32_t server_ms, slow_next_ms, server_free_at, queue_max;
/* the first upload request at or past stall_off (-1: none) takes stall_ms more (an erase) */
static int64_t stall_off = -1;
static uint32_t stall_ms;
static bool ignore_echo;                 /* a server that never answers os echo */
static int64_t drop_off = -1;            /* -2: the last chunk */
static unsigned opening_reqs, echo_reqs; /* upload requests at off 0, echoes: as handled */

static void net_reset(void)
{
	memset(net, 0, sizeof(net));
	loss_pct = dup_pct = reorder_pct = 0;
	delay_ms = 2;
	server_down = false;
	sent_frames = sent_data_bytes = 0;
	server_ms = slow_next_ms = server_free_at = queue_max = 0;
	ignore_echo = false;
	drop_off = -1;
	opening_reqs = echo_reqs = 0;
}

/* The upload offset of an upload request frame, or -1; *end: where its data ends. */
static int64_t upload_off(const uint8_t *p, size_t n, uint32_t *end)
{
	struct smpfota_smp_hdr h;
	union smpfota_smp_req q;
	if (smpfota_smp_hdr_decode(p, n, &h) < 0 ||
	    smpfota_smp_msg_lookup(&h) != SMPFOTA_MSG_IMG_UPLOAD ||
	    smpfota_smp_decode_req(SMPFOTA_MSG_IMG_UPLOAD, p + SMPFOTA_SMP_HDR_SIZE, h.len, &q) !=
		    0) {
		return -1;
	}
	*end = q.upload.off + (uint32_t)q.upload.data.len;
	return q.upload.off;
}

static uint8_t img[200000]; /* the image uploaded */
static size_t img_len;
static bool drop_next_reset;
static uint32_t enqueued;

static void enqueue(bool to_server, const uint8_t *p, size_t n, uint32_t extra)
{
	if (tu_rand(&rng) % 100 < loss_pct) {
		return;
	}
	uint32_t end = 0;
	int64_t off = to_server && drop_off != -1 ? upload_off(p, n, &end) : -1;
	if (off >= 0 && (drop_off == -2 ? end == img_len : off >= drop_off)) {
		drop_off = -1;
		return;
	}
	if (to_server && queue_max) {
		unsigned q = 0;
		for (int i = 0; i < MAXPKT; i++) {
			q += net[i].used && net[i].to_server;
		}
		if (q >= queue_max) {
			return;
		}
	}
	if (drop_next_reset && to_server && n >= 8 && p[4] == 0 && p[5] == 0 && p[7] == 5) {
		drop_next_reset = false; /* this os reset request is lost */
		return;
	}
	int copies = (tu_rand(&rng) % 100 < dup_pct) ? 2 : 1;
	for (int k = 0; k < copies; k++) {
		for (int i = 0; i < MAXPKT; i++) {
			if (!net[i].used) {
				uint32_t d = delay_ms + extra;
				if (tu_rand(&rng) % 100 < reorder_pct) {
					d += 1 + tu_rand(&rng) % 6; /* overtaken by later packets */
				}
				net[i] = (struct pkt){.used = true,
						      .to_server = to_server,
						      .at = now_ms + d,
						      .order = enqueued++,
						      .len = (uint16_t)n};
				memcpy(net[i].data, p, n);
				break;
			}
		}
	}
}

/* The transport says BUSY on this many calls out of 3 (a link that takes one frame at a
 * time, as the GATT link does). */
static unsigned busy_of_3;
static unsigned tx_calls;

static uint32_t chunk_frame_max; /* the largest upload request sent */

static int tx_send(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	if (tx_calls++ % 3 < busy_of_3) {
		return SMPFOTA_ERR_BUSY;
	}
	sent_frames++;
	if (len > 8 && frame[4] == 0 && frame[5] == 1 && frame[7] == 1) {
		sent_data_bytes += (uint32_t)len;
		chunks_sent++;
		chunk_frame_max = len > chunk_frame_max ? (uint32_t)len : chunk_frame_max;
	}
	enqueue(true, frame, len, 0);
	return 0;
}

static uint8_t cbuf[9 * 4096];
static struct smpfota_client cli;

static void client_setup(uint8_t slots, uint16_t mtu, uint8_t retries)
{
	struct smpfota_client_config cfg = {.tx = {.send = tx_send, .mtu = mtu},
					    .buf = cbuf,
					    .buf_size = sizeof(cbuf),
					    .frame_cap = 4096,
					    .slots = slots,
					    .version = SMPFOTA_SMP_V2,
					    .timeout_ms = 300,
					    .retries = retries,
					    .seq = 250 /* wraps during the test */};
	CHECK_EQ(smpfota_client_init(&cli, &cfg), 0);
}

static void server_setup(uint32_t buf_size, uint32_t buf_count)
{
	smpfota_nor_init(&nor, mem, DEV, PAGE, 4);
	smpfota_nor_erase_all(&nor);
	smpfota_emu_target_init(&tb);
	CHECK_EQ(smpfota_emu_target_add_image(&tb, &nor, 0, &nor, SLOT + PAGE, SLOT), 0);
	tb.cfg.buf_size = buf_size;
	tb.cfg.buf_count = buf_count;
	tb.cfg.image_check = true;
	CHECK_EQ(smpfota_emu_target_start(&tb, false), 0);
}

/* Deliver what is due, let the engine act, advance virtual time to the next event. */
static void step(void)
{
	static uint8_t rsp[9000];
	bool any = false;
	for (;;) {
		struct pkt *p = NULL;
		bool busy = (int32_t)(now_ms - server_free_at) < 0;
		for (int i = 0; i < MAXPKT; i++) {
			if (net[i].used && (int32_t)(now_ms - net[i].at) >= 0 &&
			    !(busy && net[i].to_server) &&
			    (p == NULL || (int32_t)(net[i].order - p->order) < 0)) {
				p = &net[i];
			}
		}
		if (p == NULL) {
			break;
		}
		any = true;
		p->used = false;
		if (p->to_server) {
			if (server_down || p->len > tb.cfg.buf_size) {
				continue; /* Zephyr drops what no netbuf holds */
			}
			uint32_t end;
			opening_reqs += upload_off(p->data, p->len, &end) == 0;
			bool echo = p->len >= 8 && p->data[4] == 0 && p->data[5] == 0 &&
				    p->data[7] == 0;
			echo_reqs += echo;
			if (echo && ignore_echo) {
				continue;
			}
			uint32_t busy_ms = server_ms + slow_next_ms;
			slow_next_ms = 0;
			if (!echo && stall_off >= 0 &&
			    upload_off(p->data, p->len, &end) >= stall_off) {
				busy_ms += stall_ms;
				stall_off = -1;
			}
			server_free_at = now_ms + busy_ms;
			int n = smpfota_server_handle(&tb.srv, p->data, p->len, rsp,
						      tb.cfg.buf_size);
			if (n > 0) {
				enqueue(false, rsp, (size_t)n, busy_ms);
			}
			/* os reset: the target reboots, MCUboot then the server (warm: RAM kept) */
			int r = smpfota_emu_target_reset_if_pending(&tb);
			CHECK(r >= 0);
			boots += r == 1;
		} else {
			(void)smpfota_client_input(&cli, p->data, p->len, now_ms);
		}
	}
	smpfota_client_poll(&cli, now_ms);
	if (!any) {
		now_ms++;
	}
}

/* ---- callbacks ----------------------------------------------------------------------- */

static int rsp_err = 99;
static union smpfota_smp_rsp last_rsp;
static void on_rsp(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *r)
{
	(void)user;
	(void)msg;
	rsp_err = err;
	if (r) {
		last_rsp = *r;
	}
}

static int up_err = 99;
static bool up_match;
static struct smpfota_smp_status up_st;
static struct smpfota_upload_progress last_prog;
static void on_done(void *user, int err, const struct smpfota_smp_status *st, bool match)
{
	(void)user;
	up_err = err;
	up_st = *st;
	up_match = match;
}
static void on_prog(void *user, const struct smpfota_upload_progress *p)
{
	(void)user;
	last_prog = *p;
	if (chunks_at_first_ack < 0 && p->done > 0) {
		chunks_at_first_ack = chunks_sent;
	}
}

static int src_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	(void)ctx;
	memcpy(buf, img + off, len);
	return 0;
}

static struct smpfota_upload_source make_source(uint32_t body, uint32_t seed)
{
	img_len = smpfota_emu_image_build(img, sizeof(img),
					  &(struct smpfota_emu_image_spec){.body_size = body,
									   .ver = {1, 2, 3, 0},
									   .seed = seed},
					  NULL);
	struct smpfota_upload_source src = {.read = src_read, .size = (uint32_t)img_len};
	tu_sha256(img, img_len, src.sha);
	return src;
}

static bool run_upload(const struct smpfota_upload_source *src, struct smpfota_upload_params *prm,
		       uint32_t limit_ms)
{
	up_err = 99;
	if (smpfota_client_upload(&cli, src, prm, on_prog, on_done, NULL, now_ms) != 0) {
		return false;
	}
	uint32_t end = now_ms + limit_ms;
	while (up_err == 99 && (int32_t)(now_ms - end) < 0) {
		step();
	}
	return up_err != 99;
}

static bool secondary_holds_image(void)
{
	static uint8_t tmp[200000];
	return smpfota_flash_area_read(&tb.images[0].secondary, 0, tmp, img_len) == 0 &&
	       memcmp(tmp, img, img_len) == 0;
}

/* ---- tests --------------------------------------------------------------------------- */

static void wait_rsp(void)
{
	rsp_err = 99;
	for (int i = 0; i < 100000 && rsp_err == 99; i++) {
		step();
	}
}

static void test_requests(void)
{
	net_reset();
	server_setup(2048, 4);
	client_setup(4, 1472, 2);
	struct smpfota_os_echo_req e = {.d = {"ping", 4}};
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_rsp, NULL, now_ms), 0);
	wait_rsp();
	CHECK_EQ(rsp_err, 0);
	CHECK_STR(last_rsp.echo.r, "ping");
	CHECK_EQ(smpfota_client_pending(&cli), 0);
	CHECK_EQ(smpfota_client_next_deadline(&cli, now_ms), -1);

	/* all slots busy */
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(
			smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_rsp, NULL, now_ms),
			0);
	}
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_rsp, NULL, now_ms),
		 SMPFOTA_ERR_BUSY);
	for (int i = 0; i < 1000; i++) {
		step();
	}
	CHECK_EQ(smpfota_client_pending(&cli), 0);

	/* server gone: retries, then TIMEDOUT (3 attempts x 300 ms) */
	server_down = true;
	uint32_t t0 = now_ms;
	uint32_t f0 = sent_frames;
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_rsp, NULL, now_ms), 0);
	wait_rsp();
	CHECK_EQ(rsp_err, SMPFOTA_ERR_TIMEDOUT);
	CHECK_EQ(sent_frames - f0, 3);
	CHECK(now_ms - t0 >= 900 && now_ms - t0 < 1000);

	/* lossy link: the same-seq retransmission gets through */
	server_down = false;
	loss_pct = 40;
	int ok = 0;
	for (int k = 0; k < 20; k++) {
		CHECK_EQ(
			smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_rsp, NULL, now_ms),
			0);
		wait_rsp();
		ok += rsp_err == 0;
	}
	CHECK(ok >= 14); /* P(3 losses of request or response) ~ 0.64^3: rare */
	/* duplicates and garbage are ignored */
	loss_pct = 0;
	dup_pct = 100;
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_PARAMS,
				     &(struct smpfota_os_params_req){0}, 0, on_rsp, NULL, now_ms),
		 0);
	wait_rsp();
	CHECK_EQ(rsp_err, 0);
	CHECK_EQ(last_rsp.params.buf_size, 2048);
	for (int i = 0; i < 100; i++) {
		step();
	}
	uint8_t junk[] = {0x09, 0, 0, 3, 0, 0, 7, 6, 0xa1, 0x61};
	CHECK_EQ(smpfota_client_input(&cli, junk, 5, now_ms), SMPFOTA_ERR_PROTO);
	CHECK_EQ(smpfota_client_input(&cli, junk, sizeof(junk), now_ms), SMPFOTA_ERR_PROTO);
	junk[0] = 0x0a; /* a request, not a response */
	CHECK_EQ(smpfota_client_input(&cli, junk, 8, now_ms), SMPFOTA_ERR_PROTO);
	/* a malformed answer to a pending request: PROTO to the caller */
	dup_pct = 0;
	server_down = true;
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_PARAMS,
				     &(struct smpfota_os_params_req){0}, 0, on_rsp, NULL, now_ms),
		 0);
	uint8_t bad[] = {0x09, 0, 0, 2, 0, 0, (uint8_t)(cli.seq - 1), 6, 0xa1, 0x61};
	rsp_err = 99;
	CHECK_EQ(smpfota_client_input(&cli, bad, sizeof(bad), now_ms), 0);
	CHECK_EQ(rsp_err, SMPFOTA_ERR_PROTO);

	/* a new MTU: refused while a request is pending or out of range, then obeyed */
	server_down = false;
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_rsp, NULL, now_ms), 0);
	CHECK_EQ(smpfota_client_set_mtu(&cli, 100), SMPFOTA_ERR_BUSY);
	wait_rsp();
	CHECK_EQ(smpfota_client_set_mtu(&cli, 63), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_client_set_mtu(&cli, 4097), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_client_set_mtu(&cli, 100), 0);
	static char longer[200];
	memset(longer, 'x', sizeof(longer));
	struct smpfota_os_echo_req big = {.d = {longer, sizeof(longer)}};
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &big, 0, on_rsp, NULL, now_ms),
		 SMPFOTA_ERR_NOSPC);
	CHECK_EQ(smpfota_client_set_mtu(&cli, 1472), 0);
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &big, 0, on_rsp, NULL, now_ms), 0);
	wait_rsp();
	CHECK_EQ(rsp_err, 0);
}

static void upload_case(uint32_t buf_size, uint32_t buf_count, unsigned loss, unsigned dup,
			unsigned reorder, uint32_t seed)
{
	net_reset();
	rng = seed;
	loss_pct = loss;
	dup_pct = dup;
	reorder_pct = reorder;
	server_setup(buf_size, buf_count);
	client_setup(8, 1472, 0);
	struct smpfota_upload_source src = make_source(60000 + seed * 7, seed);
	struct smpfota_upload_params prm = {
		.buf_size = buf_size, .buf_count = buf_count, .max_failures = 50};
	CHECK(run_upload(&src, &prm, 600000));
	if (up_err != 0) {
		fprintf(stderr, "upload buf %u x%u loss %u: err %d\n", buf_size, buf_count, loss,
			up_err);
	}
	CHECK_EQ(up_err, 0);
	CHECK(up_match == (buf_size > 96)); /* 96 B: the sha is truncated, match unknown */
	CHECK(secondary_holds_image());
	CHECK_EQ(last_prog.done, img_len);
	CHECK(last_prog.window >= 1 && last_prog.window <= (buf_count > 1 ? buf_count - 1 : 1));
	CHECK(last_prog.chunk > 0);
}

static void test_upload_buffers(void)
{
	/* Server buffers from 96 bytes to 8 KiB, 1 to 8 buffers (frames over the MTU would be
	 * dropped by the network: the engine must size chunks to min(buf, mtu)). */
	const uint32_t sizes[] = {96, 128, 384, 1024, 2048, 2475, 8192};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (uint32_t count = 1; count <= 8; count += 3) {
			upload_case(sizes[i], count, 0, 0, 0, (uint32_t)(i * 10 + count));
		}
	}
}

static void test_upload_fills_buffer(void)
{
	/* Every chunk request fills the server's buffer: data per chunk is what fits. */
	net_reset();
	server_setup(512, 4);
	client_setup(4, 1472, 0);
	struct smpfota_upload_source src = make_source(20000, 3);
	struct smpfota_upload_params prm = {.buf_size = 512, .buf_count = 4};
	CHECK(run_upload(&src, &prm, 60000));
	CHECK_EQ(up_err, 0);
	struct smpfota_img_upload_req q = {.off = 20000};
	int max = smpfota_smp_upload_max_data(&q, 512);
	CHECK(last_prog.chunk >= max - 3 && last_prog.chunk <= max); /* 4-byte aligned */
	CHECK_EQ(last_prog.window, 3);
	CHECK_EQ(last_prog.retransmits, 0);
}

/* A transport that is often BUSY: queued chunks go out oldest first, so the server never
 * sees one ahead of its offset and sends nobody back. */
static void test_upload_busy_transport_keeps_order(void)
{
	net_reset();
	server_setup(512, 4);
	client_setup(4, 1472, 0);
	busy_of_3 = 2;
	struct smpfota_upload_source src = make_source(30000, 4);
	struct smpfota_upload_params prm = {.buf_size = 512, .buf_count = 4};
	CHECK(run_upload(&src, &prm, 60000));
	busy_of_3 = 0;
	CHECK_EQ(up_err, 0);
	CHECK(secondary_holds_image());
	CHECK_EQ(last_prog.rewinds, 0);
	CHECK_EQ(last_prog.retransmits, 0);
	CHECK_EQ(last_prog.window, 3);
}

/* A transport that refuses every frame (BUSY for good: a stuck link) ends in TIMEDOUT as a
 * silent peer does, instead of keeping the frame queued forever. */
static void test_stuck_transport_times_out(void)
{
	net_reset();
	server_setup(512, 4);
	client_setup(4, 1472, 2);
	busy_of_3 = 3;
	struct smpfota_os_echo_req e = {.d = {"ping", 4}};
	uint32_t f0 = sent_frames;
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_rsp, NULL, now_ms), 0);
	wait_rsp();
	CHECK_EQ(rsp_err, SMPFOTA_ERR_TIMEDOUT);
	CHECK_EQ(sent_frames, f0);
	CHECK_EQ(smpfota_client_pending(&cli), 0);

	/* stuck before the first chunk goes out */
	struct smpfota_upload_source src = make_source(30000, 5);
	struct smpfota_upload_params prm = {
		.buf_size = 512, .buf_count = 4, .first_timeout_ms = 500, .max_failures = 2};
	CHECK(run_upload(&src, &prm, 60000));
	CHECK_EQ(up_err, SMPFOTA_ERR_TIMEDOUT);
	CHECK_EQ(sent_frames, f0);
	CHECK_EQ(smpfota_client_pending(&cli), 0);

	/* stuck in the middle of the upload */
	busy_of_3 = 0;
	memset(&last_prog, 0, sizeof(last_prog));
	up_err = 99;
	CHECK_EQ(smpfota_client_upload(&cli, &src, &prm, on_prog, on_done, NULL, now_ms), 0);
	for (int i = 0; i < 100000 && last_prog.done < 5000 && up_err == 99; i++) {
		step();
	}
	CHECK(last_prog.done >= 5000 && up_err == 99);
	busy_of_3 = 3;
	for (int i = 0; i < 1000000 && up_err == 99; i++) {
		step();
	}
	busy_of_3 = 0;
	CHECK_EQ(up_err, SMPFOTA_ERR_TIMEDOUT);
	CHECK_EQ(smpfota_client_pending(&cli), 0);
}

static void test_upload_lossy(void)
{
	upload_case(2048, 4, 10, 0, 0, 101);
	upload_case(2048, 4, 30, 0, 0, 102);
	upload_case(1024, 8, 20, 10, 20, 103);
	upload_case(384, 2, 15, 20, 30, 104);
	CHECK(last_prog.retransmits > 0);
}

static void test_resume_after_client_restart(void)
{
	net_reset();
	server_setup(1024, 4);
	client_setup(4, 1472, 0);
	struct smpfota_upload_source src = make_source(100000, 7);
	struct smpfota_upload_params prm = {.buf_size = 1024, .buf_count = 4};
	memset(&last_prog, 0, sizeof(last_prog));
	CHECK_EQ(smpfota_client_upload(&cli, &src, &prm, on_prog, on_done, NULL, now_ms), 0);
	while (last_prog.done < img_len / 2) {
		step();
	}
	/* the master dies: a fresh engine starts the same upload again */
	memset(net, 0, sizeof(net));
	client_setup(4, 1472, 0);
	uint32_t before = sent_data_bytes;
	CHECK(run_upload(&src, &prm, 60000));
	CHECK_EQ(up_err, 0);
	CHECK(secondary_holds_image());
	CHECK(sent_data_bytes - before < img_len * 6 / 10); /* resumed, not restarted */
	CHECK(last_prog.skips >= 1);                        /* the server sent it ahead */
}

static void test_restart_after_server_forgets(void)
{
	/* The target restarts and loses the session (as Zephyr does): it answers off 0, and
	 * the engine opens the session again and finishes. */
	net_reset();
	server_setup(1024, 4);
	client_setup(4, 1472, 0);
	struct smpfota_upload_source src = make_source(80000, 8);
	struct smpfota_upload_params prm = {.buf_size = 1024, .buf_count = 4};
	memset(&last_prog, 0, sizeof(last_prog));
	CHECK_EQ(smpfota_client_upload(&cli, &src, &prm, on_prog, on_done, NULL, now_ms), 0);
	up_err = 99;
	while (last_prog.done < img_len / 3) {
		step();
	}
	CHECK_EQ(smpfota_emu_target_start(&tb, false), 0); /* the server restarts cold */
	while (up_err == 99) {
		step();
	}
	CHECK_EQ(up_err, 0);
	CHECK(up_match);
	CHECK(secondary_holds_image());
}

static void test_rejected_and_timeout(void)
{
	net_reset();
	server_setup(1024, 4);
	client_setup(4, 1472, 0);
	struct smpfota_upload_source src = make_source(SLOT, 9); /* larger than the slot allows */
	struct smpfota_upload_params prm = {.buf_size = 1024, .buf_count = 4};
	src.size = SLOT;
	CHECK(run_upload(&src, &prm, 60000));
	CHECK_EQ(up_err, SMPFOTA_ERR_REJECTED);
	CHECK(up_st.has_err && up_st.err.group == 1 &&
	      up_st.err.rc == SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE);

	src = make_source(5000, 10);
	server_down = true;
	prm.first_timeout_ms = 500;
	prm.max_failures = 2;
	CHECK(run_upload(&src, &prm, 60000));
	CHECK_EQ(up_err, SMPFOTA_ERR_TIMEDOUT);
	CHECK_EQ(smpfota_client_pending(&cli), 0);

	/* bad arguments, busy */
	CHECK_EQ(smpfota_client_upload(&cli, NULL, &prm, NULL, NULL, NULL, now_ms),
		 SMPFOTA_ERR_INVAL);
	server_down = false;
	CHECK_EQ(smpfota_client_upload(&cli, &src, &prm, NULL, on_done, NULL, now_ms), 0);
	CHECK_EQ(smpfota_client_upload(&cli, &src, &prm, NULL, on_done, NULL, now_ms),
		 SMPFOTA_ERR_BUSY);
	smpfota_client_cancel(&cli);
	CHECK_EQ(smpfota_client_pending(&cli), 0);
	struct smpfota_client_config bad = {0};
	CHECK_EQ(smpfota_client_init(&cli, &bad), SMPFOTA_ERR_INVAL);
}

/* ---- the upload learns the link -------------------------------------------------------- */
#if SMPFOTA_CONFIG_CLIENT_LEARN

/* A fresh target behind a link of `delay` ms each way, whose server takes srv_ms per request
 * (slow ms more for the first one: an erase) and holds qmax of them (0: any); `drop`: the
 * first upload request at or past that offset is lost (-2: the last one). One small request
 * first (the engine learns the link from it), then the upload, which must end with the whole
 * image in the slot. Returns how long the upload took. */
static uint32_t learn_upload(uint32_t delay, uint32_t srv_ms, uint32_t qmax, int64_t drop,
			     uint32_t slow, const struct smpfota_upload_params *prm)
{
	bool no_echo = ignore_echo;
	net_reset();
	ignore_echo = no_echo;
	delay_ms = delay;
	server_ms = srv_ms;
	queue_max = qmax;
	server_setup(1024, 4);
	client_setup(8, 1472, 0);
	struct smpfota_upload_source src = make_source(40000, 31);
	CHECK_EQ(smpfota_client_send(&cli, SMPFOTA_MSG_OS_PARAMS,
				     &(struct smpfota_os_params_req){0}, 0, on_rsp, NULL, now_ms),
		 0);
	wait_rsp();
	memset(&last_prog, 0, sizeof(last_prog));
	drop_off = drop;
	slow_next_ms = slow;
	echo_reqs = opening_reqs = 0;
	chunks_sent = 0;
	chunks_at_first_ack = -1;
	uint32_t t0 = now_ms;
	struct smpfota_upload_params p = *prm;
	CHECK(run_upload(&src, &p, 600000));
	CHECK_EQ(up_err, 0);
	CHECK(secondary_holds_image());
	return now_ms - t0;
}

static void test_window_learns(void)
{
	struct smpfota_upload_params prm = {.buf_size = 1024, .buf_count = 4};
	/* Latency-bound (20 ms each way, an instant server): each chunk more in flight raises
	 * the rate, up to buf_count - 1. */
	learn_upload(20, 0, 0, -1, 0, &prm);
	CHECK_EQ(last_prog.window, 3);
	/* Server-bound (60 ms per request, 1 ms each way): a second chunk in flight only waits
	 * in its queue, so the engine goes back to stop-and-wait. */
	learn_upload(1, 60, 0, -1, 0, &prm);
	CHECK_EQ(last_prog.window, 1);
	CHECK_EQ(last_prog.retransmits, 0);
	/* A target that drops a request when one is already on its way (a UART with a single
	 * buffer): the window that brought the loss is left for good, and the loss is resent as
	 * soon as the next answer shows it (a rewind). */
	learn_upload(5, 0, 1, -1, 0, &prm);
	CHECK_EQ(last_prog.window, 1);
	CHECK(last_prog.rewinds >= 1);
	CHECK(last_prog.retransmits >= 1);
	/* a window as large as the client's slots leaves one free for the probe */
	prm.window = 8;
	learn_upload(20, 0, 0, -1, 0, &prm);
	CHECK_EQ(last_prog.window, 7);
	/* --window 1 is stop-and-wait from the first chunk to the last */
	prm.window = 1;
	learn_upload(20, 0, 0, -1, 0, &prm);
	CHECK_EQ(last_prog.window, 1);
}

static void test_timeouts_learn(void)
{
	struct smpfota_upload_params prm = {.buf_size = 1024, .buf_count = 4, .timeout_ms = 5000};
	/* The last chunk is lost: no later answer shows it, so its timer does; the timeout is
	 * learned from the round trips (a few ms here), far below the 5 s allowed per attempt,
	 * and the probe's answer (the server is alive) sends the chunk again. */
	uint32_t took = learn_upload(2, 0, 0, -2, 0, &prm);
	CHECK_EQ(drop_off, -1); /* it was dropped */
	CHECK(last_prog.timeouts >= 1);
	CHECK(last_prog.retransmits >= 1);
	CHECK(echo_reqs >= 1);
	CHECK(took < prm.timeout_ms);
	CHECK(last_prog.srtt_ms > 0 && last_prog.srtt_ms < 50);
	/* A chunk lost in the middle of a window: the next answer says the server is behind,
	 * and the chunk goes again at once, without any timeout. */
	learn_upload(20, 0, 0, 20000, 0, &prm);
	CHECK(last_prog.rewinds >= 1);
	CHECK_EQ(last_prog.timeouts, 0);
	/* A server that never answers the echo: the last chunk is still resent, once the
	 * timeout has grown to the whole time allowed per attempt (as a fixed timeout would). */
	ignore_echo = true;
	learn_upload(2, 0, 0, -2, 0, &prm);
	CHECK(echo_reqs >= 1);
	CHECK(last_prog.retransmits >= 1);
	ignore_echo = false;
}

static void test_opening_chunk_waits_for_erase(void)
{
	/* The server takes 8 s over the opening chunk (it erases the whole slot), far longer
	 * than the learned timeout: the engine asks with small echoes meanwhile, and never sends
	 * the opening chunk again (a copy could start another erase on some servers). */
	struct smpfota_upload_params prm = {.buf_size = 1024, .buf_count = 4};
	learn_upload(2, 0, 0, -1, 8000, &prm);
	CHECK_EQ(opening_reqs, 1);
	CHECK(echo_reqs >= 1);
	/* The opening chunk itself is lost: the echo's answer shows it, and it goes again long
	 * before the 20 s the session may take to open. */
	uint32_t took = learn_upload(2, 0, 0, 0, 0, &prm);
	CHECK_EQ(opening_reqs, 1); /* the copy; the first never arrived */
	CHECK(took < 2000);
}
/* A link that holds back what the server has no room for (held_not_dropped: smpfota's ESB
 * link with the frame bridge): more in flight only queues, so the window is full from the
 * first chunk, chunks follow the opening one while the server erases, and nothing is
 * learned away. Elsewhere the opening chunk goes alone and the window starts at 2. */
static void test_held_link_keeps_window_full(void)
{
	struct smpfota_upload_params prm = {.buf_size = 1024, .buf_count = 4};
	/* the opening chunk erases for 500 ms; every later one takes the server 30 ms */
	learn_upload(2, 30, 0, -1, 500, &prm);
	CHECK_EQ(chunks_at_first_ack, 1);
	prm.held_not_dropped = true;
	learn_upload(2, 30, 0, -1, 500, &prm);
	CHECK_EQ(chunks_at_first_ack, 7); /* the client's 8 slots but one (for a probe) */
	CHECK_EQ(last_prog.window, 7);    /* a server-bound link would have undone it */
	CHECK_EQ(opening_reqs, 1);
	CHECK_EQ(last_prog.retransmits, 0);
	prm.window = 3; /* a window given is kept, full from the start too */
	learn_upload(2, 30, 0, -1, 500, &prm);
	CHECK_EQ(chunks_at_first_ack, 3);
	CHECK_EQ(last_prog.window, 3);
}

/* A lossless link (BLE): nothing to learn. The window is buf_count - 1 from the chunk after
 * the opening one, though the server is slow (learning goes back to stop-and-wait there),
 * and a server that stalls 400 ms mid-upload (a block erase) gets no echo and no copy (a
 * full Zephyr target drops both, docs/ble.md); a lost chunk is still recovered. */
static void test_lossless_link_skips_learning(void)
{
	struct smpfota_upload_params prm = {.buf_size = 1024, .buf_count = 4, .timeout_ms = 2000};
	stall_off = 20000;
	stall_ms = 400;
	learn_upload(1, 60, 0, -1, 0, &prm);
	CHECK_EQ(last_prog.window, 1);
	CHECK(echo_reqs >= 1); /* the learned timeout fired during the stall */
	prm.lossless = true;
	stall_off = 20000;
	learn_upload(1, 60, 0, -1, 0, &prm);
	CHECK_EQ(stall_off, -1);          /* it stalled */
	CHECK_EQ(chunks_at_first_ack, 1); /* the opening chunk still goes alone */
	CHECK_EQ(last_prog.window, 3);
	CHECK_EQ(echo_reqs, 0);
	CHECK_EQ(last_prog.timeouts, 0);
	CHECK_EQ(last_prog.retransmits, 0);
	/* a chunk lost mid-upload (a dropped connection): resent, and the window stays */
	learn_upload(1, 0, 0, 20000, 0, &prm);
	CHECK(last_prog.rewinds >= 1);
	CHECK_EQ(last_prog.window, 3);
	/* the last chunk lost: found after timeout_ms, sent again */
	uint32_t took = learn_upload(1, 0, 0, -2, 0, &prm);
	CHECK_EQ(drop_off, -1);
	CHECK(last_prog.retransmits >= 1);
	CHECK(took >= prm.timeout_ms);
}
#endif /* SMPFOTA_CONFIG_CLIENT_LEARN (test_client_fixed: the fixed window, the rest alike) */

/* ---- update workflow ------------------------------------------------------------------- */

static struct smpfota_update upd;
static int upd_err;
static enum smpfota_update_step upd_step;
static unsigned steps_seen;

static void on_step(void *user, enum smpfota_update_step step)
{
	(void)user;
	steps_seen |= 1U << step;
}

static void on_upd_done(void *user, int err, enum smpfota_update_step step,
			const struct smpfota_smp_status *st)
{
	(void)user;
	(void)st;
	upd_err = err;
	upd_step = step;
}

static uint8_t factory[150000];
static size_t factory_len;

/* A target running `factory` (version given) in slot 0. */
static void target_with_factory(uint8_t major)
{
	net_reset();
	server_setup(2048, 4);
	client_setup(4, 1472, 2);
	factory_len = smpfota_emu_image_build(
		factory, sizeof(factory),
		&(struct smpfota_emu_image_spec){
			.body_size = 30000, .ver = {major, 0, 0, 0}, .seed = 77},
		NULL);
	CHECK_EQ(smpfota_emu_target_provision(&tb, 0, factory, factory_len), 0);
	boots = 0;
}

static int run_update(struct smpfota_upload_source *src, const struct smpfota_update_params *prm)
{
	struct smpfota_image_info info;
	CHECK_EQ(smpfota_update_check_image(src, &info), 0);
	upd_err = 99;
	steps_seen = 0;
	CHECK_EQ(smpfota_update_start(&upd, &cli, src, &info, prm, on_step, on_prog, on_upd_done,
				      NULL, now_ms),
		 0);
	for (uint32_t end = now_ms + 600000; upd_err == 99 && (int32_t)(now_ms - end) < 0;) {
		step();
		smpfota_update_poll(&upd, now_ms);
	}
	return upd_err;
}

static bool primary_runs(const uint8_t *image, size_t len)
{
	static uint8_t tmp[200000];
	return smpfota_flash_area_read(&tb.images[0].primary, 0, tmp, len) == 0 &&
	       memcmp(tmp, image, len) == 0;
}

static void test_update_workflow(void)
{
	target_with_factory(1);
	struct smpfota_upload_source src = make_source(50000, 21); /* version 1.2.3 */
	struct smpfota_update_params prm = {0};
	CHECK_EQ(run_update(&src, &prm), 0);
	CHECK_EQ(upd_step, SMPFOTA_UPDATE_DONE);
	CHECK_EQ(steps_seen, 0x3ffU); /* every step, in a clean run */
	CHECK_EQ(boots, 1);
	CHECK(primary_runs(img, img_len));
	struct smpfota_boot_trailer t;
	CHECK_EQ(smpfota_boot_read_trailer(&tb.images[0].primary, &t), 0);
	CHECK_EQ(t.image_ok, SMPFOTA_BOOT_FLAG_SET); /* confirmed */
	/* the same image again: already running, nothing sent */
	CHECK_EQ(run_update(&src, &prm), 0);
	CHECK(!(steps_seen & (1U << SMPFOTA_UPDATE_UPLOAD)));

	/* the reset request is lost: the target still runs the old image with the new one
	 * pending, so the reset is sent again (once: never two resets that happen) */
	target_with_factory(1);
	src = make_source(50000, 27);
	drop_next_reset = true;
	CHECK_EQ(run_update(&src, &prm), 0);
	CHECK(!drop_next_reset);
	CHECK_EQ(boots, 1);
	CHECK(primary_runs(img, img_len));

	/* --no-confirm: the image runs in test mode; the next reset reverts it */
	target_with_factory(1);
	prm.no_confirm = true;
	CHECK_EQ(run_update(&src, &prm), 0);
	CHECK(primary_runs(img, img_len));
	CHECK_EQ(smpfota_emu_target_boot(&tb), 0);
	CHECK(primary_runs(factory, factory_len));
}

/* A link that carries frames in pieces (BLE, client.h tx.piece): the workflow's upload
 * frames are whole pieces, not the server's 2048 B buffer, when the last piece would carry
 * less than half of one (2048 = 8 x 244 + 96: a short last piece costs a packet slot); with
 * 300-byte pieces (6 x 300 + 248) or without pieces they fill the buffer. */
static void test_update_frames_in_whole_pieces(void)
{
	struct smpfota_upload_source src = make_source(50000, 21);
	struct smpfota_update_params prm = {0};
	static const uint16_t pieces[] = {0, 244, 300};
	for (unsigned k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		uint16_t piece = pieces[k];
		target_with_factory(1);
		struct smpfota_client_config cfg = cli.cfg;
		cfg.tx.mtu = 4096;
		cfg.tx.piece = piece;
		CHECK_EQ(smpfota_client_init(&cli, &cfg), 0);
		chunk_frame_max = 0;
		CHECK_EQ(run_update(&src, &prm), 0);
		CHECK(primary_runs(img, img_len));
		if (piece == 244) {
			CHECK_EQ(chunk_frame_max % piece, 0);
			CHECK(chunk_frame_max + piece > 2048U);
		} else {
			CHECK(chunk_frame_max > 2040 && chunk_frame_max <= 2048);
		}
	}
}

/* A fleet's two phases (fleet.h): upload only, then an update that finds the image in the
 * secondary slot and goes straight to test. */
static void test_update_upload_only_then_reuse(void)
{
	target_with_factory(1);
	struct smpfota_upload_source src = make_source(50000, 23);
	struct smpfota_update_params prm = {.upload_only = true};
	CHECK_EQ(run_update(&src, &prm), 0);
	CHECK(steps_seen & (1U << SMPFOTA_UPDATE_UPLOAD));
	CHECK(!(steps_seen & (1U << SMPFOTA_UPDATE_TEST)));
	CHECK_EQ(boots, 0);
	CHECK(secondary_holds_image());
	CHECK(primary_runs(factory, factory_len));
	/* again: the slot already holds it, nothing is uploaded */
	CHECK_EQ(run_update(&src, &prm), 0);
	CHECK(!(steps_seen & (1U << SMPFOTA_UPDATE_UPLOAD)));
	/* activation: no upload, test, reset, confirm */
	prm = (struct smpfota_update_params){.reuse_secondary = true};
	CHECK_EQ(run_update(&src, &prm), 0);
	CHECK(!(steps_seen & (1U << SMPFOTA_UPDATE_UPLOAD)));
	CHECK(steps_seen & (1U << SMPFOTA_UPDATE_CONFIRM));
	CHECK_EQ(boots, 1);
	CHECK(primary_runs(img, img_len));
	/* without the option the same slot is uploaded again (the old behaviour) */
	target_with_factory(1);
	prm = (struct smpfota_update_params){.upload_only = true};
	CHECK_EQ(run_update(&src, &prm), 0);
	prm = (struct smpfota_update_params){0};
	CHECK_EQ(run_update(&src, &prm), 0);
	CHECK(steps_seen & (1U << SMPFOTA_UPDATE_UPLOAD));
	CHECK(primary_runs(img, img_len));
}

/* Every MCUboot mode the target can play, told by bootloader info or not: the update ends in
 * the mode's own outcome, with the image where that mode puts it. */
static void test_update_modes(void)
{
	static const struct {
		uint8_t server;
		bool info;
		uint8_t mode, source, outcome;
	} cases[] = {
		{SMPFOTA_SERVER_SWAP, true, SMPFOTA_UPDATE_MODE_SWAP, SMPFOTA_UPDATE_MODE_ASKED,
		 SMPFOTA_UPDATE_CONFIRMED},
		{SMPFOTA_SERVER_SWAP, false, SMPFOTA_UPDATE_MODE_SWAP, SMPFOTA_UPDATE_MODE_ASSUMED,
		 SMPFOTA_UPDATE_CONFIRMED},
		{SMPFOTA_SERVER_OVERWRITE, true, SMPFOTA_UPDATE_MODE_OVERWRITE,
		 SMPFOTA_UPDATE_MODE_ASKED, SMPFOTA_UPDATE_PERMANENT},
		{SMPFOTA_SERVER_OVERWRITE, false, SMPFOTA_UPDATE_MODE_OVERWRITE,
		 SMPFOTA_UPDATE_MODE_INFERRED, SMPFOTA_UPDATE_PERMANENT},
		{SMPFOTA_SERVER_DIRECT_XIP, true, SMPFOTA_UPDATE_MODE_DIRECT_XIP,
		 SMPFOTA_UPDATE_MODE_ASKED, SMPFOTA_UPDATE_BOOTED},
		{SMPFOTA_SERVER_DIRECT_XIP, false, SMPFOTA_UPDATE_MODE_DIRECT_XIP,
		 SMPFOTA_UPDATE_MODE_INFERRED, SMPFOTA_UPDATE_BOOTED},
		{SMPFOTA_SERVER_RAM_LOAD, true, SMPFOTA_UPDATE_MODE_DIRECT_XIP,
		 SMPFOTA_UPDATE_MODE_ASKED, SMPFOTA_UPDATE_BOOTED},
		{SMPFOTA_SERVER_SERIAL_RECOVERY, false, SMPFOTA_UPDATE_MODE_RECOVERY,
		 SMPFOTA_UPDATE_MODE_INFERRED, SMPFOTA_UPDATE_RECOVERED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		target_with_factory(1);
		tb.cfg.mode = cases[i].server;
		tb.cfg.no_bootloader_info = !cases[i].info;
		CHECK_EQ(smpfota_emu_target_start(&tb, false), 0);
		struct smpfota_upload_source src = make_source(40000, 31);
		struct smpfota_update_params prm = {0};
		CHECK_EQ(run_update(&src, &prm), 0);
		CHECK_EQ(upd.mode, cases[i].mode);
		CHECK_EQ(upd.mode_source, cases[i].source);
		CHECK_EQ(upd.outcome, cases[i].outcome);
		CHECK_EQ(boots, 1);
		bool xip = cases[i].mode == SMPFOTA_UPDATE_MODE_DIRECT_XIP;
		CHECK(xip ? secondary_holds_image() && tb.xip_slot[0] == 1
			  : primary_runs(img, img_len));
		if (cases[i].mode == SMPFOTA_UPDATE_MODE_OVERWRITE) {
			/* copied, and the old image is gone: nothing to revert to */
			CHECK_EQ(smpfota_flash_area_is_erased(&tb.images[0].secondary, 0, 32), 1);
		}
		if (xip) {
			/* the next update goes to slot 0, the one not running now */
			img_len = smpfota_emu_image_build(
				img, sizeof(img),
				&(struct smpfota_emu_image_spec){
					.body_size = 20000, .ver = {2, 0, 0, 0}, .seed = 32},
				NULL);
			src.size = (uint32_t)img_len;
			tu_sha256(img, img_len, src.sha);
			CHECK_EQ(run_update(&src, &prm), 0);
			CHECK_EQ(upd.outcome, SMPFOTA_UPDATE_BOOTED);
			CHECK(primary_runs(img, img_len) && tb.xip_slot[0] == 0);
		}
	}
	/* direct-xip boots the highest version: an older one, forced, never runs */
	target_with_factory(3);
	tb.cfg.mode = SMPFOTA_SERVER_DIRECT_XIP;
	tb.cfg.no_bootloader_info = true;
	CHECK_EQ(smpfota_emu_target_start(&tb, false), 0);
	struct smpfota_upload_source src = make_source(20000, 33);
	struct smpfota_update_params prm = {0};
	CHECK_EQ(run_update(&src, &prm), SMPFOTA_ERR_DOWNGRADE);
	prm.force = true;
	CHECK_EQ(run_update(&src, &prm), SMPFOTA_ERR_ROLLED_BACK);
	CHECK_EQ(upd.mode, SMPFOTA_UPDATE_MODE_DIRECT_XIP); /* inferred from ENOTSUP to test */
	CHECK(primary_runs(factory, factory_len));
	/* a target that never answers: params and bootloader info give up, the list times out */
	target_with_factory(1);
	server_down = true;
	src = make_source(20000, 34);
	prm = (struct smpfota_update_params){0};
	CHECK_EQ(run_update(&src, &prm), SMPFOTA_ERR_TIMEDOUT);
	CHECK_EQ(upd_step, SMPFOTA_UPDATE_CHECK);
	server_down = false;
	/* the names the CLI prints */
	CHECK_EQ(smpfota_update_mode_name(SMPFOTA_UPDATE_MODE_RECOVERY)[0], 's');
	CHECK_EQ(smpfota_update_outcome_name(99)[0], '?');
}

static void test_update_refusals(void)
{
	struct smpfota_update_params prm = {0};
	/* a downgrade is refused unless forced */
	target_with_factory(3);
	struct smpfota_upload_source src = make_source(20000, 22); /* 1.2.3 < 3.0.0 */
	CHECK_EQ(run_update(&src, &prm), SMPFOTA_ERR_DOWNGRADE);
	CHECK_EQ(upd_step, SMPFOTA_UPDATE_CHECK);
	CHECK(primary_runs(factory, factory_len));
	prm.force = true;
	CHECK_EQ(run_update(&src, &prm), 0);
	CHECK(primary_runs(img, img_len));

	/* larger than the slot: refused before any byte is sent */
	target_with_factory(1);
	prm.force = false;
	src = make_source(SLOT - 1000, 23);
	uint32_t sent = sent_data_bytes;
	CHECK_EQ(run_update(&src, &prm), SMPFOTA_ERR_TOO_LARGE);
	CHECK_EQ(sent_data_bytes, sent);

	/* the target never comes back after the reset */
	target_with_factory(1);
	src = make_source(20000, 24);
	prm.reset_wait_ms = 5000;
	struct smpfota_image_info info;
	CHECK_EQ(smpfota_update_check_image(&src, &info), 0);
	upd_err = 99;
	CHECK_EQ(smpfota_update_start(&upd, &cli, &src, &info, &prm, on_step, NULL, on_upd_done,
				      NULL, now_ms),
		 0);
	while (upd_err == 99) {
		step();
		smpfota_update_poll(&upd, now_ms);
		if (boots > 0) {
			server_down = true;
		}
	}
	CHECK_EQ(upd_err, SMPFOTA_ERR_TIMEDOUT);
	CHECK_EQ(upd_step, SMPFOTA_UPDATE_WAIT);

	/* MCUboot rejects the new image at boot (it was damaged in flash after the upload):
	 * the old one keeps running -> ROLLED_BACK */
	target_with_factory(1);
	src = make_source(20000, 25);
	prm.reset_wait_ms = 0;
	CHECK_EQ(smpfota_update_check_image(&src, &info), 0);
	upd_err = 99;
	CHECK_EQ(smpfota_update_start(&upd, &cli, &src, &info, &prm, NULL, NULL, on_upd_done, NULL,
				      now_ms),
		 0);
	while (upd_err == 99) {
		step();
		smpfota_update_poll(&upd, now_ms);
		if (upd.step == SMPFOTA_UPDATE_RESET) {
			(void)smpfota_flash_area_erase(&tb.images[0].secondary, 0, PAGE);
		}
	}
	CHECK_EQ(upd_err, SMPFOTA_ERR_ROLLED_BACK);
	CHECK(primary_runs(factory, factory_len));

	/* a bad local image never leaves the host */
	src = make_source(20000, 26);
	img[3000] ^= 1;
	CHECK_EQ(smpfota_update_check_image(&src, &info), SMPFOTA_ERR_HASH_MISMATCH);
}

int main(void)
{
	RUN(test_requests);
	RUN(test_upload_fills_buffer);
	RUN(test_upload_buffers);
	RUN(test_upload_busy_transport_keeps_order);
	RUN(test_stuck_transport_times_out);
	RUN(test_upload_lossy);
	RUN(test_resume_after_client_restart);
	RUN(test_restart_after_server_forgets);
	RUN(test_rejected_and_timeout);
#if SMPFOTA_CONFIG_CLIENT_LEARN
	RUN(test_window_learns);
	RUN(test_timeouts_learn);
	RUN(test_opening_chunk_waits_for_erase);
	RUN(test_held_link_keeps_window_full);
	RUN(test_lossless_link_skips_learning);
#endif
	RUN(test_update_workflow);
	RUN(test_update_frames_in_whole_pieces);
	RUN(test_update_refusals);
	RUN(test_update_upload_only_then_reuse);
	RUN(test_update_modes);
	return CHECK_SUMMARY();
}
