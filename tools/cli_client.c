/*
 * The commands of the smpfota CLI that talk to a target: image list/upload/test/confirm/
 * erase, reset, echo, params, info and the one-call update, over UDP or SMP serial.
 *
 * One host event loop drives the client engine (client.h) or the update workflow (update.h):
 * poll() on the socket or tty until the engine's next deadline, feed every frame that arrived
 * to smpfota_client_input(), then let the engine act on the time (smpfota_*_poll). Output is
 * written from the engine's callbacks, while the decoded response is valid.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "posix/host_transport.h"
#include "json.h"
#include "smpfota/client.h"
#include "posix/conn_uri.h"
#include "smpfota/smp.h"
#include "smpfota/update.h"

#define DEFAULT_CONN "udp:127.0.0.1"
#define DEFAULT_TIMEOUT_MS 3000U
/* Every request is sent at most 1 + RETRIES times: a lost UDP datagram or a garbled serial
 * line costs one timeout, not the command. */
#define RETRIES 2
/* smpfota_client_init() refuses smaller frames (and no upload fits one). */
#define CLIENT_MIN_FRAME 64U
/* A guard against an engine that has nothing pending yet never completed. */
#define STALL_MS 5000U
/* Terminal progress bar refresh period. */
#define BAR_PERIOD_MS 100U

/* Frame memory of the engine: one buffer per request in flight plus one for upload data,
 * each large enough for the largest serial frame (a server with 64 KiB buffers). */
static uint8_t frame_mem[(SMPFOTA_CLIENT_MAX_INFLIGHT + 1) * (size_t)HOST_FRAME_MAX];
static struct host_link link_state;

struct image_file {
	const char *path;
	uint8_t *data;
	uint32_t size;
};

struct cli {
	struct smpfota_cli_opts o;
	const char *what;           /* command, for messages: "image list" */
	struct host_link *link;
	struct smpfota_client c;
	uint32_t timeout_ms;

	/* completion of the current request, upload or update */
	bool done;
	int err;
	bool has_status;
	struct smpfota_smp_status st;
	char rsn[160];              /* st.rsn copied: the response buffer is gone by then */
	const char *step;           /* update: the step that failed */
	uint32_t malformed;         /* frames the engine refused as not SMP */
	bool reported;              /* the error line is already out */

	/* how the current command prints a successful response */
	void (*on_ok)(struct cli *s, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp);

	/* os params */
	bool params_known;
	uint32_t buf_size, buf_count;

	/* upload / update */
	struct image_file file;
	struct smpfota_image_info info;
	FILE *progress_out;         /* stdout, or stderr with --json */
	bool bar;                   /* a terminal: redraw one bar line */
	bool bar_drawn;
	int last_decile;
	uint32_t last_bar;
	bool have_progress;
	uint32_t first_done;        /* the server's offset at the first report (resume point) */
	struct smpfota_upload_progress last;
	bool match;
	uint32_t up_start, up_end;
	uint64_t tx_bytes_start;
	uint32_t tx_frames_start;
	bool up_summarised;
};

static uint32_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* truncation is fine: the engine takes a wrapping millisecond clock */
	return (uint32_t)((uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U);
}

void smpfota_cli_client_usage(FILE *f)
{
	fprintf(f,
		"  image list                 images in the target's slots (as mcumgr shows them)\n"
		"  image upload FILE [--image N] [--window N] [--chunk N] [--upgrade]\n"
		"                             [--first-timeout S]\n"
		"                             upload an MCUboot image to the secondary slot; resumes\n"
		"                             an interrupted upload of the same file\n"
		"  image test HASH            boot the image with this hash once (64 hex digits)\n"
		"  image confirm [HASH]       confirm the running image, or make HASH permanent\n"
		"  image erase [--slot N]     erase a slot (default: the secondary, 1)\n"
		"  reset [--force]            reset the target\n"
		"  echo TEXT                  the target echoes TEXT\n"
		"  params                     the target's SMP buffer size and count\n"
		"  info [FORMAT]              OS/application info (letters snrvbmpio, a = all)\n"
		"  update FILE [--image N] [--no-confirm] [--force] [--upgrade] [--window N]\n"
		"              [--chunk N]    check, upload, test, reset, verify, confirm in one go\n");
}

bool smpfota_cli_is_client_command(int argc, char **argv)
{
	static const char *const cmds[] = {"image", "reset", "echo", "params", "info", "update"};
	if (argc < 1) {
		return false;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[0], cmds[i])) {
			return true;
		}
	}
	return false;
}

/* ---- errors ------------------------------------------------------------------------------ */

static const char *group_name(uint16_t group)
{
	return group == SMPFOTA_SMP_GROUP_OS ? "os" : group == SMPFOTA_SMP_GROUP_IMAGE ? "image" : NULL;
}

static void save_status(struct cli *s, const struct smpfota_smp_status *st)
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

