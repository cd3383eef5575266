/*
 * The session of a client command: the link to the target, the client engine on it, and
 * the host event loop that drives the engine (client.h) or the update workflow (update.h):
 * poll() on the socket or tty until the engine's next deadline, feed every frame that arrived
 * to smpfota_client_input(), then let the engine act on the time (smpfota_*_poll). Output is
 * written from the engine's callbacks, while the decoded response is valid.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_cbor.h"
#include "cli_client.h"
#include "posix/conn_uri.h"

#define DEFAULT_CONN "udp:127.0.0.1"
#define DEFAULT_TIMEOUT_MS 3000U
/* Every request is sent at most 1 + RETRIES times: a lost UDP datagram or a garbled serial
 * line costs one timeout, not the command. */
#define RETRIES 2
/* smpfota_client_init() refuses smaller frames (and no upload fits one). */
#define CLIENT_MIN_FRAME 64U
/* A guard against an engine that has nothing pending yet never completed. */
#define STALL_MS 5000U
/* How long a target that answered before may refuse (restarting) before we give up. */
#define REFUSED_GRACE_MS 2000U
/* UDP: silence after which a zero-length datagram checks whether anyone still listens. */
#define PROBE_MS 500U

/* Frame memory of the engine: one buffer per request in flight plus one for upload data,
 * each large enough for the largest serial frame (a server with 64 KiB buffers). */
static uint8_t frame_mem[(SMPFOTA_CLIENT_MAX_INFLIGHT + 1) * (size_t)HOST_FRAME_MAX];
static struct host_link link_state;
/* The secure channel's two halves: received plaintext, frames sent. */
static uint8_t sec_mem[2 * ((size_t)HOST_FRAME_MAX + SMPFOTA_SECURE_OVERHEAD)];

uint64_t cli_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000U + (uint64_t)ts.tv_nsec / 1000U;
}

uint32_t cli_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* truncation is fine: the engine takes a wrapping millisecond clock */
	return (uint32_t)((uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U);
}

void cli_save_status(struct cli *s, const struct smpfota_smp_status *st)
{
	s->has_status = true;
	s->st = *st;
	size_t n = st->rsn.len < sizeof(s->rsn) - 1 ? st->rsn.len : sizeof(s->rsn) - 1;
	if (n) {
		memcpy(s->rsn, st->rsn.ptr, n);
	}
	s->rsn[n] = '\0';
	s->st.rsn.ptr = s->rsn;
	s->st.rsn.len = n;
}

/* An authenticated frame out of the secure channel, or any frame without it. */
static int to_engine(void *user, const uint8_t *frame, size_t len)
{
	struct cli *s = user;
	if (smpfota_client_input(&s->c, frame, len, cli_now_ms()) == SMPFOTA_ERR_PROTO) {
		s->malformed++;
	}
	return 0;
}

static int to_link(void *user, const uint8_t *frame, size_t len)
{
	struct cli *s = user;
	return host_link_send(s->link, frame, len);
}

static void on_frame(void *user, const uint8_t *frame, size_t len)
{
	struct cli *s = user;
	s->last_rx = cli_now_ms();
	if (s->sec_ready) {
		(void)smpfota_secure_input(&s->sec, frame, len, cli_now_ms());
	} else {
		(void)to_engine(s, frame, len);
	}
}

