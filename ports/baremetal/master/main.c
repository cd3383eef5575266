/*
 * Master firmware: a bare-metal microcontroller updates another over SMP serial, with no
 * host in the data path. It reads an MCUboot image from its own flash, checks it (SHA-256
 * through mbedTLS), runs smpfota's update workflow (update.h: params, check, upload,
 * verify, test, reset, wait, active, confirm) on the link UART, and reports on the console
 * UART, one fact per line:
 *
 *   master: smpfota 0.1.0 on mps2-an505
 *   image: 49692 bytes, version 0.0.1, hash 4920...
 *   step: upload (12 ms)
 *   progress: 3560/49692
 *   upload: 49692 bytes in 1234 ms, window 1, chunk 336, retransmits 0, rewinds 0, skips 0
 *   result: OK | result: TIMEDOUT at check | result: REJECTED at upload (rc 6) ...
 *   slot: image 0 slot 0 version 0.0.1 hash ... active confirmed
 *   memory: stack 1234 of 4096 bytes
 *   master: halt
 *
 * The run configuration in flash (board.h, struct smpfota_bm_job) can leave the image in
 * test mode and then reset the target to show that MCUboot reverts it ("revert: ..."). The
 * same code runs on any board of the port: only board.c and the linker script differ.
 *
 * Built with MASTER_SECURE (master_secure.elf), the link is wrapped in the secure channel's
 * initiator (smpfota/secure.h, docs/security.md), as `smpfota --key` does on a PC: the key
 * from the board's key page, sessions opened by themselves (again after the target's reset),
 * only authenticated answers reach the engine. It prints "secure: key id N" at start and the
 * channel's counters at the end; no key, no random source: "result: ... at key", no update.
 */
#include <string.h>

#include "baremetal/board.h"
#include "baremetal/clock.h"
#include "baremetal/console.h"
#include "baremetal/cortex_m.h"
#include "baremetal/flash_image.h"
#include "baremetal/serial_link.h"
#include "baremetal/startup.h"
#include "smpfota/client.h"
#include "smpfota/serial.h"
#include "smpfota/smpfota.h"
#include "smpfota/update.h"

#ifndef MASTER_SECURE
#define MASTER_SECURE 0
#endif
#if MASTER_SECURE
#include <mbedtls/memory_buffer_alloc.h>

#include "crypto/mbedtls.h"
#include "smpfota/secure.h"

/* mbedTLS's pool: its CCM and HMAC contexts (three AES key schedules, an HMAC-SHA-256). */
#ifndef MASTER_MBEDTLS_POOL
#define MASTER_MBEDTLS_POOL 2048U
#endif
#endif

/* The target's SMP buffer (Zephyr's CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE; the peer in the
 * tests says 384 in `os params`). One SMP frame on serial is that minus the 2-byte length
 * and 2-byte CRC the console framing adds inside the buffer. */
#ifndef MASTER_TARGET_BUF
#define MASTER_TARGET_BUF 384U
#endif
#define MASTER_MTU (MASTER_TARGET_BUF - 4U)

/* Chunk requests in flight. 1: a Zephyr UART transport without flow control drops bytes
 * of a frame that arrives while it is still handling the previous one (docs/baremetal.md). */
#ifndef MASTER_WINDOW
#define MASTER_WINDOW 1U
#endif

_Static_assert(MASTER_WINDOW >= 1U && MASTER_WINDOW <= SMPFOTA_CLIENT_MAX_INFLIGHT,
	       "the window must fit the client's request table (smpfota_config.h)");

/* Per attempt; the session-opening chunk gets the engine's first_timeout_ms (the target
 * erases the slot first). */
#ifndef MASTER_TIMEOUT_MS
#define MASTER_TIMEOUT_MS 1000U
#endif

/* Client slots: the window, as the workflow has one request out at a time otherwise. */
#define MASTER_SLOTS MASTER_WINDOW

/* Console framing: 127-byte lines carry 93 bytes each, plus the 2-byte length and CRC. */
#define LINES(n) (((n) + 4U + 92U) / 93U)
#define MASTER_TX_PACKET (LINES(MASTER_MTU) * 127U)

struct master {
	const struct smpfota_bm_board *board;
	struct smpfota_bm_console con;
	struct smpfota_bm_serial_link link;
	struct smpfota_client client;
	struct smpfota_update update;
	struct smpfota_bm_flash_image flash;
	struct smpfota_upload_source src;
	struct smpfota_image_info info;