/* "HASH_NOT_FOUND (image group error 8)", "EINVAL (rc 3): header malformed" */
static void describe_status(const struct smpfota_smp_status *st, char *buf, size_t size)
{
	int n;
	if (st->has_err && st->err.rc != 0) {
		const char *name = smpfota_mgmt_err_name(st->err.group, st->err.rc, true);
		const char *g = group_name(st->err.group);
		if (g) {
			n = snprintf(buf, size, "%s (%s group error %" PRId32 ")", name ? name : "unknown",
				     g, st->err.rc);
		} else {
			n = snprintf(buf, size, "%s (group %u error %" PRId32 ")", name ? name : "unknown",
				     (unsigned)st->err.group, st->err.rc);
		}
	} else {
		const char *name = smpfota_mgmt_err_name(0, st->rc, false);
		n = snprintf(buf, size, "%s (rc %" PRId32 ")", name ? name : "unknown", st->rc);
	}
	if (n > 0 && (size_t)n < size && st->rsn.len) {
		snprintf(buf + n, size - (size_t)n, ": %.*s", (int)st->rsn.len, st->rsn.ptr);
	}
}

static void end_bar(struct cli *s)
{
	if (s->bar_drawn) {
		fputc('\n', s->progress_out);
		fflush(s->progress_out);
		s->bar_drawn = false;
	}
}

/* One line on stderr naming the error; returns the exit status 1. */
static int fail(struct cli *s, int err)
{
	char detail[512] = "";
	end_bar(s);
	if (s->reported) {
		return 1;
	}
	if (err == SMPFOTA_ERR_REJECTED && s->has_status) {
		describe_status(&s->st, detail, sizeof(detail));
	} else if (err == SMPFOTA_ERR_TIMEDOUT || err == SMPFOTA_ERR_IO) {
		char diag[400];
		host_link_diagnosis(s->link, diag, sizeof(diag));
		if (err == SMPFOTA_ERR_IO && s->link->sys_errno) {
			snprintf(detail, sizeof(detail), "%s: %s", s->link->name,
				 strerror(s->link->sys_errno));
		} else if (err == SMPFOTA_ERR_IO) {
			snprintf(detail, sizeof(detail), "%s: connection closed", s->link->name);
		} else if (s->malformed) {
			snprintf(detail, sizeof(detail), "%u malformed responses ignored; %s",
				 (unsigned)s->malformed, diag);
		} else {
			snprintf(detail, sizeof(detail), "%s", diag);
		}
	} else if (err == SMPFOTA_ERR_NOSPC) {
		snprintf(detail, sizeof(detail), "the request does not fit one %u-byte frame of %s",
			 (unsigned)s->link->mtu, s->link->name);
	} else if (err == SMPFOTA_ERR_DOWNGRADE) {
		snprintf(detail, sizeof(detail), "use --force to install it anyway");
	}
	fprintf(stderr, "smpfota: %s%s%s: %s (%s)%s%s\n", s->what, s->step ? ": " : "",
		s->step ? s->step : "", smpfota_strerror(err), smpfota_errname(err),
		detail[0] ? ": " : "", detail);
	return 1;
}

static int usage_error(const char *what, const char *msg)
{
	fprintf(stderr, "smpfota: %s: %s (see smpfota --help)\n", what, msg);
	return 2;
}

/* ---- event loop ---------------------------------------------------------------------------- */

static void on_frame(void *user, const uint8_t *frame, size_t len)
{
	struct cli *s = user;
	if (smpfota_client_input(&s->c, frame, len, now_ms()) == SMPFOTA_ERR_PROTO) {
		s->malformed++;
	}
}

/* Run until the current request, upload or update completes (s->done). Returns s->err. */
static int run(struct cli *s, struct smpfota_update *u)
{
	bool idle = false;
	uint32_t idle_since = 0;
	while (!s->done) {
		uint32_t now = now_ms();
		int32_t wait = u ? smpfota_update_next_deadline(u, now)
				 : smpfota_client_next_deadline(&s->c, now);
		if (wait < 0) {
			/* Nothing pending, yet no completion: the engine would wait forever. */
			if (!idle) {
				idle = true;
				idle_since = now;
			} else if (now - idle_since > STALL_MS) {
				end_bar(s);
				fprintf(stderr, "smpfota: %s: internal error: the client engine stopped "
					"without completing\n", s->what);
				s->err = SMPFOTA_ERR_INVAL;
				s->reported = true;
				return s->err;
			}
			wait = 100;
		} else {
			idle = false;
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
		now = now_ms();
		if (u) {
			smpfota_update_poll(u, now);
		} else {
			smpfota_client_poll(&s->c, now);
		}
	}
	return s->err;
}

static int client_init(struct cli *s, uint16_t mtu, uint8_t seq)
{
	struct smpfota_client_config cfg = {
		.tx = {.send = host_link_send, .ctx = s->link, .mtu = mtu},
		.buf = frame_mem,
		.buf_size = sizeof(frame_mem),
		.frame_cap = mtu,
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
		save_status(s, &rsp->status);
		s->err = SMPFOTA_ERR_REJECTED;
		return;
	}
	if (s->on_ok) {
		s->on_ok(s, msg, rsp);
	}
}

/* Send one request and wait for its answer. Returns 0 or an smpfota error. */
static int request(struct cli *s, enum smpfota_smp_msg msg, const void *req)
{
	s->done = false;
	s->err = 0;
	s->has_status = false;
	int rc = smpfota_client_send(&s->c, msg, req, 0, on_rsp, s, now_ms());
	if (rc != 0) {
		return rc;
	}
	return run(s, NULL);
}

/* ---- output of the simple commands ------------------------------------------------------- */

static void print_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%02x", p[i]);
	}
}