/* Run until the current request, upload or update completes (s->done). Returns s->err. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Ctrl-C: where it stopped and what to do; the exit status 130 through s->exit_status. */
static int report_interrupt(struct cli *s)
{
	s->err = SMPFOTA_ERR_BUSY; /* any error: cli_fail() then returns the reported status */
	if (s->in_upload && s->have_progress) {
		uint32_t total = s->last.total ? s->last.total : 1;
		cli_fail_msg(s, "INTERRUPTED",
			     "run the same command again: the upload resumes from "
			     "there",
			     SMPFOTA_CLI_EXIT_INTERRUPTED,
			     "interrupted at %" PRIu32 " of %" PRIu32 " bytes (%u %%)",
			     s->last.done, s->last.total,
			     (unsigned)((uint64_t)s->last.done * 100U / total));
	} else if (s->step) {
		cli_fail_msg(s, "INTERRUPTED",
			     "run the same command again: it checks what the "
			     "target has and goes on from there",
			     SMPFOTA_CLI_EXIT_INTERRUPTED, "interrupted");
	} else {
		cli_fail_msg(s, "INTERRUPTED", NULL, SMPFOTA_CLI_EXIT_INTERRUPTED, "interrupted");
	}
	return s->err;
}

/* UDP, requests pending and the target silent: a datagram without payload costs a server
 * nothing (no SMP header: dropped unread) and, if nothing listens on the port any more,
 * brings back the ICMP port unreachable that says so, long before a retransmission would. */
static void probe(struct cli *s, uint32_t now)
{
	if (s->link->kind != SMPFOTA_CONN_UDP || s->link->stats.rx_frames == 0 ||
	    smpfota_client_pending(&s->c) == 0 || now - s->last_rx < PROBE_MS ||
	    now - s->last_probe < PROBE_MS) {
		return;
	}
	s->last_probe = now;
	if (send(host_link_fd(s->link), "", 0, 0) < 0 && errno == ECONNREFUSED) {
		s->link->stats.rx_refused++;
	}
}

/* ICMP port unreachable and no answer: nobody listens. Before anything ever answered that
 * is certain at the first refusal; later the target may be restarting, so it gets a while. */
static bool refused_for_good(struct cli *s, uint32_t now)
{
	const struct host_link_stats *st = &s->link->stats;
	if (s->link->kind != SMPFOTA_CONN_UDP) {
		return false;
	}
	if (st->rx_frames != s->rx_frames_seen) {
		s->rx_frames_seen = st->rx_frames;
		s->refused_seen = st->rx_refused;
		s->refused_since = 0;
		s->refusing = false;
		return false;
	}
	if (st->rx_refused == s->refused_seen) {
		return false;
	}
	if (st->rx_frames == 0) {
		return true;
	}
	if (!s->refusing) {
		s->refusing = true;
		s->refused_since = now;
	}
	return now - s->refused_since > REFUSED_GRACE_MS;
}

int cli_run(struct cli *s, struct smpfota_update *u)
{
	bool idle = false;
	uint32_t idle_since = 0;
	while (!s->done) {
		uint32_t now = cli_now_ms();
		if (interrupted) {
			return report_interrupt(s);
		}
		int32_t wait = u ? smpfota_update_next_deadline(u, now)
				 : smpfota_client_next_deadline(&s->c, now);
		int32_t hs = s->sec_ready ? smpfota_secure_next_deadline(&s->sec, now) : -1;
		if (hs >= 0 && (wait < 0 || hs < wait)) {
			wait = hs; /* a HELLO to send again */
		}
		if (wait < 0) {
			/* Nothing pending, yet no completion: the engine would wait forever. */
			if (!idle) {
				idle = true;
				idle_since = now;
			} else if (now - idle_since > STALL_MS) {
				cli_fail_msg(s, "INTERNAL", NULL, 1,
					     "internal error: the client engine "
					     "stopped without completing");
				s->err = SMPFOTA_ERR_INVAL;
				return s->err;
			}
			wait = 100;
		} else {
			idle = false;
		}
		if (s->link->kind == SMPFOTA_CONN_UDP && wait > (int32_t)PROBE_MS) {
			wait = PROBE_MS; /* wake up to probe a silent target (probe()) */
		}
		struct pollfd p = {.fd = host_link_fd(s->link), .events = POLLIN};
		int n = poll(&p, 1, (int)wait);
		if (n < 0 && errno != EINTR) {
			s->link->sys_errno = errno;
			s->err = SMPFOTA_ERR_IO;
			return s->err;
		}
		if (n > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP))) {
			int rc = host_link_receive(s->link, on_frame, s);
			if (rc < 0 && !s->done) {
				s->err = rc;
				return rc;
			}
		}
		now = cli_now_ms();
		/* not while an update waits for a target to come back from its reset */
		bool watch = u == NULL || s->in_upload;
		if (watch) {
			probe(s, now);
		}
		if (!s->done && watch && refused_for_good(s, now)) {
			s->link->sys_errno = ECONNREFUSED;
			s->err = SMPFOTA_ERR_IO;
			return s->err;
		}
		if (s->sec_ready) {
			smpfota_secure_poll(&s->sec, now);
		}
		if (u) {
			smpfota_update_poll(u, now);
		} else {
			smpfota_client_poll(&s->c, now);
		}
	}
	return s->err;
}