	/* update outcome */
	bool finished;
	int err;
	enum smpfota_update_step step;
	struct smpfota_smp_status status;
	uint32_t progress_mark; /* next progress line at this many bytes */
	struct smpfota_upload_progress last;
	bool have_progress;
	uint32_t t0; /* start of the update */

	/* single requests after the update */
	bool rsp_done;
	int rsp_err;
	bool running_is_new; /* latest image list: slot 0 of image 0 holds our hash */

	uint8_t client_mem[(MASTER_SLOTS + 1U) * MASTER_MTU];
	uint8_t rx_packet[MASTER_TARGET_BUF];
	uint8_t tx_packet[MASTER_TX_PACKET];
#if MASTER_SECURE
	/* The link carries sealed frames of up to MASTER_MTU; the engine's shrink by 16. */
	struct smpfota_secure sec;
	struct smpfota_mbedtls_crypto mc;
	struct smpfota_mbedtls_key key;
	uint8_t sec_mem[2U * MASTER_MTU];
	unsigned char mbedtls_pool[MASTER_MBEDTLS_POOL] __attribute__((aligned(8)));
#endif
};

static struct master m;

/* ---- console ------------------------------------------------------------------------- */

static void line(const char *a, const char *b)
{
	smpfota_bm_puts(&m.con, a);
	smpfota_bm_puts(&m.con, b);
	smpfota_bm_puts(&m.con, "\n");
}

static void put_version(const struct smpfota_image_version *v)
{
	char buf[SMPFOTA_IMAGE_VERSION_STR_MAX];
	(void)smpfota_image_version_str(v, buf, sizeof(buf)); /* always fits */
	smpfota_bm_puts(&m.con, buf);
}

static void put_result(int err, const char *step)
{
	smpfota_bm_puts(&m.con, "result: ");
	smpfota_bm_puts(&m.con, smpfota_errname(err));
	if (err != 0 && step != NULL) {
		smpfota_bm_puts(&m.con, " at ");
		smpfota_bm_puts(&m.con, step);
	}
	if (err == SMPFOTA_ERR_REJECTED) {
		const char *name = smpfota_mgmt_err_name(
			m.status.has_err ? m.status.err.group : 0,
			m.status.has_err ? m.status.err.rc : m.status.rc, m.status.has_err);
		smpfota_bm_puts(&m.con, " (");
		smpfota_bm_puts(&m.con, name != NULL ? name : "rc");
		smpfota_bm_puts(&m.con, " ");
		smpfota_bm_put_i32(&m.con, m.status.has_err ? m.status.err.rc : m.status.rc);
		smpfota_bm_puts(&m.con, ")");
	}
	smpfota_bm_puts(&m.con, "\n");
}

/* ---- main loop --------------------------------------------------------------------------- */

static int to_client(void *user, const uint8_t *frame, size_t len)
{
	(void)user;
	(void)smpfota_client_input(&m.client, frame, len, smpfota_bm_now_ms());
	return 0;
}

static int on_frame(void *user, const uint8_t *frame, size_t len)
{
#if MASTER_SECURE
	/* Authenticated frames reach to_client(); the rest is counted and dropped. */
	(void)user;
	(void)smpfota_secure_input(&m.sec, frame, len, smpfota_bm_now_ms());
	return 0;
#else
	return to_client(user, frame, len);
#endif
}

/* The link's own timers: the channel resends a HELLO nobody answered. */
static void poll_link(void)
{
	(void)smpfota_bm_serial_link_poll(&m.link);
#if MASTER_SECURE
	smpfota_secure_poll(&m.sec, smpfota_bm_now_ms());
#endif
}

/* Sleep until the next interrupt unless bytes are waiting; SysTick wakes us every ms, so
 * the engines' deadlines (milliseconds) are met without programming a timer. */
static void idle(void)
{
	smpfota_bm_irqs_off();
	if (!smpfota_bm_serial_link_rx_pending(&m.link)) {
		smpfota_bm_wait_for_interrupt();
	}
	smpfota_bm_irqs_on();
}

/* Run the update workflow (with_update) or the client alone until *done. */
static void run(const bool *done, bool with_update)
{
	while (!*done) {
		poll_link();
		uint32_t now = smpfota_bm_now_ms();
		if (with_update) {
			smpfota_update_poll(&m.update, now);
		} else {
			smpfota_client_poll(&m.client, now);
		}
		if (!*done) {
			idle();
		}
	}
}