static void print_images(struct cli *s, const struct smpfota_img_state_rsp *r)
{
	if (r->images_truncated) {
		fprintf(stderr, "smpfota: %s: the target listed more than %d images; showing the "
			"first %d\n", s->what, SMPFOTA_SMP_MAX_IMAGES, SMPFOTA_SMP_MAX_IMAGES);
	}
	if (s->o.json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "images");
		json_begin_array(&w);
		for (size_t i = 0; i < r->images_count; i++) {
			const struct smpfota_img_slot_state *e = &r->images[i];
			json_begin_object(&w);
			json_key(&w, "image");
			json_uint(&w, e->has_image ? e->image : 0);
			json_key(&w, "slot");
			json_uint(&w, e->slot);
			json_key(&w, "version");
			json_string_n(&w, e->version.ptr, e->version.len);
			json_key(&w, "hash");
			if (e->has_hash) {
				json_hex(&w, e->hash.ptr, e->hash.len);
			} else {
				json_null(&w);
			}
			json_key(&w, "bootable");
			json_bool(&w, e->bootable);
			json_key(&w, "pending");
			json_bool(&w, e->pending);
			json_key(&w, "confirmed");
			json_bool(&w, e->confirmed);
			json_key(&w, "active");
			json_bool(&w, e->active);
			json_key(&w, "permanent");
			json_bool(&w, e->permanent);
			json_end_object(&w);
		}
		json_end_array(&w);
		if (r->has_split_status) {
			json_key(&w, "splitStatus");
			json_int(&w, r->split_status);
		}
		json_end_object(&w);
		json_finish(&w);
		return;
	}
	/* The layout of mcumgr's `image list`, which scripts and eyes are used to. */
	printf("Images:\n");
	for (size_t i = 0; i < r->images_count; i++) {
		const struct smpfota_img_slot_state *e = &r->images[i];
		printf(" image=%" PRIu32 " slot=%" PRIu32 "\n", e->has_image ? e->image : 0, e->slot);
		printf("    version: %.*s\n", (int)e->version.len, e->version.ptr);
		printf("    bootable: %s\n", e->bootable ? "true" : "false");
		printf("    flags:");
		const char *names[] = {"active", "confirmed", "pending", "permanent"};
		const bool on[] = {e->active, e->confirmed, e->pending, e->permanent};
		for (size_t k = 0; k < 4; k++) {
			if (on[k]) {
				printf(" %s", names[k]);
			}
		}
		printf("\n    hash: ");
		if (e->has_hash) {
			print_hex(stdout, e->hash.ptr, e->hash.len);
		} else {
			printf("Unavailable");
		}
		printf("\n");
	}
	int32_t split = r->has_split_status ? r->split_status : 0;
	printf("Split status: %s (%" PRId32 ")\n", split == 0 ? "N/A" : split == 1 ? "matching"
						  : split == 2 ? "not matching" : "unknown", split);
}

static void json_one(const char *key, const char *str, size_t len)
{
	struct json_writer w;
	json_init(&w, stdout, 2);
	json_begin_object(&w);
	if (key) {
		json_key(&w, key);
		json_string_n(&w, str, len);
	}
	json_end_object(&w);
	json_finish(&w);
}

static void on_ok_print(struct cli *s, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	switch (msg) {
	case SMPFOTA_MSG_IMG_STATE_READ:
	case SMPFOTA_MSG_IMG_STATE_WRITE:
		print_images(s, &rsp->state);
		break;
	case SMPFOTA_MSG_OS_ECHO:
		if (s->o.json) {
			json_one("r", rsp->echo.r.ptr, rsp->echo.r.len);
		} else {
			printf("%.*s\n", (int)rsp->echo.r.len, rsp->echo.r.ptr);
		}
		break;
	case SMPFOTA_MSG_OS_INFO:
		if (s->o.json) {
			json_one("output", rsp->info.output.ptr, rsp->info.output.len);
		} else {
			printf("%.*s\n", (int)rsp->info.output.len, rsp->info.output.ptr);
		}
		break;
	case SMPFOTA_MSG_OS_PARAMS:
		s->params_known = true;
		s->buf_size = rsp->params.buf_size;
		s->buf_count = rsp->params.buf_count;
		break;
	default:
		if (s->o.json) {
			json_one(NULL, NULL, 0);
		} else {
			printf("Done\n");
		}
		break;
	}
}

static void print_params(struct cli *s)
{
	if (s->o.json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "buf_size");
		json_uint(&w, s->buf_size);
		json_key(&w, "buf_count");
		json_uint(&w, s->buf_count);
		json_end_object(&w);
		json_finish(&w);
	} else {
		printf("buf_size: %" PRIu32 "\nbuf_count: %" PRIu32 "\n", s->buf_size, s->buf_count);
	}
}

/* ---- argument helpers ---------------------------------------------------------------------- */

static bool parse_uint(const char *text, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 0);
	if (text[0] == '\0' || text[0] == '-' || *end != '\0' || errno || v > max) {
		return false;
	}
	*out = v;
	return true;
}

static bool parse_seconds(const char *text, uint32_t *ms)
{
	char *end;
	double v = strtod(text, &end);
	if (end == text || *end != '\0' || !(v >= 0.001 && v <= 86400.0)) {
		return false;
	}
	*ms = (uint32_t)(v * 1000.0 + 0.5);
	return true;
}

