/*
 * smpfota target: a simulated nRF5340 target on the host. MCUboot (the boot model) runs
 * at start and at every `os reset`, then the SMP server answers over UDP or over a PTY
 * with SMP console framing, on emulated NOR flash kept in a file.
 *
 * Flash file layout: the app-core device (4 KB pages: primary = slot + 1 page for
 * swap-move, then secondary), followed by the network-core device (2 KB pages) when two
 * images are configured. The file's size encodes the geometry; a file made with other
 * sizes is refused rather than reinterpreted.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "posix/nor_file.h"
#include "posix/tty.h"
#include "emu/mcuboot.h"
#include "smpfota/boot.h"
#include "emu/nor.h"
#include "emu/target.h"
#include "smpfota/serial.h"
#include "smpfota/server.h"
#include "posix/udp.h"

#define APP_PAGE 4096U
#define NET_PAGE 2048U
#define WRITE_SIZE 4U
#define DEFAULT_SLOT 0x74000U     /* 464 KiB: NCS-like app slot */
#define DEFAULT_NET_SLOT 0x3c000U /* 240 KiB */
#define RESET_DELAY_MS 250        /* CONFIG_MCUMGR_GRP_OS_RESET_MS */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct target {
	const char *flash_path;
	const char *primary_path[2];
	uint32_t slot[2];
	uint32_t images;
	bool verbose;

	struct smpfota_nor_file file;
	struct smpfota_nor net_nor;
	struct smpfota_emu_target b; /* slots, MCUboot, the server (kept by a warm reset) */
};

static void log_line(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "target: %s\n", msg);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		sprintf(out + 2 * i, "%02x", p[i]);
	}
}

static int provision(struct target *t, int image)
{
	const struct smpfota_flash_area *a = &t->b.images[image].primary;
	uint8_t head[32];
	if (smpfota_flash_area_read(a, 0, head, sizeof(head)) != 0) {
		return 1;
	}
	for (size_t i = 0; i < sizeof(head); i++) {
		if (head[i] != 0xff) {
			fprintf(stderr, "target: slot %d already holds an image; --primary ignored\n",
				2 * image);
			return 0;
		}
	}
	FILE *f = fopen(t->primary_path[image], "rb");
	if (f == NULL) {
		fprintf(stderr, "smpfota: %s: %s\n", t->primary_path[image], strerror(errno));
		return 1;
	}
	uint8_t *buf = malloc((size_t)a->size + 1);
	size_t n = buf ? fread(buf, 1, (size_t)a->size + 1, f) : 0;
	int rc = buf == NULL || ferror(f) ? 1 : 0;
	fclose(f);
	if (rc == 0 && n > a->size) {
		fprintf(stderr, "smpfota: %s: larger than slot %d\n", t->primary_path[image], 2 * image);
		rc = 1;
	}
	if (rc == 0 && smpfota_emu_target_provision(&t->b, (size_t)image, buf, n) != 0) {
		rc = 1;
	}
	free(buf);
	if (rc == 0) {
		fprintf(stderr, "target: provisioned %s into slot %d (%zu bytes)\n",
			t->primary_path[image], 2 * image, n);
	}
	return rc;
}