/* ---- update callbacks ------------------------------------------------------------------ */

static void on_step(void *user, enum smpfota_update_step step)
{
	(void)user;
	if (step == SMPFOTA_UPDATE_VERIFY && m.have_progress) {
		const struct smpfota_upload_progress *p = &m.last;
		smpfota_bm_puts(&m.con, "upload: ");
		smpfota_bm_put_u32(&m.con, p->done);
		smpfota_bm_puts(&m.con, " bytes in ");
		smpfota_bm_put_u32(&m.con, p->elapsed_ms);
		smpfota_bm_puts(&m.con, " ms, window ");
		smpfota_bm_put_u32(&m.con, p->window);
		smpfota_bm_puts(&m.con, ", chunk ");
		smpfota_bm_put_u32(&m.con, p->chunk);
		smpfota_bm_puts(&m.con, ", retransmits ");
		smpfota_bm_put_u32(&m.con, p->retransmits);
		smpfota_bm_puts(&m.con, ", rewinds ");
		smpfota_bm_put_u32(&m.con, p->rewinds);
		smpfota_bm_puts(&m.con, ", skips ");
		smpfota_bm_put_u32(&m.con, p->skips);
		smpfota_bm_puts(&m.con, "\n");
	}
	smpfota_bm_puts(&m.con, "step: ");
	smpfota_bm_puts(&m.con, smpfota_update_step_name(step));
	smpfota_bm_puts(&m.con, " (");
	smpfota_bm_put_u32(&m.con, smpfota_bm_now_ms() - m.t0);
	smpfota_bm_puts(&m.con, " ms)\n");
}

static void on_progress(void *user, const struct smpfota_upload_progress *p)
{
	(void)user;
	m.last = *p;
	m.have_progress = true;
	/* A line per tenth of the image (and the first, which shows a resumed start). */
	if (p->done >= m.progress_mark || p->done == p->total) {
		smpfota_bm_puts(&m.con, "progress: ");
		smpfota_bm_put_u32(&m.con, p->done);
		smpfota_bm_puts(&m.con, "/");
		smpfota_bm_put_u32(&m.con, p->total);
		smpfota_bm_puts(&m.con, "\n");
		m.progress_mark = p->done + p->total / 10U;
	}
}

static void on_done(void *user, int err, enum smpfota_update_step step,
		    const struct smpfota_smp_status *st)
{
	(void)user;
	m.err = err;
	m.step = step;
	if (st != NULL) {
		m.status = *st;
	}
	m.finished = true;
}

/* ---- single requests ------------------------------------------------------------------ */

static void print_slots(const struct smpfota_img_state_rsp *st)
{
	m.running_is_new = false;
	for (size_t i = 0; i < st->images_count; i++) {
		const struct smpfota_img_slot_state *e = &st->images[i];
		uint32_t image = e->has_image ? e->image : 0U;
		bool ours = e->has_hash && e->hash.len == m.info.hash_len &&
			    memcmp(e->hash.ptr, m.info.hash, m.info.hash_len) == 0;
		if (image == 0U && e->slot == 0U && ours) {
			m.running_is_new = true;
		}
		smpfota_bm_puts(&m.con, "slot: image ");
		smpfota_bm_put_u32(&m.con, image);
		smpfota_bm_puts(&m.con, " slot ");
		smpfota_bm_put_u32(&m.con, e->slot);
		smpfota_bm_puts(&m.con, " version ");
		for (size_t k = 0; k < e->version.len && k < 24U; k++) {
			char ch[2] = {e->version.ptr[k], '\0'};
			smpfota_bm_puts(&m.con, ch);
		}
		smpfota_bm_puts(&m.con, " hash ");
		smpfota_bm_put_hex(&m.con, e->hash.ptr, e->has_hash ? e->hash.len : 0U);
		smpfota_bm_puts(&m.con, e->active ? " active" : "");
		smpfota_bm_puts(&m.con, e->confirmed ? " confirmed" : "");
		smpfota_bm_puts(&m.con, e->pending ? " pending" : "");
		smpfota_bm_puts(&m.con, e->permanent ? " permanent" : "");
		smpfota_bm_puts(&m.con, "\n");
	}
}