static bool parse_hash(const char *text, uint8_t out[32])
{
	if (strlen(text) != 64) {
		return false;
	}
	for (size_t i = 0; i < 32; i++) {
		unsigned v = 0;
		for (size_t k = 0; k < 2; k++) {
			char ch = text[2 * i + k];
			unsigned d;
			if (ch >= '0' && ch <= '9') {
				d = (unsigned)(ch - '0');
			} else if (ch >= 'a' && ch <= 'f') {
				d = (unsigned)(ch - 'a' + 10);
			} else if (ch >= 'A' && ch <= 'F') {
				d = (unsigned)(ch - 'A' + 10);
			} else {
				return false;
			}
			v = v * 16 + d;
		}
		out[i] = (uint8_t)v;
	}
	return true;
}

/* ---- image files ---------------------------------------------------------------------------- */

static int file_read(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
	const struct image_file *f = ctx;
	if (off > f->size || len > f->size - off) {
		return SMPFOTA_ERR_IO;
	}
	memcpy(buf, f->data + off, len);
	return 0;
}

/* Load FILE, check it as MCUboot would (magic, TLVs, SHA-256) and take its file SHA-256 for
 * the upload session. Returns 0 or prints the error and returns 1. */
static int load_image(struct cli *s, const char *path, struct smpfota_upload_source *src)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "smpfota: %s: %s: %s\n", s->what, path, strerror(errno));
		return 1;
	}
	long size = -1;
	if (fseek(f, 0, SEEK_END) == 0) {
		size = ftell(f);
	}
	if (size < 0 || size > (long)UINT32_MAX - 1 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "smpfota: %s: %s: cannot read its size\n", s->what, path);
		fclose(f);
		return 1;
	}
	s->file.path = path;
	s->file.size = (uint32_t)size;
	s->file.data = malloc(size ? (size_t)size : 1);
	if (s->file.data == NULL || fread(s->file.data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "smpfota: %s: %s: %s\n", s->what, path,
			s->file.data ? "read failed" : "out of memory");
		fclose(f);
		return 1;
	}
	fclose(f);
	memset(src, 0, sizeof(*src));
	src->read = file_read;
	src->ctx = &s->file;
	src->size = s->file.size;
	int rc = smpfota_update_check_image(src, &s->info);
	if (rc != 0) {
		fprintf(stderr, "smpfota: %s: %s: %s (%s)\n", s->what, path, smpfota_strerror(rc),
			smpfota_errname(rc));
		return 1;
	}
	return 0;
}

/* os params, and on serial the frame size it allows: the server's buffer also holds the
 * 2-byte length and 2-byte CRC of the console framing (shared/spec/smp.md §2.4). A server
 * without the command keeps the conservative defaults. */