/* Power-on or warm reset: MCUboot, then the application's SMP server. */
static int boot(struct target *t, bool warm)
{
	int rc = smpfota_emu_target_boot(&t->b);
	if (rc != 0) {
		fprintf(stderr, "target: boot failed: %s\n", smpfota_strerror(rc));
		return rc;
	}
	for (size_t i = 0; i < t->b.boot.n_images; i++) {
		const struct smpfota_boot_image_result *r = &t->b.boot.image[i];
		char hash[65] = "-";
		char ver[SMPFOTA_IMAGE_VERSION_STR_MAX] = "-";
		if (r->has_header) {
			hex(r->hash, 32, hash);
			(void)smpfota_image_version_str(&r->version, ver, sizeof(ver));
		}
		fprintf(stderr, "target: boot %u image %zu: swap %s%s, %s %s hash %s\n", t->b.boots, i,
			smpfota_boot_swap_type_name(r->swap_type), r->resumed ? " (resumed)" : "",
			r->bootable ? "running" : "NOT BOOTABLE", ver, hash);
	}
	(void)smpfota_nor_file_sync(&t->file);
	return smpfota_emu_target_start(&t->b, warm);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int after_response(struct target *t)
{
	if (!smpfota_server_reset_pending(&t->b.srv)) {
		return 0;
	}
	sleep_ms(RESET_DELAY_MS);
	fprintf(stderr, "target: reset\n");
	return boot(t, true);
}

/* Zephyr accepts several requests in one packet, each at a 4-byte aligned offset and each
 * answered on its own (smp.h). Length of the frame at p, or all that is left. */
static size_t next_frame(const uint8_t *p, size_t left)
{
	struct smpfota_smp_hdr h;
	int n = smpfota_smp_hdr_decode(p, left, &h);
	return n > 0 ? (size_t)n : left;
}

static int serve_udp(struct target *t, const char *host, uint16_t port)
{
	struct smpfota_udp u;
	int rc = smpfota_udp_bind(&u, host, port);
	if (rc != 0) {
		fprintf(stderr, "smpfota: cannot bind udp %s:%u: %s\n", host, port,
			u.sys_errno ? strerror(u.sys_errno) : smpfota_strerror(rc));
		return 1;
	}
	printf("smpfota target: udp %s:%d\n", host, smpfota_udp_local_port(&u));
	fflush(stdout);
	static uint8_t req[65536];
	static uint8_t rsp[65536];
	while (!stop) {
		int n = smpfota_udp_recv(&u, req, sizeof(req), 200);
		if (n == SMPFOTA_ERR_TIMEDOUT) {
			continue;
		}
		if (n < 0) {
			if (n == SMPFOTA_ERR_MSGSIZE) {
				fprintf(stderr, "target: dropped oversize datagram\n");
			}
			continue;
		}
		if ((uint32_t)n > t->b.cfg.buf_size) {
			/* Zephyr: no netbuf holds it, the datagram is dropped */
			fprintf(stderr, "target: dropped %d-byte datagram (buf_size %u)\n", n,
				t->b.cfg.buf_size);
			continue;
		}
		for (size_t off = 0; off < (size_t)n;) {
			size_t len = next_frame(req + off, (size_t)n - off);
			int m = smpfota_server_handle(&t->b.srv, req + off, len, rsp, t->b.cfg.buf_size);
			if (m > 0) {
				(void)smpfota_udp_send(&u, rsp, (size_t)m);
			} else if (m == 0) {
				fprintf(stderr, "target: dropped %zu bytes: not an SMP request\n", len);
			}
			off += (len + 3) / 4 * 4;
		}
		if (after_response(t) != 0) {
			break;
		}
	}
	smpfota_udp_close(&u);
	return 0;
}

struct serial_ctx {
	struct target *t;
	struct smpfota_tty *tty;
};

static int on_serial_frame(void *ctx, const uint8_t *frame, size_t len)
{
	struct serial_ctx *c = ctx;
	static uint8_t rsp[65536];
	static uint8_t line[100000];
	for (size_t off = 0; off < len;) {
		size_t flen = next_frame(frame + off, len - off);
		int m = smpfota_server_handle(&c->t->b.srv, frame + off, flen, rsp,
					      c->t->b.cfg.buf_size - 4);
		if (m > 0) {
			int k = smpfota_serial_encode(rsp, (size_t)m, 0, line, sizeof(line));
			if (k > 0) {
				(void)smpfota_tty_write(c->tty, line, (size_t)k, 2000);
			}
		}
		off += (flen + 3) / 4 * 4;
	}
	return 0;
}

static int serve_pty(struct target *t)
{
	struct smpfota_tty tty;
	if (smpfota_pty_open(&tty) != 0) {
		fprintf(stderr, "smpfota: cannot open a pty: %s\n", strerror(tty.sys_errno));
		return 1;
	}
	printf("smpfota target: serial pty %s\n", tty.path);
	fflush(stdout);
	static uint8_t frame[65536];
	struct smpfota_serial_rx rx;
	/* Serial: length and CRC share the netbuf with the frame (shared/spec/smp.md §2.4). */
	smpfota_serial_rx_init(&rx, frame, t->b.cfg.buf_size - 4);
	struct serial_ctx ctx = {t, &tty};
	struct smpfota_serial_stats last = {0};
	uint8_t buf[4096];
	while (!stop) {
		int n = smpfota_tty_read(&tty, buf, sizeof(buf), 200);
		if (n == SMPFOTA_ERR_TIMEDOUT) {
			continue;
		}
		if (n < 0) {
			sleep_ms(50);
			continue;
		}
		(void)smpfota_serial_rx_feed_all(&rx, buf, (size_t)n, on_serial_frame, &ctx);
		for (int i = 0; i < SMPFOTA_SERIAL_DROP_COUNT; i++) {
			if (rx.stats.drops[i] != last.drops[i] && i != SMPFOTA_SERIAL_DROP_TEXT) {
				fprintf(stderr, "target: serial: dropped: %s\n", smpfota_serial_drop_str(i));
			}
		}
		last = rx.stats;
		if (smpfota_server_reset_pending(&t->b.srv)) {
			if (after_response(t) != 0) {
				break;
			}
			smpfota_serial_rx_reset(&rx);
		}
	}
	smpfota_tty_close(&tty);
	return 0;
}

static uint32_t parse_size(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);
	if (*s == '\0' || (*end != '\0' && strcmp(end, "K") && strcmp(end, "k"))) {
		fprintf(stderr, "smpfota: bad %s: %s\n", what, s);
		exit(2);
	}
	if (*end) {
		v *= 1024;
	}
	return (uint32_t)v;
}