/* A new MTU for the engine, keeping what it learned of the link (its round trip). */
static int cli_client_set_mtu(struct cli *s, uint16_t mtu)
{
	return smpfota_client_set_mtu(&s->c, s->sec_ready ? smpfota_secure_mtu(mtu) : mtu);
}

int cli_client_init(struct cli *s, uint16_t mtu, uint8_t seq)
{
	if (s->key.on && !s->sec_ready) {
		/* Once per command: a re-initialised engine keeps the session. */
		struct smpfota_secure_config sc = {.crypto = s->key.ops,
						   .key_id = s->key.key.id,
						   .send = to_link,
						   .ctx = s,
						   .deliver = to_engine,
						   .buf = sec_mem,
						   .buf_size = sizeof(sec_mem)};
		int rc = smpfota_secure_init_initiator(&s->sec, &sc, cli_now_ms());
		if (rc != 0) {
			return rc;
		}
		s->sec_ready = true;
	}
	if (s->sec_ready) {
		mtu = smpfota_secure_mtu(mtu);
	}
	struct smpfota_client_config cfg = {
		.tx = {.send = s->sec_ready ? smpfota_secure_transport_send : host_link_send,
		       .ctx = s->sec_ready ? (void *)&s->sec : (void *)s->link,
		       .mtu = mtu},
		.buf = frame_mem,
		.buf_size = sizeof(frame_mem),
		.frame_cap = HOST_FRAME_MAX, /* any later MTU fits (cli_client_set_mtu) */
		.slots = SMPFOTA_CLIENT_MAX_INFLIGHT,
		.version = SMPFOTA_SMP_V2,
		.timeout_ms = s->timeout_ms,
		.retries = RETRIES,
		.seq = seq,
	};
	return smpfota_client_init(&s->c, &cfg);
}

static void on_rsp(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	struct cli *s = user;
	s->done = true;
	if (err != 0) {
		s->err = err;
		return;
	}
	if (!smpfota_smp_status_ok(&rsp->status)) {
		cli_save_status(s, &rsp->status);
		s->err = SMPFOTA_ERR_REJECTED;
		return;
	}
	if (s->on_ok) {
		s->on_ok(s, msg, rsp);
	}
}

/* Requests up to this size go without asking the target's buffer first: every SMP target
 * takes them (Zephyr's smallest line buffer; the upload sizes its chunks itself). */
#define SAFE_REQUEST 127U

/* Send one request and wait for its answer. Returns 0 or an smpfota error. A request larger
 * than SAFE_REQUEST asks the target's buffer size first (os params), and one that cannot fit
 * fails at once with SMPFOTA_ERR_NOSPC instead of being sent to be dropped. */