static int learn_params(struct cli *s)
{
	struct smpfota_os_params_req req = {0};
	void (*saved)(struct cli *, enum smpfota_smp_msg, const union smpfota_smp_rsp *) = s->on_ok;
	s->on_ok = on_ok_print;
	int rc = request(s, SMPFOTA_MSG_OS_PARAMS, &req);
	s->on_ok = saved;
	if (rc == SMPFOTA_ERR_REJECTED) {
		s->params_known = false;
		s->buf_size = s->buf_count = 0;
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	if (s->link->kind == SMPFOTA_CONN_SERIAL && s->params_known) {
		uint32_t mtu = s->buf_size > 4 ? s->buf_size - 4 : 0;
		if (mtu < CLIENT_MIN_FRAME) {
			end_bar(s);
			fprintf(stderr, "smpfota: %s: the target's buf_size %" PRIu32 " leaves %" PRIu32
				" bytes per serial frame; at least %u are needed (NOSPC)\n", s->what,
				s->buf_size, mtu, CLIENT_MIN_FRAME);
			s->reported = true;
			return SMPFOTA_ERR_NOSPC;
		}
		s->link->mtu = (uint16_t)(mtu < HOST_FRAME_MAX ? mtu : HOST_FRAME_MAX);
		rc = client_init(s, s->link->mtu, s->c.seq);
	}
	return rc;
}

/* ---- progress --------------------------------------------------------------------------- */

static void fmt_eta(uint32_t ms, char *buf, size_t size)
{
	uint32_t sec = (ms + 999) / 1000;
	if (sec >= 3600) {
		snprintf(buf, size, "%" PRIu32 ":%02" PRIu32 ":%02" PRIu32, sec / 3600, sec / 60 % 60,
			 sec % 60);
	} else {
		snprintf(buf, size, "%" PRIu32 ":%02" PRIu32, sec / 60, sec % 60);
	}
}

static struct smpfota_update update_state;

static void on_progress(void *user, const struct smpfota_upload_progress *p)
{
	struct cli *s = user;
	uint32_t now = now_ms();
	if (!s->have_progress) {
		s->first_done = p->done;
	}
	uint32_t prev_done = s->have_progress ? s->last.done : 0;
	s->have_progress = true;
	s->last = *p;
	uint32_t total = p->total ? p->total : 1;
	unsigned pct = (unsigned)((uint64_t)p->done * 100U / total);
	char eta[32];
	fmt_eta(p->eta_ms, eta, sizeof(eta));
	if (s->bar) {
		if (p->done != p->total && s->bar_drawn && now - s->last_bar < BAR_PERIOD_MS) {
			return;
		}
		s->last_bar = now;
		enum { WIDTH = 30 };
		char bar[WIDTH + 1];
		size_t fill = (size_t)((uint64_t)p->done * WIDTH / total);
		for (size_t i = 0; i < WIDTH; i++) {
			bar[i] = i < fill ? '#' : '.';
		}
		bar[WIDTH] = '\0';
		fprintf(s->progress_out, "\r%3u%% [%s] %7.1f/%.1f kB %7.1f kB/s  ETA %s  w%u\033[K",
			pct, bar, p->done / 1000.0, p->total / 1000.0, p->rate_Bps / 1000.0, eta,
			(unsigned)p->window);
		fflush(s->progress_out);
		s->bar_drawn = true;
		return;
	}
	/* Not a terminal (a log, a pipe): one line per 10 %, so a log stays readable. */
	int decile = (int)(pct / 10);
	if (p->done < prev_done) {
		/* The target lost or dropped the session (it restarted): say so once, and
		 * count the deciles again from there. */
		fprintf(s->progress_out, "upload: the target continues from %" PRIu32 " bytes (%u%%)\n",
			p->done, pct);
		fflush(s->progress_out);
		s->last_decile = decile;
		return;
	}
	if (decile <= s->last_decile) {
		return;
	}
	s->last_decile = decile;
	fprintf(s->progress_out, "upload: %3u%% %" PRIu32 "/%" PRIu32 " bytes, %.1f kB/s, ETA %s\n",
		pct, p->done, p->total, p->rate_Bps / 1000.0, eta);
	fflush(s->progress_out);
}

static void progress_begin(struct cli *s)
{
	s->progress_out = s->o.json ? stderr : stdout;
	s->bar = isatty(fileno(s->progress_out)) == 1;
	s->bar_drawn = false;
	s->last_decile = -1;
	s->have_progress = false;
	s->first_done = 0;
	memset(&s->last, 0, sizeof(s->last));
	s->up_start = now_ms();
	s->up_end = 0;
	s->tx_bytes_start = s->link->stats.tx_bytes;
	s->tx_frames_start = s->link->stats.tx_frames;
	s->up_summarised = false;
}

/* The upload's figures as one line or as members of the current JSON object. */
static void upload_summary(struct cli *s, struct json_writer *w, bool with_match)
{
	uint32_t ms = (s->up_end ? s->up_end : now_ms()) - s->up_start;
	double sec = ms / 1000.0;
	double kBps = sec > 0 ? s->file.size / 1000.0 / sec : 0;
	uint64_t sent = s->link->stats.tx_bytes - s->tx_bytes_start;
	uint32_t frames = s->link->stats.tx_frames - s->tx_frames_start;
	if (w) {
		json_key(w, "file");
		json_string(w, s->file.path);
		json_key(w, "bytes");
		json_uint(w, s->file.size);
		json_key(w, "ms");
		json_uint(w, ms);
		json_key(w, "kBps");
		json_uint(w, (unsigned long long)(kBps + 0.5));
		json_key(w, "window");
		json_uint(w, s->last.window);
		json_key(w, "chunk");
		json_uint(w, s->last.chunk);
		json_key(w, "retransmits");
		json_uint(w, s->last.retransmits);
		json_key(w, "rewinds");
		json_uint(w, s->last.rewinds);
		json_key(w, "skips");
		json_uint(w, s->last.skips);
		json_key(w, "resumed_at");
		json_uint(w, s->first_done);
		json_key(w, "sent_bytes");
		json_uint(w, sent);
		json_key(w, "sent_frames");
		json_uint(w, frames);
		if (with_match) {
			json_key(w, "match");
			json_bool(w, s->match);
		}
		return;
	}
	end_bar(s);
	fprintf(s->progress_out,
		"upload: %" PRIu32 " bytes in %.2f s, %.1f kB/s, window %u, chunk %u, %" PRIu32
		" retransmits, %" PRIu32 " rewinds (sent %" PRIu64 " bytes in %" PRIu32 " frames)\n",
		s->file.size, sec, kBps, (unsigned)s->last.window, (unsigned)s->last.chunk,
		s->last.retransmits, s->last.rewinds, sent, frames);
	if (with_match && !s->match) {
		fprintf(s->progress_out, "upload: note: the target did not confirm the SHA-256 of the "
			"upload (no image check, or a truncated sha in a small buffer)\n");
	}
	fflush(s->progress_out);
}

/* ---- image upload --------------------------------------------------------------------------- */

static void on_upload_done(void *user, int err, const struct smpfota_smp_status *st, bool match)
{
	struct cli *s = user;
	s->done = true;
	s->err = err;
	s->match = match;
	s->up_end = now_ms();
	if (err == SMPFOTA_ERR_REJECTED && st) {
		save_status(s, st);
	}
}

enum {
	OPT_IMAGE = 256, OPT_WINDOW, OPT_CHUNK, OPT_UPGRADE, OPT_FIRST_TIMEOUT, OPT_SLOT,
	OPT_FORCE, OPT_NO_CONFIRM, OPT_JSON,
};

/* Options shared by upload and update. Returns 0, or 2 after a usage message. */
static int upload_opt(struct cli *s, int c, struct smpfota_upload_params *prm)
{
	unsigned long v;
	switch (c) {
	case OPT_IMAGE:
		if (!parse_uint(optarg, 255, &v)) {
			return usage_error(s->what, "--image: 0 (app core) or 1 (network core)");
		}
		prm->image = (uint8_t)v;
		return 0;
	case OPT_WINDOW:
		if (!parse_uint(optarg, SMPFOTA_CLIENT_MAX_INFLIGHT, &v) || v == 0) {
			return usage_error(s->what, "--window: 1..8 requests in flight");
		}
		prm->window = (uint8_t)v;
		return 0;
	case OPT_CHUNK:
		if (!parse_uint(optarg, 65535, &v) || v == 0) {
			return usage_error(s->what, "--chunk: data bytes per request, 1..65535");
		}
		prm->chunk = (uint16_t)v;
		return 0;
	case OPT_UPGRADE:
		prm->upgrade = true;
		return 0;
	case OPT_FIRST_TIMEOUT:
		if (!parse_seconds(optarg, &prm->first_timeout_ms)) {
			return usage_error(s->what, "--first-timeout: seconds");
		}
		return 0;
	case OPT_JSON:
		s->o.json = true;
		return 0;
	default:
		return usage_error(s->what, "unknown option");
	}
}

/* Losses without progress before an upload gives up: a person at a CLI would rather wait
 * a little longer on a bad link than the engine's default (10) lets a device wait. */
#define CLI_MAX_FAILURES 12

static int cmd_upload(struct cli *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{"image", required_argument, 0, OPT_IMAGE},
		{"window", required_argument, 0, OPT_WINDOW},
		{"chunk", required_argument, 0, OPT_CHUNK},
		{"upgrade", no_argument, 0, OPT_UPGRADE},
		{"first-timeout", required_argument, 0, OPT_FIRST_TIMEOUT},
		{"json", no_argument, 0, OPT_JSON},
		{0, 0, 0, 0},
	};
	struct smpfota_upload_params prm = {.max_failures = CLI_MAX_FAILURES};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int rc = upload_opt(s, c, &prm);
		if (rc) {
			return rc;
		}
	}
	if (optind != argc - 1) {
		return usage_error(s->what, "expected one FILE");
	}
	struct smpfota_upload_source src;
	if (load_image(s, argv[optind], &src) != 0) {
		return 1;
	}
	int rc = learn_params(s);
	if (rc != 0) {
		return fail(s, rc);
	}
	prm.buf_size = s->buf_size;
	prm.buf_count = s->buf_count;
	progress_begin(s);
	s->done = false;
	s->err = 0;
	s->has_status = false;
	rc = smpfota_client_upload(&s->c, &src, &prm, on_progress, on_upload_done, s, now_ms());
	if (rc == 0) {
		rc = run(s, NULL);
	}
	if (rc != 0) {
		return fail(s, rc);
	}
	if (s->o.json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		upload_summary(s, &w, true);
		json_end_object(&w);
		json_finish(&w);
	} else {
		upload_summary(s, NULL, true);
	}
	return 0;
}

