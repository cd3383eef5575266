/*
 * smpfota --conn A --conn B ... update FILE: one host updates several targets at once with
 * the fleet scheduler (include/smpfota/fleet.h): a link and a client engine per target, every
 * upload interleaved in one poll() loop, then test/reset/confirm with a limit on how many
 * reboot at once. Per-target progress lines, and a summary table (or one JSON object).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_client.h"
#include "json.h"
#include "posix/conn_uri.h"
#include "posix/host_transport.h"
#include "smpfota/fleet.h"
#include "smpfota/smpfota.h"
#include "smpfota/update.h"

#define TIMEOUT_MS 3000U /* per attempt, as the one-target commands */
#define RETRIES 2U
#define POLL_MAX_MS 200

struct fu_target {
	const char *conn;
	struct host_link *link;
	struct smpfota_client c;
	uint8_t *buf;
	int last_decile;
};

struct fu {
	struct fu_target *t;
	unsigned n;
	FILE *out; /* progress: stdout, or stderr with --json */
	uint32_t start_ms;
};

static void on_frames(void *user, const uint8_t *p, size_t len)
{
	struct fu_target *t = user;
	/* serial packets may carry several frames back to back */
	while (len > 0) {
		struct smpfota_smp_hdr h;
		int n = smpfota_smp_hdr_decode(p, len, &h);
		if (n <= 0) {
			return;
		}
		(void)smpfota_client_input(&t->c, p, (size_t)n, cli_now_ms());
		p += n;
		len -= (size_t)n;
	}
}

static void on_target(void *user, size_t i, const struct smpfota_fleet_target *ft)
{
	struct fu *f = user;
	struct fu_target *t = &f->t[i];
	double s = (double)(uint32_t)(cli_now_ms() - f->start_ms) / 1000.0;
	if (ft->phase == SMPFOTA_FLEET_FINISHED) {
		fprintf(f->out, "[%u] %s: %s%s%s (%.1f s)\n", (unsigned)i, t->conn,
			smpfota_fleet_outcome_name(ft->outcome), ft->err ? ": " : "",
			ft->err ? smpfota_errname(ft->err) : "", s);
	} else {
		fprintf(f->out, "[%u] %s: %s (%.1f s)\n", (unsigned)i, t->conn,
			smpfota_fleet_phase_name(ft->phase), s);
	}
	fflush(f->out);
}

static void on_progress(void *user, size_t i, const struct smpfota_upload_progress *p)
{
	struct fu *f = user;
	struct fu_target *t = &f->t[i];
	int decile = p->total ? (int)((uint64_t)p->done * 10 / p->total) : 0;
	if (decile != t->last_decile) {
		t->last_decile = decile;
		fprintf(f->out, "[%u] %s: upload %3d%%  %u/%u bytes (%.1f s)\n", (unsigned)i,
			t->conn, decile * 10, p->done, p->total,
			(double)(uint32_t)(cli_now_ms() - f->start_ms) / 1000.0);
		fflush(f->out);
	}
}

static int usage(bool json, const char *msg)
{
	return smpfota_cli_usage_error(json, "update", msg);
}