static void on_rsp(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	(void)user;
	m.rsp_err = err;
	if (err == 0 && !smpfota_smp_status_ok(&rsp->status)) {
		m.rsp_err = SMPFOTA_ERR_REJECTED;
		m.status = rsp->status;
	} else if (err == 0 && msg == SMPFOTA_MSG_IMG_STATE_READ) {
		print_slots(&rsp->state); /* rsp is valid during the callback only */
	}
	m.rsp_done = true;
}

/* One request, waited for. once: never retransmitted (os reset). */
static int request(enum smpfota_smp_msg msg, const void *req, uint32_t timeout_ms, bool once)
{
	m.rsp_done = false;
	uint32_t now = smpfota_bm_now_ms();
	int rc = once ? smpfota_client_send_once(&m.client, msg, req, timeout_ms, on_rsp, NULL, now)
		      : smpfota_client_send(&m.client, msg, req, timeout_ms, on_rsp, NULL, now);
	if (rc != 0) {
		return rc;
	}
	run(&m.rsp_done, false);
	return m.rsp_err;
}

static int image_list(void)
{
	struct smpfota_img_state_read_req q = {0};
	int rc = request(SMPFOTA_MSG_IMG_STATE_READ, &q, 0, false);
	if (rc != 0) {
		line("list: ", smpfota_errname(rc));
	}
	return rc;
}

/* The image was left in test mode: reset the target once more, as a power cycle would, and
 * see what MCUboot boots. It must have reverted to the previous image. */
static int check_revert(void)
{
	struct smpfota_os_reset_req reset = {0};
	line("revert: ", "resetting the target");
	(void)request(SMPFOTA_MSG_OS_RESET, &reset, 0, true); /* may go down before answering */

	/* Zephyr answers first and resets 250 ms later: an echo before then would be answered
	 * by the image about to go. Then wait for it to come back (MCUboot swaps back first). */
	uint32_t since = smpfota_bm_now_ms();
	while (smpfota_bm_now_ms() - since < 1000U) {
		poll_link();
		smpfota_client_poll(&m.client, smpfota_bm_now_ms());
		idle();
	}
	struct smpfota_os_echo_req echo = {.d = {"smpfota", 7}};
	int rc;
	do {
		rc = request(SMPFOTA_MSG_OS_ECHO, &echo, 500, false);
	} while (rc == SMPFOTA_ERR_TIMEDOUT && smpfota_bm_now_ms() - since < 30000U);
	if (rc != 0) {
		return rc;
	}
	rc = image_list();
	if (rc != 0) {
		return rc;
	}
	return m.running_is_new ? 0 : SMPFOTA_ERR_ROLLED_BACK;
}

/* A fault: say so on the console (polled: no interrupt runs now), then startup.c halts. A
 * stack overflow hits MSPLIM and cannot even enter this handler (QEMU reports a lockup). */
void smpfota_bm_on_fault(uint32_t exception)
{
	static const char head[] = "\nmaster: fault, exception ";
	char num[4] = {(char)('0' + exception / 100U % 10U), (char)('0' + exception / 10U % 10U),
		       (char)('0' + exception % 10U), '\n'};
	if (m.board != NULL) {
		const struct smpfota_bm_uart *u = m.board->console;
		u->write_polled(u->ctx, (const uint8_t *)head, sizeof(head) - 1U);
		u->write_polled(u->ctx, (const uint8_t *)num, sizeof(num));
	}
}

/* ---- main ---------------------------------------------------------------------------------- */

#if MASTER_SECURE
/* The channel's initiator on the link, keyed from the board's key page. */
static int secure_init(void)
{
	const struct smpfota_bm_key *k = m.board->key;
	if (k == NULL || k->magic != SMPFOTA_BM_KEY_MAGIC) {
		line("secure: ", "no key in the key page");
		return SMPFOTA_ERR_KEY_UNKNOWN;
	}
	mbedtls_memory_buffer_alloc_init(m.mbedtls_pool, sizeof(m.mbedtls_pool));
	memcpy(m.key.key, k->key, sizeof(m.key.key));
	m.key.id = smpfota_mbedtls_key_id(m.key.key);
	struct smpfota_secure_config sc = {.send = smpfota_bm_serial_link_send,
					   .ctx = &m.link,
					   .deliver = to_client,
					   .key_id = m.key.id,
					   .buf = m.sec_mem,
					   .buf_size = sizeof(m.sec_mem)};
	int rc = smpfota_mbedtls_crypto_init(&m.mc, &m.key, 1, smpfota_bm_board_random, NULL,
					     &sc.crypto);
	uint8_t probe[1];
	if (rc == 0 && smpfota_bm_board_random(NULL, probe, sizeof(probe)) != 0) {
		line("secure: ", "no random source");
		return SMPFOTA_ERR_IO;
	}
	rc = rc ? rc : smpfota_secure_init_initiator(&m.sec, &sc, smpfota_bm_now_ms());
	if (rc == 0) {
		smpfota_bm_puts(&m.con, "secure: key id ");
		smpfota_bm_put_u32(&m.con, m.key.id);
		smpfota_bm_puts(&m.con, "\n");
	}
	return rc;
}
#endif