/* ---- update ----------------------------------------------------------------------------- */

static void on_step(void *user, enum smpfota_update_step step)
{
	struct cli *s = user;
	if (step > SMPFOTA_UPDATE_UPLOAD && s->have_progress && !s->up_summarised) {
		s->up_end = now_ms();
		s->up_summarised = true;
		if (!s->o.json) {
			upload_summary(s, NULL, false);
		}
	}
	if (step == SMPFOTA_UPDATE_UPLOAD) {
		progress_begin(s);
	}
	if (step != SMPFOTA_UPDATE_DONE) {
		end_bar(s);
		fprintf(s->o.json ? stderr : stdout, "update: %s\n", smpfota_update_step_name(step));
		fflush(s->o.json ? stderr : stdout);
	}
}

static void on_update_done(void *user, int err, enum smpfota_update_step step,
			   const struct smpfota_smp_status *st)
{
	struct cli *s = user;
	s->done = true;
	s->err = err;
	if (err != 0) {
		s->step = smpfota_update_step_name(step);
		if (err == SMPFOTA_ERR_REJECTED && st) {
			save_status(s, st);
		}
	}
}

static int cmd_update(struct cli *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{"image", required_argument, 0, OPT_IMAGE},
		{"window", required_argument, 0, OPT_WINDOW},
		{"chunk", required_argument, 0, OPT_CHUNK},
		{"upgrade", no_argument, 0, OPT_UPGRADE},
		{"no-confirm", no_argument, 0, OPT_NO_CONFIRM},
		{"force", no_argument, 0, OPT_FORCE},
		{"json", no_argument, 0, OPT_JSON},
		{0, 0, 0, 0},
	};
	struct smpfota_upload_params up = {.max_failures = CLI_MAX_FAILURES};
	struct smpfota_update_params prm = {0};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_NO_CONFIRM) {
			prm.no_confirm = true;
		} else if (c == OPT_FORCE) {
			prm.force = true;
		} else {
			int rc = upload_opt(s, c, &up);
			if (rc) {
				return rc;
			}
		}
	}
	if (optind != argc - 1) {
		return usage_error(s->what, "expected one FILE");
	}
	prm.image = up.image;
	prm.window = up.window;
	prm.chunk = up.chunk;
	prm.upgrade = up.upgrade;
	prm.first_timeout_ms = up.first_timeout_ms;
	prm.max_failures = up.max_failures;
	struct smpfota_upload_source src;
	if (load_image(s, argv[optind], &src) != 0) {
		return 1;
	}
	/* The workflow reads params itself; here they only size serial frames (see above). */
	int rc = learn_params(s);
	if (rc != 0) {
		return fail(s, rc);
	}
	struct smpfota_update *const u = &update_state;
	uint32_t t0 = now_ms();
	s->done = false;
	s->err = 0;
	s->has_status = false;
	progress_begin(s);
	rc = smpfota_update_start(u, &s->c, &src, &s->info, &prm, on_step, on_progress,
				  on_update_done, s, now_ms());
	if (rc == 0) {
		rc = run(s, u);
	}
	if (rc != 0) {
		return fail(s, rc);
	}
	/* imgtool's form, "+build" only when there is one: "2.3.4+5", "1.0.0" */
	const struct smpfota_image_version *v = &s->info.hdr.version;
	char ver[SMPFOTA_IMAGE_VERSION_STR_MAX];
	int vn = snprintf(ver, sizeof(ver), "%u.%u.%u", (unsigned)v->major, (unsigned)v->minor,
			  (unsigned)v->revision);
	if (v->build && vn > 0 && (size_t)vn < sizeof(ver)) {
		snprintf(ver + vn, sizeof(ver) - (size_t)vn, "+%" PRIu32, v->build);
	}
	double sec = (now_ms() - t0) / 1000.0;
	if (s->o.json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "image");
		json_uint(&w, prm.image);
		json_key(&w, "version");
		json_string(&w, ver);
		json_key(&w, "hash");
		json_hex(&w, s->info.hash, sizeof(s->info.hash));
		json_key(&w, "confirmed");
		json_bool(&w, !prm.no_confirm);
		json_key(&w, "milliseconds");
		json_uint(&w, now_ms() - t0);
		json_key(&w, "upload");
		json_begin_object(&w);
		upload_summary(s, &w, false);
		json_end_object(&w);
		json_end_object(&w);
		json_finish(&w);
	} else {
		end_bar(s);
		printf("update: done in %.1f s: image %u runs %s (hash ", sec, (unsigned)prm.image, ver);
		print_hex(stdout, s->info.hash, sizeof(s->info.hash));
		printf("), %s\n", prm.no_confirm ? "in test mode: the next reset reverts it unless "
						   "it is confirmed"
						 : "confirmed");
	}
	return 0;
}