static void summary(const struct smpfota_cli_opts *o, const struct fu *f,
		    const struct smpfota_fleet_target *tg, double secs)
{
	size_t updated = 0;
	for (unsigned i = 0; i < f->n; i++) {
		updated += tg[i].outcome == SMPFOTA_FLEET_UPDATED;
	}
	if (o->json) {
		struct json_writer w;
		json_init(&w, stdout, 0);
		json_begin_object(&w);
		json_key(&w, "ok");
		json_bool(&w, updated == f->n);
		json_key(&w, "updated");
		json_uint(&w, updated);
		json_key(&w, "ms");
		json_uint(&w, (unsigned long long)(secs * 1000.0 + 0.5));
		json_key(&w, "targets");
		json_begin_array(&w);
		for (unsigned i = 0; i < f->n; i++) {
			json_begin_object(&w);
			json_key(&w, "conn");
			json_string(&w, f->t[i].conn);
			json_key(&w, "outcome");
			json_string(&w, smpfota_fleet_outcome_name(tg[i].outcome));
			json_key(&w, "error");
			json_string(&w, tg[i].err ? smpfota_errname(tg[i].err) : NULL);
			json_key(&w, "step");
			json_string(&w, smpfota_update_step_name(tg[i].step));
			json_key(&w, "ms");
			json_uint(&w, (uint32_t)(tg[i].ended_ms - f->start_ms));
			json_key(&w, "sent_bytes");
			json_uint(&w, f->t[i].link->stats.tx_bytes);
			json_end_object(&w);
		}
		json_end_array(&w);
		json_end_object(&w);
		(void)json_finish(&w);
		return;
	}
	printf("%-3s %-32s %-12s %-16s %9s %12s\n", "#", "target", "outcome", "error", "seconds",
	       "bytes sent");
	for (unsigned i = 0; i < f->n; i++) {
		printf("%-3u %-32s %-12s %-16s %9.1f %12llu\n", i, f->t[i].conn,
		       smpfota_fleet_outcome_name(tg[i].outcome),
		       tg[i].err ? smpfota_errname(tg[i].err) : "-",
		       (double)(uint32_t)(tg[i].ended_ms - f->start_ms) / 1000.0,
		       (unsigned long long)f->t[i].link->stats.tx_bytes);
	}
	printf("update: %zu of %u targets updated in %.1f s\n", updated, f->n, secs);
}