static void halt(void)
{
	smpfota_bm_puts(&m.con, "memory: stack ");
	smpfota_bm_put_u32(&m.con, (uint32_t)smpfota_bm_stack_high_water());
	smpfota_bm_puts(&m.con, " of ");
	smpfota_bm_put_u32(&m.con, (uint32_t)smpfota_bm_stack_size());
	smpfota_bm_puts(&m.con, " bytes; link rx dropped ");
	smpfota_bm_put_u32(&m.con, *m.board->link->rx_dropped);
	smpfota_bm_puts(&m.con, "\nlink: dropped by the decoder:");
	for (int i = 0; i < SMPFOTA_SERIAL_DROP_COUNT; i++) {
		if (m.link.rx.stats.drops[i] != 0U) {
			smpfota_bm_puts(&m.con, " ");
			smpfota_bm_put_u32(&m.con, m.link.rx.stats.drops[i]);
			smpfota_bm_puts(&m.con, " ");
			smpfota_bm_puts(&m.con, smpfota_serial_drop_str(i));
			smpfota_bm_puts(&m.con, ",");
		}
	}
	smpfota_bm_puts(&m.con, " packets sent ");
	smpfota_bm_put_u32(&m.con, m.link.tx_packets);
	smpfota_bm_puts(&m.con, ", received ");
	smpfota_bm_put_u32(&m.con, m.link.rx.stats.frames);
	smpfota_bm_puts(&m.con, "\n");
#if MASTER_SECURE
	const struct smpfota_secure_stats *ss = &m.sec.stats;
	smpfota_bm_puts(&m.con, "secure: sessions ");
	smpfota_bm_put_u32(&m.con, ss->sessions);
	smpfota_bm_puts(&m.con, ", sealed ");
	smpfota_bm_put_u32(&m.con, ss->sent);
	smpfota_bm_puts(&m.con, ", opened ");
	smpfota_bm_put_u32(&m.con, ss->delivered);
	smpfota_bm_puts(&m.con, ", rejects ");
	smpfota_bm_put_u32(&m.con, ss->rejects);
	smpfota_bm_puts(&m.con, ", dropped: auth ");
	smpfota_bm_put_u32(&m.con, ss->auth_failed);
	smpfota_bm_puts(&m.con, " replayed ");
	smpfota_bm_put_u32(&m.con, ss->replayed);
	smpfota_bm_puts(&m.con, " plaintext ");
	smpfota_bm_put_u32(&m.con, ss->plaintext);
	smpfota_bm_puts(&m.con, "\n");
#endif
	line("master: ", "halt");
	smpfota_bm_console_flush(&m.con, true);
	for (;;) {
		smpfota_bm_wait_for_interrupt();
	}
}

#if MASTER_SECURE
void smpfota_bm_mbedtls_exit(int status)
{
	(void)status;
	line("master: ", "mbedTLS's memory pool is corrupted");
	halt();
}

#endif