/* ---- the simple commands ------------------------------------------------------------------ */

/* Finish a simple command: the request went through run(); map its result. */
static int simple(struct cli *s, enum smpfota_smp_msg msg, const void *req)
{
	s->on_ok = on_ok_print;
	int rc = request(s, msg, req);
	return rc ? fail(s, rc) : 0;
}

/* getopt for commands whose only options are flags; returns the index of the first operand,
 * or -1 after a usage message. */
static int flags_only(struct cli *s, int argc, char **argv, const struct option *opts,
		      bool *flag, int flag_val, const char *synopsis)
{
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_JSON) {
			s->o.json = true;
		} else if (c == flag_val && flag) {
			*flag = true;
		} else {
			usage_error(s->what, synopsis);
			return -1;
		}
	}
	return optind;
}

static int cmd_image(struct cli *s, int argc, char **argv)
{
	static const struct option json_only[] = {{"json", no_argument, 0, OPT_JSON}, {0, 0, 0, 0}};
	if (argc < 2) {
		return usage_error("image", "expected a subcommand");
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	if (!strcmp(sub, "list")) {
		s->what = "image list";
		int i = flags_only(s, argc, argv, json_only, NULL, 0, "image list takes no argument");
		if (i < 0) {
			return 2;
		}
		if (i != argc) {
			return usage_error(s->what, "takes no argument");
		}
		struct smpfota_img_state_read_req req = {0};
		return simple(s, SMPFOTA_MSG_IMG_STATE_READ, &req);
	}
	if (!strcmp(sub, "upload")) {
		s->what = "image upload";
		return cmd_upload(s, argc, argv);
	}
	if (!strcmp(sub, "test") || !strcmp(sub, "confirm")) {
		bool confirm = !strcmp(sub, "confirm");
		s->what = confirm ? "image confirm" : "image test";
		int i = flags_only(s, argc, argv, json_only, NULL, 0, "unknown option");
		if (i < 0) {
			return 2;
		}
		uint8_t hash[32];
		struct smpfota_img_state_write_req req = {.confirm = confirm};
		if (argc - i > 1 || (!confirm && argc - i != 1)) {
			return usage_error(s->what, confirm ? "expected [HASH]" : "expected HASH");
		}
		if (argc - i == 1) {
			if (!parse_hash(argv[i], hash)) {
				return usage_error(s->what, "HASH must be 64 hex digits (the image hash "
							     "`image list` shows)");
			}
			req.has_hash = true;
			req.hash.ptr = hash;
			req.hash.len = sizeof(hash);
		}
		return simple(s, SMPFOTA_MSG_IMG_STATE_WRITE, &req);
	}
	if (!strcmp(sub, "erase")) {
		static const struct option opts[] = {
			{"slot", required_argument, 0, OPT_SLOT},
			{"json", no_argument, 0, OPT_JSON},
			{0, 0, 0, 0},
		};
		s->what = "image erase";
		struct smpfota_img_erase_req req = {0};
		int c;
		unsigned long v;
		optind = 0;
		while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
			if (c == OPT_JSON) {
				s->o.json = true;
			} else if (c == OPT_SLOT && parse_uint(optarg, UINT32_MAX, &v)) {
				req.has_slot = true;
				req.slot = (uint32_t)v;
			} else {
				return usage_error(s->what, "expected [--slot N]");
			}
		}
		if (optind != argc) {
			return usage_error(s->what, "expected [--slot N]");
		}
		return simple(s, SMPFOTA_MSG_IMG_ERASE, &req);
	}
	if (!strcmp(sub, "info")) {
		return usage_error("image info", "is a local command: smpfota image info FILE");
	}
	return usage_error("image", "unknown subcommand");
}