void smpfota_cli_target_usage(FILE *f)
{
	fprintf(f,
		"usage: smpfota target [--udp HOST:PORT | --serial-pty] [--flash FILE]\n"
		"                      [--primary FILE] [--primary-net FILE] [--images 1|2]\n"
		"                      [--slot-size N] [--net-slot-size N]\n"
		"                      [--buf-size N] [--buf-count N] [--verbose-errors]\n"
		"\n"
		"A simulated nRF5340 target: MCUboot boot model + SMP server on emulated NOR flash.\n"
		"  --udp HOST:PORT   SMP over UDP (default 127.0.0.1:1337)\n"
		"  --serial-pty      SMP console framing on a new pseudo-terminal (path printed)\n"
		"  --flash FILE      flash contents, kept across runs (default: smpfota-flash.bin)\n"
		"  --primary FILE    factory image for slot 0 when it is empty (app core)\n"
		"  --primary-net FILE  the same for slot 2 (network core, image 1)\n"
		"  --images N        image pairs: 1 (app core) or 2 (+ network core; default)\n"
		"  --slot-size N     app-core slot size (default 0x74000; primary gets +1 page)\n"
		"  --net-slot-size N network-core slot size (default 0x3c000)\n"
		"  --buf-size N      MCUmgr buffer size reported by os params (default 2048)\n"
		"  --buf-count N     MCUmgr buffer count (default 4)\n"
		"  --verbose-errors  add \"rsn\" to v1 error responses\n");
}