int cli_request(struct cli *s, enum smpfota_smp_msg msg, const void *req)
{
	static uint8_t probe[HOST_FRAME_MAX];
	int n = smpfota_smp_encode_req(msg, SMPFOTA_SMP_V2, 0, req, probe, sizeof(probe));
	s->req_len = n > 0 ? (size_t)n : 0;
	if (n > (int)SAFE_REQUEST && !s->params_asked && msg != SMPFOTA_MSG_OS_PARAMS) {
		size_t len = s->req_len;
		int rc = cli_learn_params(s);
		s->req_len = len;
		if (rc != 0) {
			return rc;
		}
	}
	s->done = false;
	s->err = 0;
	s->has_status = false;
	int rc = smpfota_client_send(&s->c, msg, req, 0, on_rsp, s, cli_now_ms());
	if (rc != 0) {
		return rc;
	}
	return cli_run(s, NULL);
}

static int file_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	const struct image_file *f = ctx;
	if (off > f->size || len > f->size - off) {
		return SMPFOTA_ERR_IO;
	}
	memcpy(buf, f->data + off, len);
	return 0;
}

int cli_load_image(struct cli *s, const char *path, struct smpfota_upload_source *src)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return cli_fail_msg(s, "IO", NULL, 1, "%s: %s", path, strerror(errno));
	}
	long size = -1;
	if (fseek(f, 0, SEEK_END) == 0) {
		size = ftell(f);
	}
	if (size < 0 || size > (long)UINT32_MAX - 1 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return cli_fail_msg(s, "IO", NULL, 1, "%s: cannot read its size", path);
	}
	s->file.path = path;
	s->file.size = (uint32_t)size;
	s->file.data = malloc(size ? (size_t)size : 1);
	if (s->file.data == NULL || fread(s->file.data, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		return cli_fail_msg(s, "IO", NULL, 1, "%s: %s", path,
				    s->file.data ? "read failed" : "out of memory");
	}
	fclose(f);
	memset(src, 0, sizeof(*src));
	src->read = file_read;
	src->ctx = &s->file;
	src->size = s->file.size;
	int rc = smpfota_update_check_image(src, &s->info);
	if (rc != 0) {
		return cli_fail_msg(
			s, smpfota_errname(rc),
			rc == SMPFOTA_ERR_BAD_MAGIC ? "is it an MCUboot image? imgtool sign "
						      "makes one (README: sign your first image)"
						    : NULL,
			1, "%s: %s (%s)", path, smpfota_strerror(rc), smpfota_errname(rc));
	}
	/* imgtool sign --pad: the file runs to the end of a slot and ends with the trailer's
	 * magic (MCUboot bootutil: boot_img_magic) */
	static const uint8_t boot_magic[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
					       0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
	s->padded = s->file.size >= s->info.image_size + sizeof(boot_magic) &&
		    !memcmp(s->file.data + s->file.size - sizeof(boot_magic), boot_magic,
			    sizeof(boot_magic));
	if (src->size < s->file.size) {
		/* The check cut the upload at the end of the TLVs: what is counted and sent. */
		fprintf(stderr,
			"smpfota: %s: %s is padded to %" PRIu32 " bytes (imgtool --pad); "
			"sending its %" PRIu32 "-byte image (the target writes its own trailer)\n",
			s->what, path, s->file.size, src->size);
		s->file.size = src->size;
	}
	return 0;
}

/* os params, and on serial the frame size it allows: the server's buffer also holds the
 * 2-byte length and 2-byte CRC of the console framing (Zephyr's mcumgr serial transport,
 * include/smpfota/serial.h). A server without the command keeps the conservative defaults. */
int cli_learn_params(struct cli *s)
{
	struct smpfota_os_params_req req = {0};
	void (*saved)(struct cli *, enum smpfota_smp_msg, const union smpfota_smp_rsp *) = s->on_ok;
	s->on_ok = cli_on_ok_print;
	int rc = cli_request(s, SMPFOTA_MSG_OS_PARAMS, &req);
	s->on_ok = saved;
	s->params_asked = true;
	if (rc == SMPFOTA_ERR_REJECTED) {
		s->params_known = false;
		s->buf_size = s->buf_count = 0;
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	if (s->params_known && s->link->kind != SMPFOTA_CONN_SERIAL) {
		/* A datagram larger than the server's buffer is dropped whole (Zephyr's UDP
		 * transport reads into one netbuf). */
		if (s->buf_size >= CLIENT_MIN_FRAME && s->buf_size < s->link->mtu) {
			s->link->mtu = (uint16_t)s->buf_size;
			rc = cli_client_set_mtu(s, s->link->mtu);
		}
	} else if (s->params_known) {
		uint32_t mtu = s->buf_size > 4 ? s->buf_size - 4 : 0;
		if (mtu < CLIENT_MIN_FRAME) {
			cli_fail_msg(s, "NOSPC", NULL, 1,
				     "the target's buf_size %" PRIu32 " leaves %" PRIu32
				     " bytes per serial frame; at least %u are needed (NOSPC)",
				     s->buf_size, mtu, CLIENT_MIN_FRAME);
			return SMPFOTA_ERR_NOSPC;
		}
		s->link->mtu = (uint16_t)(mtu < HOST_FRAME_MAX ? mtu : HOST_FRAME_MAX);
		rc = cli_client_set_mtu(s, s->link->mtu);
	}
	return rc;
}

/* ---- requests of groups the engine has no codec for (cli_extra.c) ----------------------- */

struct raw_wait {
	struct cli *s;
	uint8_t seq;
	uint16_t group;
	uint8_t id;
	uint8_t *rsp;
	size_t cap;
	size_t len;
	bool done;
};

static void on_raw_frame(void *user, const uint8_t *frame, size_t len)
{
	struct raw_wait *w = user;
	struct smpfota_smp_hdr h;
	w->s->last_rx = cli_now_ms();
	if (smpfota_smp_hdr_decode(frame, len, &h) < 0) {
		w->s->malformed++;
		return;
	}
	/* Late answers to an earlier attempt of another request are ignored. */
	if (w->done || h.seq != w->seq || h.group != w->group || h.id != w->id ||
	    (h.op != SMPFOTA_SMP_OP_READ_RSP && h.op != SMPFOTA_SMP_OP_WRITE_RSP)) {
		return;
	}
	size_t n = len - SMPFOTA_SMP_HDR_SIZE;
	if (n > w->cap) {
		w->s->malformed++;
		return;
	}
	memcpy(w->rsp, frame + SMPFOTA_SMP_HDR_SIZE, n);
	w->len = n;
	w->done = true;
}

int cli_raw_request(struct cli *s, uint8_t op, uint16_t group, uint8_t id, const uint8_t *payload,
		    size_t len, uint8_t *rsp, size_t cap, size_t *rsp_len)
{
	static uint8_t frame[HOST_FRAME_MAX];
	if (len + SMPFOTA_SMP_HDR_SIZE > s->link->mtu) {
		return SMPFOTA_ERR_NOSPC;
	}
	/* Sequence numbers from the engine's counter: answers to the engine's own requests and
	 * to ours cannot be mistaken for each other. */
	uint8_t seq = s->c.seq++;
	struct smpfota_smp_hdr h = {.version = SMPFOTA_SMP_V2,
				    .op = op,
				    .len = (uint16_t)len,
				    .group = group,
				    .seq = seq,
				    .id = id};
	smpfota_smp_hdr_encode(&h, frame);
	memcpy(frame + SMPFOTA_SMP_HDR_SIZE, payload, len);
	struct raw_wait w = {s, seq, group, id, rsp, cap, 0, false};
	s->has_status = false;
	for (int attempt = 0; attempt <= RETRIES && !w.done; attempt++) {
		int rc = host_link_send(s->link, frame, len + SMPFOTA_SMP_HDR_SIZE);
		if (rc < 0 && s->link->kind == SMPFOTA_CONN_SERIAL) {
			return SMPFOTA_ERR_IO;
		}
		uint32_t sent = cli_now_ms();
		while (!w.done && cli_now_ms() - sent < s->timeout_ms) {
			if (interrupted) {
				return report_interrupt(s);
			}
			uint32_t left = s->timeout_ms - (cli_now_ms() - sent);
			struct pollfd p = {.fd = host_link_fd(s->link), .events = POLLIN};
			int n = poll(&p, 1, (int)(left < PROBE_MS ? left : PROBE_MS));
			if (n < 0 && errno != EINTR) {
				s->link->sys_errno = errno;
				return SMPFOTA_ERR_IO;
			}
			if (n > 0) {
				rc = host_link_receive(s->link, on_raw_frame, &w);
				if (rc < 0 && !w.done) {
					return rc;
				}
			}
			if (!w.done && refused_for_good(s, cli_now_ms())) {
				s->link->sys_errno = ECONNREFUSED;
				return SMPFOTA_ERR_IO;
			}
		}
	}
	if (!w.done) {
		return SMPFOTA_ERR_TIMEDOUT;
	}
	*rsp_len = w.len;
	/* The status, kept as the engine's rejections are (cli_fail() describes it). */
	struct smpfota_smp_status st;
	memset(&st, 0, sizeof(st));
	const uint8_t *rsn;
	size_t rsn_len;
	uint16_t eg;
	cbor_status(rsp, w.len, &st.rc, &st.has_err, &eg, &st.err.rc, &rsn, &rsn_len);
	st.err.group = eg;
	st.rsn.ptr = (const char *)rsn;
	st.rsn.len = rsn_len;
	if (!smpfota_smp_status_ok(&st)) {
		cli_save_status(s, &st);
		return SMPFOTA_ERR_REJECTED;
	}
	return 0;
}

int smpfota_cli_client(const struct smpfota_cli_opts *o, int argc, char **argv)
{
	static struct cli s;
	memset(&s, 0, sizeof(s));
	s.o = *o;
	s.what = argv[0];
	s.link = &link_state;
	s.timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;

	int rc = cli_check_command(o, argc, argv);
	if (rc != 0) {
		return rc;
	}
	rc = smpfota_cli_key_load(o, argv[0], &s.key);
	if (rc != 0) {
		return rc;
	}
	const char *uri_text = o->conn ? o->conn : DEFAULT_CONN;
	struct smpfota_conn_uri uri;
	rc = smpfota_conn_uri_parse(uri_text, &uri);
	if (rc != 0) {
		char msg[400];
		snprintf(msg, sizeof(msg),
			 "bad connection '%s'%s: %s (expected udp:HOST[:PORT] or "
			 "serial:DEVICE[,baud=N])",
			 uri_text, o->conn_from_env ? " (from $SMPFOTA_CONN)" : "",
			 smpfota_strerror(rc));
		return smpfota_cli_usage_error(o->json, argv[0], msg);
	}
	char err[512];
	rc = host_link_open(s.link, &uri, err, sizeof(err));
	if (rc != 0) {
		return cli_fail_msg(&s, smpfota_errname(rc), NULL, 1, "%s", err);
	}
	if (s.key.on && s.link->kind == SMPFOTA_CONN_SERIAL) {
		s.link->rx.raw = true; /* the secure channel's frames are not SMP frames */
	}
	/* A fresh random-ish first sequence number: answers still in flight to an earlier run
	 * (a killed upload on the same serial line) cannot match our requests. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint8_t seq = (uint8_t)((unsigned)ts.tv_nsec ^ (unsigned)getpid() * 97U);
	rc = cli_client_init(&s, s.link->mtu, seq);
	if (rc != 0) {
		host_link_close(s.link);
		return cli_fail_msg(&s, smpfota_errname(rc), NULL, 1, "client setup failed: %s",
				    smpfota_strerror(rc));
	}
	/* No SA_RESTART: poll() returns at once, and the loop reports where it stopped. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	rc = cli_dispatch(&s, argc, argv);
	host_link_close(s.link);
	smpfota_cli_key_free(&s.key);
	free(s.file.data);
	return rc;
}