static int dispatch(struct cli *s, int argc, char **argv)
{
	static const struct option json_only[] = {{"json", no_argument, 0, OPT_JSON}, {0, 0, 0, 0}};
	const char *cmd = argv[0];
	if (!strcmp(cmd, "image")) {
		return cmd_image(s, argc, argv);
	}
	if (!strcmp(cmd, "update")) {
		s->what = "update";
		return cmd_update(s, argc, argv);
	}
	if (!strcmp(cmd, "echo")) {
		s->what = "echo";
		if (argc < 2) {
			return usage_error(s->what, "expected TEXT");
		}
		/* The words as given, joined as a shell user would expect. */
		static char text[4096];
		size_t n = 0;
		for (int i = 1; i < argc; i++) {
			size_t k = strlen(argv[i]);
			if (n + k + 1 >= sizeof(text)) {
				return usage_error(s->what, "TEXT too long");
			}
			if (i > 1) {
				text[n++] = ' ';
			}
			memcpy(text + n, argv[i], k);
			n += k;
		}
		struct smpfota_os_echo_req req = {.d = {text, n}};
		return simple(s, SMPFOTA_MSG_OS_ECHO, &req);
	}
	if (!strcmp(cmd, "reset")) {
		static const struct option opts[] = {
			{"force", no_argument, 0, OPT_FORCE},
			{"json", no_argument, 0, OPT_JSON},
			{0, 0, 0, 0},
		};
		s->what = "reset";
		bool force = false;
		int i = flags_only(s, argc, argv, opts, &force, OPT_FORCE, "expected [--force]");
		if (i < 0) {
			return 2;
		}
		if (i != argc) {
			return usage_error(s->what, "expected [--force]");
		}
		struct smpfota_os_reset_req req = {.has_force = force, .force = force};
		return simple(s, SMPFOTA_MSG_OS_RESET, &req);
	}
	if (!strcmp(cmd, "params")) {
		s->what = "params";
		int i = flags_only(s, argc, argv, json_only, NULL, 0, "takes no argument");
		if (i < 0) {
			return 2;
		}
		if (i != argc) {
			return usage_error(s->what, "takes no argument");
		}
		struct smpfota_os_params_req req = {0};
		int rc = simple(s, SMPFOTA_MSG_OS_PARAMS, &req);
		if (rc == 0) {
			print_params(s);
		}
		return rc;
	}
	if (!strcmp(cmd, "info")) {
		s->what = "info";
		int i = flags_only(s, argc, argv, json_only, NULL, 0, "expected [FORMAT]");
		if (i < 0) {
			return 2;
		}
		if (argc - i > 1) {
			return usage_error(s->what, "expected [FORMAT]");
		}
		struct smpfota_os_info_req req = {0};
		if (argc - i == 1) {
			req.has_format = true;
			req.format.ptr = argv[i];
			req.format.len = strlen(argv[i]);
		}
		return simple(s, SMPFOTA_MSG_OS_INFO, &req);
	}
	return usage_error(cmd, "unknown command");
}

int smpfota_cli_client(const struct smpfota_cli_opts *o, int argc, char **argv)
{
	static struct cli s;
	memset(&s, 0, sizeof(s));
	s.o = *o;
	s.what = argv[0];
	s.link = &link_state;
	s.timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;

	const char *uri_text = o->conn ? o->conn : DEFAULT_CONN;
	struct smpfota_conn_uri uri;
	int rc = smpfota_conn_uri_parse(uri_text, &uri);
	if (rc != 0) {
		fprintf(stderr, "smpfota: bad --conn '%s': %s (expected udp:HOST[:PORT] or "
			"serial:DEVICE[,baud=N])\n", uri_text, smpfota_strerror(rc));
		return 2;
	}
	char err[512];
	rc = host_link_open(s.link, &uri, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "smpfota: %s: %s\n", argv[0], err);
		return 1;
	}
	/* A fresh random-ish first sequence number: answers still in flight to an earlier run
	 * (a killed upload on the same serial line) cannot match our requests. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint8_t seq = (uint8_t)((unsigned)ts.tv_nsec ^ (unsigned)getpid() * 97U);
	rc = client_init(&s, s.link->mtu, seq);
	if (rc != 0) {
		fprintf(stderr, "smpfota: %s: client setup failed: %s\n", argv[0], smpfota_strerror(rc));
		host_link_close(s.link);
		return 1;
	}
	rc = dispatch(&s, argc, argv);
	host_link_close(s.link);
	free(s.file.data);
	return rc;
}