int smpfota_cli_target(const struct smpfota_cli_opts *o, int argc, char **argv)
{
	(void)o;
	static struct target t;
	const char *udp = NULL;
	bool pty = false;
	static const struct option opts[] = {
		{"udp", required_argument, 0, 'u'},
		{"serial-pty", no_argument, 0, 'p'},
		{"flash", required_argument, 0, 'f'},
		{"primary", required_argument, 0, 'P'},
		{"primary-net", required_argument, 0, 'N'},
		{"images", required_argument, 0, 'i'},
		{"slot-size", required_argument, 0, 's'},
		{"net-slot-size", required_argument, 0, 'S'},
		{"buf-size", required_argument, 0, 'b'},
		{"buf-count", required_argument, 0, 'c'},
		{"verbose-errors", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};

	memset(&t, 0, sizeof(t));
	smpfota_emu_target_init(&t.b);
	t.flash_path = "smpfota-flash.bin";
	t.slot[0] = DEFAULT_SLOT;
	t.slot[1] = DEFAULT_NET_SLOT;
	t.images = 2;
	t.b.cfg.buf_size = 2048;
	t.b.cfg.buf_count = 4;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': udp = optarg; break;
		case 'p': pty = true; break;
		case 'f': t.flash_path = optarg; break;
		case 'P': t.primary_path[0] = optarg; break;
		case 'N': t.primary_path[1] = optarg; break;
		case 'i': t.images = parse_size(optarg, "--images"); break;
		case 's': t.slot[0] = parse_size(optarg, "--slot-size"); break;
		case 'S': t.slot[1] = parse_size(optarg, "--net-slot-size"); break;
		case 'b': t.b.cfg.buf_size = parse_size(optarg, "--buf-size"); break;
		case 'c': t.b.cfg.buf_count = parse_size(optarg, "--buf-count"); break;
		case 'v': t.b.cfg.verbose_err = true; break;
		case 'h': smpfota_cli_target_usage(stdout); return 0;
		default: smpfota_cli_target_usage(stderr); return 2;
		}
	}
	if (optind != argc || (udp && pty) || t.images < 1 || t.images > 2 ||
	    t.slot[0] % APP_PAGE || t.slot[1] % NET_PAGE || t.slot[0] < 4 * APP_PAGE ||
	    t.slot[1] < 4 * NET_PAGE || t.b.cfg.buf_size < 64 || t.b.cfg.buf_size > 65535 ||
	    t.b.cfg.buf_count < 1) {
		smpfota_cli_target_usage(stderr);
		return 2;
	}
	if (t.images < 2 && t.primary_path[1]) {
		fprintf(stderr, "smpfota: --primary-net needs --images 2\n");
		return 2;
	}

	uint32_t app_dev = 2 * t.slot[0] + APP_PAGE;
	uint32_t net_dev = t.images > 1 ? 2 * t.slot[1] + NET_PAGE : 0;
	/* Opened on the smaller page; each device is re-made with its own geometry below. */
	int rc = smpfota_nor_file_open(&t.file, t.flash_path, app_dev + net_dev, NET_PAGE, WRITE_SIZE);
	if (rc != 0) {
		fprintf(stderr, "smpfota: %s: %s%s\n", t.flash_path, smpfota_strerror(rc),
			rc == SMPFOTA_ERR_INVAL ? " (made with other --slot-size/--images?)" : "");
		return 1;
	}
	/* One file, two devices: the app core's (4 KB pages) and the network core's (2 KB). */
	smpfota_nor_init(&t.file.nor, t.file.map, app_dev, APP_PAGE, WRITE_SIZE);
	(void)smpfota_emu_target_add_image(&t.b, &t.file.nor, 0, &t.file.nor, t.slot[0] + APP_PAGE,
					   t.slot[0]);
	if (t.images > 1) {
		smpfota_nor_init(&t.net_nor, (uint8_t *)t.file.map + app_dev, net_dev, NET_PAGE,
				 WRITE_SIZE);
		(void)smpfota_emu_target_add_image(&t.b, &t.net_nor, 0, &t.net_nor,
						   t.slot[1] + NET_PAGE, t.slot[1]);
	}
	for (uint32_t i = 0; i < t.images; i++) {
		if (t.primary_path[i] && provision(&t, (int)i) != 0) {
			smpfota_nor_file_close(&t.file);
			return 1;
		}
	}

	t.b.cfg.active_image = 0;
	t.b.cfg.image_check = true;
	t.b.cfg.allow_confirm_secondary = true;
	t.b.cfg.log = log_line;
	t.b.cfg.info = (struct smpfota_server_info){
		.kernel = "Zephyr", .node = "smpfota-target", .release = SMPFOTA_VERSION_STRING,
		.version = "smpfota-sim", .machine = "arm", .processor = "cortex-m33",
		.platform = "nrf5340dk/nrf5340/cpuapp", .os = "smpfota"};
	t.b.boot_buf_size = APP_PAGE;
	if (boot(&t, false) != 0) {
		smpfota_nor_file_close(&t.file);
		return 1;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (pty) {
		rc = serve_pty(&t);
	} else {
		const char *spec = udp ? udp : "127.0.0.1:1337";
		char host[256];
		const char *colon = strrchr(spec, ':');
		unsigned long port = 1337;
		size_t hl = colon ? (size_t)(colon - spec) : strlen(spec);
		if (colon) {
			char *end;
			port = strtoul(colon + 1, &end, 10);
			if (*end || port > 65535) {
				fprintf(stderr, "smpfota: bad --udp: %s\n", spec);
				return 2;
			}
		}
		if (hl >= sizeof(host)) {
			return 2;
		}
		memcpy(host, spec, hl);
		host[hl] = '\0';
		/* "[::1]:1337" */
		if (host[0] == '[' && hl > 1 && host[hl - 1] == ']') {
			memmove(host, host + 1, hl - 2);
			host[hl - 2] = '\0';
		}
		rc = serve_udp(&t, host, (uint16_t)port);
	}
	smpfota_nor_file_close(&t.file);
	return rc;
}