int main(void)
{
	m.board = smpfota_bm_board_init();
	smpfota_bm_console_init(&m.con, m.board->console);
	smpfota_bm_puts(&m.con, "master: smpfota " SMPFOTA_VERSION_STRING " on ");
	line(m.board->name, "");

	const struct smpfota_bm_job *job = m.board->job;
	uint32_t flags = job->magic == SMPFOTA_BM_JOB_MAGIC ? job->flags : 0U;

	int rc = smpfota_bm_flash_image_open(&m.flash, m.board->image, m.board->image_region_size,
					     &m.src, &m.info);
	if (rc == 0) {
		rc = smpfota_update_check_image(&m.src, &m.info); /* whole image, its hash */
	}
	if (rc != 0) {
		put_result(rc, "image");
		halt();
	}
	smpfota_bm_puts(&m.con, "image: ");
	smpfota_bm_put_u32(&m.con, m.src.size);
	smpfota_bm_puts(&m.con, " bytes, version ");
	put_version(&m.info.hdr.version);
	smpfota_bm_puts(&m.con, ", hash ");
	smpfota_bm_put_hex(&m.con, m.info.hash, m.info.hash_len);
	smpfota_bm_puts(&m.con, "\n");

	struct smpfota_bm_serial_link_config lc = {
		.uart = m.board->link,
		.rx_buf = m.rx_packet,
		.rx_size = sizeof(m.rx_packet),
		.tx_buf = m.tx_packet,
		.tx_size = sizeof(m.tx_packet),
		.on_frame = on_frame,
	};
	struct smpfota_client_config cc = {
		.tx = {.send = smpfota_bm_serial_link_send, .ctx = &m.link, .mtu = MASTER_MTU},
		.buf = m.client_mem,
		.buf_size = sizeof(m.client_mem),
		.frame_cap = MASTER_MTU,
		.slots = MASTER_SLOTS,
		.version = SMPFOTA_SMP_V2,
		/* The target answers in milliseconds, but the log lines it prints on the same
		 * UART now and then break into an answer (bad base64: lost): resend after 1 s
		 * rather than the default 2.5 s. A 384-byte buffer takes 46 ms each way at
		 * 115200 baud, so 1 s also suits a real UART. */
		.timeout_ms = MASTER_TIMEOUT_MS,
		.retries = 3,
	};
	rc = smpfota_bm_serial_link_init(&m.link, &lc);
#if MASTER_SECURE
	/* The channel's frames are not SMP frames: take every CRC-good payload (the channel
	 * checks them), as `smpfota target --key` does. */
	m.link.rx.raw = true;
	if (rc == 0) {
		rc = secure_init();
		if (rc != 0) {
			put_result(rc, "key");
			halt();
		}
	}
	cc.tx = (struct smpfota_client_transport){.send = smpfota_secure_transport_send,
						  .ctx = &m.sec,
						  .mtu = smpfota_secure_mtu(MASTER_MTU)};
#endif
	if (rc == 0) {
		rc = smpfota_client_init(&m.client, &cc);
	}
	struct smpfota_update_params prm = {
		.no_confirm = (flags & SMPFOTA_BM_JOB_NO_CONFIRM) != 0U,
		.upload = {.window = MASTER_WINDOW},
	};
	uint32_t t0 = smpfota_bm_now_ms();
	m.t0 = t0;
	if (rc == 0) {
		rc = smpfota_update_start(&m.update, &m.client, &m.src, &m.info, &prm, on_step,
					  on_progress, on_done, NULL, t0);
	}
	if (rc != 0) {
		put_result(rc, "start");
		halt();
	}
	run(&m.finished, true);
	uint32_t t1 = smpfota_bm_now_ms();

	put_result(m.err, smpfota_update_step_name(m.step));
#if MASTER_SECURE
	/* No session could be opened: why, as the channel saw it (what the target answered to
	 * the HELLOs), rather than only the timeout it caused. */
	if (!smpfota_secure_established(&m.sec) &&
	    (m.err == SMPFOTA_ERR_TIMEDOUT || m.err <= SMPFOTA_ERR_AUTH)) {
		int why = smpfota_secure_last_error(&m.sec);
		line("secure: no session: ", smpfota_errname(why ? why : SMPFOTA_ERR_NO_SESSION));
	}
#endif
	smpfota_bm_puts(&m.con, "time: ");
	smpfota_bm_put_u32(&m.con, t1 - t0);
	smpfota_bm_puts(&m.con, " ms\n");
	if (m.err != SMPFOTA_ERR_TIMEDOUT) { /* a silent target would only time out again */
		(void)image_list();
	}

	if (m.err == 0 && (flags & SMPFOTA_BM_JOB_CHECK_REVERT) != 0U) {
		rc = check_revert();
		line("revert: ", rc == SMPFOTA_ERR_ROLLED_BACK
					 ? "detected, the target runs the previous image"
					 : "not detected");
		put_result(rc, "revert");
	}
	halt();
	return 0;
}