int smpfota_cli_fleet_update(const struct smpfota_cli_opts *o, const char *const *conns,
			     unsigned n_conns, int argc, char **argv)
{
	static const struct option opts[] = {
		{"no-confirm", no_argument, 0, 'n'},
		{"force", no_argument, 0, 'f'},
		{"max-reboots", required_argument, 0, 'r'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct smpfota_fleet_config fc = {.update = {.upload = {.max_failures = 10}}};
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;
		unsigned long v;
		switch (ch) {
		case 'n':
			fc.update.no_confirm = true;
			break;
		case 'f':
			fc.update.force = true;
			break;
		case 'r':
			v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > SMPFOTA_CLI_MAX_CONNS) {
				return usage(o->json, "bad --max-reboots: 1..16");
			}
			fc.max_reboots = (uint16_t)v;
			break;
		case 'h':
			printf("usage: smpfota --conn A --conn B ... update FILE [--no-confirm] "
			       "[--force] "
			       "[--max-reboots N]\n");
			return 0;
		default:
			return usage(o->json, "unknown option (several --conn take --no-confirm, "
					      "--force, --max-reboots N)");
		}
	}
	if (optind != argc - 1) {
		return usage(o->json, "takes one image FILE");
	}
	if (o->key != NULL) {
		return usage(o->json, "--key with several --conn is not supported yet");
	}
	static struct cli s; /* image loading and its error messages */
	memset(&s, 0, sizeof(s));
	s.o = *o;
	s.what = "update";
	struct smpfota_upload_source src;
	if (cli_load_image(&s, argv[optind], &src) != 0) {
		free(s.file.data);
		return 1;
	}
	struct fu f = {.n = n_conns, .out = o->json ? stderr : stdout};
	f.t = calloc(n_conns, sizeof(*f.t));
	struct smpfota_fleet_target *tg = calloc(n_conns, sizeof(*tg));
	struct pollfd *pfd = calloc(n_conns, sizeof(*pfd));
	int rc = f.t && tg && pfd ? 0 : SMPFOTA_ERR_NOMEM;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	for (unsigned i = 0; rc == 0 && i < n_conns; i++) {
		struct fu_target *t = &f.t[i];
		t->conn = conns[i];
		t->last_decile = -1;
		struct smpfota_conn_uri uri;
		if (smpfota_conn_uri_parse(conns[i], &uri) != 0) {
			char msg[300];
			snprintf(msg, sizeof(msg),
				 "bad connection '%s' (expected udp:HOST[:PORT] or "
				 "serial:DEVICE[,baud=N])",
				 conns[i]);
			rc = usage(o->json, msg);
			break;
		}
		t->link = calloc(1, sizeof(*t->link));
		char err[512];
		if (t->link == NULL || host_link_open(t->link, &uri, err, sizeof(err)) != 0) {
			fprintf(stderr, "smpfota: update: %s: %s\n", conns[i],
				t->link ? err : "out of memory");
			free(t->link);
			t->link = NULL;
			rc = 1;
			break;
		}
		uint16_t mtu = t->link->mtu;
		size_t size = (SMPFOTA_CLIENT_MAX_INFLIGHT + 1) * (size_t)mtu;
		t->buf = malloc(size);
		struct smpfota_client_config cc = {
			.tx = {.send = host_link_send, .ctx = t->link, .mtu = mtu},
			.buf = t->buf,
			.buf_size = size,
			.frame_cap = mtu,
			.slots = SMPFOTA_CLIENT_MAX_INFLIGHT,
			.version = SMPFOTA_SMP_V2,
			.timeout_ms = o->timeout_ms ? o->timeout_ms : TIMEOUT_MS,
			.retries = RETRIES,
			.seq = (uint8_t)((unsigned)ts.tv_nsec ^ (unsigned)getpid() * 97U ^
					 i * 31U)};
		if (t->buf == NULL || smpfota_client_init(&t->c, &cc) != 0) {
			rc = SMPFOTA_ERR_NOMEM;
			break;
		}
		tg[i].c = &t->c;
		pfd[i] = (struct pollfd){.fd = host_link_fd(t->link), .events = POLLIN};
	}
	if (rc == SMPFOTA_ERR_NOMEM) {
		fprintf(stderr, "smpfota: update: out of memory\n");
		rc = 1;
	}
	static struct smpfota_fleet fleet;
	if (rc == 0) {
		fc.targets = tg;
		fc.n = n_conns;
		fc.src = &src;
		fc.img = &s.info;
		fc.on_target = on_target;
		fc.on_progress = on_progress;
		fc.user = &f;
		f.start_ms = cli_now_ms();
		fprintf(f.out, "update: %s to %u targets\n", argv[optind], n_conns);
		rc = smpfota_fleet_init(&fleet, &fc);
		rc = rc ? rc : smpfota_fleet_start(&fleet, f.start_ms);
	}
	while (rc == 0 && !smpfota_fleet_finished(&fleet)) {
		int32_t wait = smpfota_fleet_next_deadline(&fleet, cli_now_ms());
		if (wait < 0 || wait > POLL_MAX_MS) {
			wait = POLL_MAX_MS;
		}
		int k = poll(pfd, n_conns, (int)wait);
		if (k < 0 && errno != EINTR) {
			rc = 1;
			break;
		}
		for (unsigned i = 0; k > 0 && i < n_conns; i++) {
			if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) {
				/* a link that is gone only fails its own target (timeouts) */
				(void)host_link_receive(f.t[i].link, on_frames, &f.t[i]);
			}
		}
		smpfota_fleet_poll(&fleet, cli_now_ms());
	}
	if (rc == 0) {
		summary(o, &f, tg, (double)(uint32_t)(cli_now_ms() - f.start_ms) / 1000.0);
		rc = smpfota_fleet_count(&fleet, SMPFOTA_FLEET_UPDATED) == n_conns ? 0 : 1;
	}
	for (unsigned i = 0; f.t != NULL && i < n_conns; i++) {
		if (f.t[i].link != NULL) {
			host_link_close(f.t[i].link);
		}
		free(f.t[i].link);
		free(f.t[i].buf);
	}
	free(f.t);
	free(tg);
	free(pfd);
	free(s.file.data);
	return rc;
}
