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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "target_groups.h"
#include "posix/nor_file.h"
#include "posix/tty.h"
#include "emu/mcuboot.h"
#include "smpfota/boot.h"
#include "smpfota/image.h"
#include "smpfota/smp.h"
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
	struct target_groups groups; /* stat, fs, shell, os extras: host-side (target_groups.h) */

	/* --key: the secure channel's responder in front of the server (docs/security.md); a
	 * reset loses its session, as a board's RAM would. */
	struct smpfota_cli_key key;
	struct smpfota_secure sec;
	struct smpfota_udp *udp; /* where its frames go: UDP, or */
	struct smpfota_tty *tty; /* the PTY with SMP console framing */
	size_t rsp_cap;          /* the largest answer the transport takes */
};

static uint8_t sec_mem[2 * (65536U + SMPFOTA_SECURE_OVERHEAD)];

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
			fprintf(stderr,
				"target: slot %d already holds an image; --primary ignored\n",
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
		fprintf(stderr, "smpfota: %s: larger than slot %d\n", t->primary_path[image],
			2 * image);
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
		bool xip = t->b.cfg.mode == SMPFOTA_SERVER_DIRECT_XIP ||
			   t->b.cfg.mode == SMPFOTA_SERVER_RAM_LOAD;
		char what[40];
		if (xip) {
			snprintf(what, sizeof(what), "direct-xip slot %u",
				 (unsigned)t->b.xip_slot[i]);
		} else {
			snprintf(what, sizeof(what), "%s %s%s",
				 t->b.cfg.mode == SMPFOTA_SERVER_OVERWRITE ? "overwrite" : "swap",
				 smpfota_boot_swap_type_name(r->swap_type),
				 r->resumed ? " (resumed)" : "");
		}
		fprintf(stderr, "target: boot %u image %zu: %s, %s %s hash %s%s\n", t->b.boots, i,
			what, r->bootable ? "running" : "NOT BOOTABLE", ver, hash,
			t->b.cfg.mode == SMPFOTA_SERVER_SERIAL_RECOVERY ? " (serial recovery)"
									: "");
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
	if (t->key.on) {
		smpfota_secure_reset(&t->sec);
	}
	sleep_ms(RESET_DELAY_MS);
	fprintf(stderr, "target: reset\n");
	t->groups.resets++;
	if (t->b.cfg.mode == SMPFOTA_SERVER_SERIAL_RECOVERY) {
		/* As the fixture does (emu/target.h): recovery ends with the reset, then the
		 * application runs, in swap mode. */
		t->b.cfg.mode = SMPFOTA_SERVER_SWAP;
	}
	return boot(t, true);
}

/* One request: the host-side groups first, then the library's server; counted and logged. */
static int handle(struct target *t, const uint8_t *req, size_t len, uint8_t *rsp, size_t cap)
{
	int m = target_groups_handle(&t->groups, req, len, rsp, cap);
	if (m == 0) {
		m = smpfota_server_handle(&t->b.srv, req, len, rsp, cap);
	}
	target_groups_count(&t->groups, len, m);
	if (t->verbose) {
		target_log_exchange(req, len, rsp, m);
	}
	return m;
}

/* --key: an authenticated request out of the secure channel goes to the server, and its
 * answer back through the channel. */
static int sec_deliver(void *ctx, const uint8_t *frame, size_t len)
{
	struct target *t = ctx;
	static uint8_t rsp[65536];
	int m = handle(t, frame, len, rsp, t->rsp_cap);
	return m > 0 ? smpfota_secure_send(&t->sec, rsp, (size_t)m) : 0;
}

static int sec_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct target *t = ctx;
	static uint8_t line[100000];
	if (t->udp) {
		return smpfota_udp_send(t->udp, frame, len);
	}
	int k = smpfota_serial_encode(frame, len, 0, line, sizeof(line));
	return k > 0 ? smpfota_tty_write(t->tty, line, (size_t)k, 2000) : k;
}

static uint32_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U);
}

/* A frame for the secure channel; -v says why one was dropped. */
static void sec_input(struct target *t, const uint8_t *frame, size_t len)
{
	if (len == 0) {
		return; /* a client's UDP probe (is anyone listening?), not a frame */
	}
	int rc = smpfota_secure_input(&t->sec, frame, len, now_ms());
	if (rc != 0 && t->verbose) {
		fprintf(stderr, "target: secure channel: dropped %zu bytes: %s\n", len,
			smpfota_strerror(rc));
	}
}

/* Zephyr accepts several requests in one packet, each at a 4-byte aligned offset and each
 * answered on its own (smp.h). Length of the frame at p, or all that is left. */
static size_t next_frame(const uint8_t *p, size_t left)
{
	struct smpfota_smp_hdr h;
	int n = smpfota_smp_hdr_decode(p, left, &h);
	return n > 0 ? (size_t)n : left;
}

static int serve_udp(struct target *t, struct smpfota_udp *u)
{
	static uint8_t req[65536];
	static uint8_t rsp[65536];
	while (!stop) {
		int n = smpfota_udp_recv(u, req, sizeof(req), 200);
		if (n == SMPFOTA_ERR_TIMEDOUT) {
			continue;
		}
		if (n < 0) {
			if (n == SMPFOTA_ERR_MSGSIZE) {
				fprintf(stderr, "target: dropped oversize datagram\n");
			}
			continue;
		}
		if (t->key.on) {
			/* one datagram, one frame of the channel: its overhead on top of buf_size */
			sec_input(t, req, (size_t)n);
			if (after_response(t) != 0) {
				break;
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
			int m = handle(t, req + off, len, rsp, t->b.cfg.buf_size);
			if (m > 0) {
				(void)smpfota_udp_send(u, rsp, (size_t)m);
			} else if (m == 0) {
				fprintf(stderr, "target: dropped %zu bytes: not an SMP request\n",
					len);
			}
			off += (len + 3) / 4 * 4;
		}
		if (after_response(t) != 0) {
			break;
		}
	}
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
	if (c->t->key.on) {
		sec_input(c->t, frame, len);
		return 0;
	}
	for (size_t off = 0; off < len;) {
		size_t flen = next_frame(frame + off, len - off);
		int m = handle(c->t, frame + off, flen, rsp, c->t->b.cfg.buf_size - 4);
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

static int serve_pty(struct target *t, struct smpfota_tty *tty)
{
	static uint8_t frame[65536];
	struct smpfota_serial_rx rx;
	/* Serial: length and CRC share the netbuf with the frame (Zephyr's mcumgr serial
	 * transport, include/smpfota/serial.h); with --key the channel's frame carries a
	 * request of up to that size. */
	smpfota_serial_rx_init(&rx, frame,
			       t->b.cfg.buf_size - 4 + (t->key.on ? SMPFOTA_SECURE_OVERHEAD : 0));
	rx.raw = t->key.on; /* the channel's frames are not SMP frames */
	struct serial_ctx ctx = {t, tty};
	struct smpfota_serial_stats last = {0};
	uint8_t buf[4096];
	while (!stop) {
		int n = smpfota_tty_read(tty, buf, sizeof(buf), 200);
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
				fprintf(stderr, "target: serial: dropped: %s\n",
					smpfota_serial_drop_str(i));
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
	return 0;
}

void smpfota_cli_target_usage(FILE *f)
{
	fprintf(f,
		"usage: smpfota target [--udp HOST:PORT | --serial-pty [--pty-link PATH]]\n"
		"                      [--flash FILE] [--primary FILE] [--primary-net FILE]\n"
		"                      [--images 1|2] [--slot-size N] [--net-slot-size N]\n"
		"                      [--buf-size N] [--buf-count N] [--verbose-errors] [-v]\n"
		"                      [--fs DIR] [--mode MODE] [--no-bootloader-info]\n"
		"\n"
		"A simulated nRF5340 target: MCUboot boot model + SMP server on emulated NOR flash.\n"
		"It checks every option and file first, then binds its port (or opens its PTY), then\n"
		"opens the flash file: a refusal never leaves a flash file behind.\n"
		"  --udp HOST:PORT   SMP over UDP (default 127.0.0.1:1337; port 0: any free one)\n"
		"  --serial-pty      SMP console framing on a new pseudo-terminal (path printed)\n"
		"  --pty-link PATH   also a symlink PATH to the PTY: a path that stays the same\n"
		"                    from run to run (removed at exit)\n"
		"  --flash FILE      flash contents, kept across runs (default: smpfota-flash.bin)\n"
		"  --primary FILE    factory image for slot 0 when it is empty (app core); it must\n"
		"                    be a valid MCUboot image that fits the slot\n"
		"  --primary-net FILE  the same for slot 2 (network core, image 1)\n"
		"  --images N        image pairs: 1 (app core) or 2 (+ network core; default)\n"
		"  --slot-size N     app-core slot size, a multiple of 4 KiB, at least 16 KiB\n"
		"                    (default 0x74000; primary gets +1 page). N: 475136, 0x74000, 464K\n"
		"  --net-slot-size N network-core slot size, a multiple of 2 KiB, at least 8 KiB\n"
		"                    (default 0x3c000)\n"
		"  --buf-size N      MCUmgr buffer size reported by os params, 64..65535 (default 2048)\n"
		"  --buf-count N     MCUmgr buffer count, 1..255 (default 4)\n"
		"  --verbose-errors  add \"rsn\" to v1 error responses\n"
		"  -v, --verbose     log each request and its answer on stderr (group, command,\n"
		"                    sequence number, rc)\n"
		"  --fs DIR          answer the file system group (fs upload/download/stat/hash) with\n"
		"                    the files under DIR; without it the group answers ENOTSUP\n"
		"  --mode MODE       the MCUboot mode played: swap (default: swap using move, test,\n"
		"                    revert, confirm), overwrite (overwrite-only: no revert),\n"
		"                    direct-xip or ram-load (the highest valid version boots from\n"
		"                    its slot; no test/confirm), serial-recovery (MCUboot's own SMP\n"
		"                    server, no application, until the first reset; then swap)\n"
		"  --no-bootloader-info  answer `bootloader info` with ENOTSUP, as most Zephyr\n"
		"                    targets do\n"
		"\n"
		"Besides image and OS (echo, reset, params, info, bootloader) it answers, host-side:\n"
		"stat (group \"smp\": requests, errors, resets, bytes), os taskstat (this process'\n"
		"figures), mpstat (the SMP buffers), datetime (an RTC set by datetime set), shell\n"
		"exec (built-ins: echo, kernel version, stats; never the host's shell).\n"
		"\n"
		"Exit status: 0 after SIGINT/SIGTERM; 1 when it cannot run (port taken, flash file);\n"
		"2 for a bad option or input file, with the reason.\n");
}

/* A reason the target cannot run (exit status 1), with --json as one object too. */
static int target_error(bool json, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int target_error(bool json, const char *hint, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct smpfota_cli_error e = {.what = "target", .name = "IO", .message = msg, .hint = hint};
	return smpfota_cli_report(json, &e, 1);
}

int smpfota_cli_target(const struct smpfota_cli_opts *o, int argc, char **argv)
{
	static struct target t;
	const char *udp = NULL, *pty_link = NULL;
	bool pty = false;
	enum { OPT_PTY_LINK = 256, OPT_VERBOSE_ERRORS, OPT_FS, OPT_MODE, OPT_NO_BOOTLOADER_INFO };
	static const struct option opts[] = {
		{"udp", required_argument, 0, 'u'},
		{"serial-pty", no_argument, 0, 'p'},
		{"pty-link", required_argument, 0, OPT_PTY_LINK},
		{"flash", required_argument, 0, 'f'},
		{"primary", required_argument, 0, 'P'},
		{"primary-net", required_argument, 0, 'N'},
		{"images", required_argument, 0, 'i'},
		{"slot-size", required_argument, 0, 's'},
		{"net-slot-size", required_argument, 0, 'S'},
		{"buf-size", required_argument, 0, 'b'},
		{"buf-count", required_argument, 0, 'c'},
		{"verbose-errors", no_argument, 0, OPT_VERBOSE_ERRORS},
		{"verbose", no_argument, 0, 'v'},
		{"fs", required_argument, 0, OPT_FS},
		{"mode", required_argument, 0, OPT_MODE},
		{"no-bootloader-info", no_argument, 0, OPT_NO_BOOTLOADER_INFO},
		{0, 0, 0, 0},
	};
	const bool json = o->json;
	char msg[600];

	memset(&t, 0, sizeof(t));
	smpfota_emu_target_init(&t.b);
	t.flash_path = "smpfota-flash.bin";
	t.slot[0] = DEFAULT_SLOT;
	t.slot[1] = DEFAULT_NET_SLOT;
	t.images = 2;
	t.b.cfg.buf_size = 2048;
	t.b.cfg.buf_count = 4;
	int krc = smpfota_cli_key_load(o, "target", &t.key);
	if (krc != 0) {
		return krc;
	}
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":v", opts, NULL)) != -1) {
		uint32_t *size = NULL;
		const char *name = NULL;
		switch (c) {
		case 'u':
			udp = optarg;
			break;
		case 'p':
			pty = true;
			break;
		case OPT_PTY_LINK:
			pty_link = optarg;
			break;
		case 'f':
			t.flash_path = optarg;
			break;
		case 'P':
			t.primary_path[0] = optarg;
			break;
		case 'N':
			t.primary_path[1] = optarg;
			break;
		case 'i':
			size = &t.images;
			name = "--images";
			break;
		case 's':
			size = &t.slot[0];
			name = "--slot-size";
			break;
		case 'S':
			size = &t.slot[1];
			name = "--net-slot-size";
			break;
		case 'b':
			size = &t.b.cfg.buf_size;
			name = "--buf-size";
			break;
		case 'c':
			size = &t.b.cfg.buf_count;
			name = "--buf-count";
			break;
		case OPT_VERBOSE_ERRORS:
			t.b.cfg.verbose_err = true;
			break;
		case 'v':
			t.verbose = true;
			break;
		case OPT_FS:
			t.groups.fs_root = optarg;
			break;
		case OPT_NO_BOOTLOADER_INFO:
			t.b.cfg.no_bootloader_info = true;
			break;
		case OPT_MODE: {
			static const char *const names[] = {"swap", "overwrite", "direct-xip",
							    "ram-load", "serial-recovery"};
			size_t k = 0;
			while (k < sizeof(names) / sizeof(names[0]) &&
			       strcmp(optarg, names[k]) != 0) {
				k++;
			}
			if (k == sizeof(names) / sizeof(names[0])) {
				return smpfota_cli_usage_error(
					json, "target",
					"--mode: swap, overwrite, "
					"direct-xip, ram-load or serial-recovery");
			}
			t.b.cfg.mode = (uint8_t)k;
			break;
		}
		case ':':
			snprintf(msg, sizeof(msg), "option '%s' needs a value", argv[optind - 1]);
			return smpfota_cli_usage_error(json, "target", msg);
		default:
			snprintf(msg, sizeof(msg), "unknown option '%s'", argv[optind - 1]);
			return smpfota_cli_usage_error(json, "target", msg);
		}
		if (size && !target_parse_size(optarg, size)) {
			snprintf(msg, sizeof(msg),
				 "%s %s: not a number (decimal, 0x hex, or K for KiB)", name,
				 optarg);
			return smpfota_cli_usage_error(json, "target", msg);
		}
	}
	/* Every check before anything is made: a refusal leaves no file and no socket. */
	const char *why = NULL;
	if (optind != argc) {
		snprintf(msg, sizeof(msg), "unexpected argument '%s'", argv[optind]);
		why = msg;
	} else if (udp && pty) {
		why = "--udp and --serial-pty: one transport";
	} else if (pty_link && !pty) {
		why = "--pty-link goes with --serial-pty";
	} else if (t.images < 1 || t.images > 2) {
		why = "--images: 1 (app core) or 2 (app and network cores)";
	} else if (t.slot[0] % APP_PAGE || t.slot[0] < 4 * APP_PAGE) {
		snprintf(msg, sizeof(msg),
			 "--slot-size 0x%x: a multiple of the %u-byte page, at "
			 "least 4 pages (0x%x)",
			 (unsigned)t.slot[0], APP_PAGE, 4 * APP_PAGE);
		why = msg;
	} else if (t.slot[1] % NET_PAGE || t.slot[1] < 4 * NET_PAGE) {
		snprintf(msg, sizeof(msg),
			 "--net-slot-size 0x%x: a multiple of the %u-byte page, "
			 "at least 4 pages (0x%x)",
			 (unsigned)t.slot[1], NET_PAGE, 4 * NET_PAGE);
		why = msg;
	} else if ((uint64_t)2 * t.slot[0] + APP_PAGE +
			   (t.images > 1 ? 2ull * t.slot[1] + NET_PAGE : 0) >
		   0x40000000u) {
		why = "the slots need more than 1 GiB of flash file";
	} else if (t.b.cfg.buf_size < 64 || t.b.cfg.buf_size > 65535) {
		snprintf(msg, sizeof(msg),
			 "--buf-size %u: 64..65535 bytes (an upload needs at "
			 "least 64)",
			 (unsigned)t.b.cfg.buf_size);
		why = msg;
	} else if (t.b.cfg.buf_count < 1 || t.b.cfg.buf_count > 255) {
		why = "--buf-count: 1..255";
	} else if (t.images < 2 && t.primary_path[1]) {
		why = "--primary-net needs --images 2";
	}
	struct stat fs_st;
	if (!why && t.groups.fs_root &&
	    (stat(t.groups.fs_root, &fs_st) != 0 || !S_ISDIR(fs_st.st_mode))) {
		snprintf(msg, sizeof(msg), "--fs %s: not a directory", t.groups.fs_root);
		why = msg;
	}
	if (why) {
		return smpfota_cli_usage_error(json, "target", why);
	}
	t.groups.buf_size = t.b.cfg.buf_size;
	t.groups.buf_count = t.b.cfg.buf_count;
	char host[256];
	uint16_t port = 1337;
	if (!pty && !target_parse_udp(udp ? udp : "127.0.0.1:1337", host, sizeof(host), &port)) {
		snprintf(msg, sizeof(msg), "--udp %s: expected HOST:PORT, e.g. 127.0.0.1:1337",
			 udp);
		return smpfota_cli_usage_error(json, "target", msg);
	}
	for (uint32_t i = 0; i < t.images; i++) {
		uint32_t slot = i ? t.slot[1] + NET_PAGE : t.slot[0] + APP_PAGE;
		if (t.primary_path[i] &&
		    target_check_primary(json, i ? "--primary-net" : "--primary", t.primary_path[i],
					 slot)) {
			return 2;
		}
	}
	if (target_check_flash_path(json, t.flash_path)) {
		return 2;
	}

	/* The transport next: a port in use is said before the flash file is made. */
	static struct smpfota_udp u;
	static struct smpfota_tty tty;
	int rc;
	if (pty) {
		if (smpfota_pty_open(&tty) != 0) {
			return target_error(json, NULL, "cannot open a pty: %s",
					    strerror(tty.sys_errno));
		}
		if (pty_link) {
			struct stat st;
			if (lstat(pty_link, &st) == 0 && !S_ISLNK(st.st_mode)) {
				smpfota_tty_close(&tty);
				return target_error(json, NULL,
						    "--pty-link %s: exists and is not a symlink; "
						    "not replaced",
						    pty_link);
			}
			(void)unlink(pty_link);
			if (symlink(tty.path, pty_link) != 0) {
				int e = errno;
				smpfota_tty_close(&tty);
				return target_error(json, NULL, "--pty-link %s: %s", pty_link,
						    strerror(e));
			}
		}
	} else {
		rc = smpfota_udp_bind(&u, host, port);
		if (rc != 0) {
			return target_error(
				json,
				u.sys_errno == EADDRINUSE
					? "another target (or a Zephyr native_sim) uses it: "
					  "--udp HOST:0 picks a free port"
					: NULL,
				"cannot bind udp %s:%u: %s", host, port,
				u.sys_errno ? strerror(u.sys_errno) : smpfota_strerror(rc));
		}
	}

	uint32_t app_dev = 2 * t.slot[0] + APP_PAGE;
	uint32_t net_dev = t.images > 1 ? 2 * t.slot[1] + NET_PAGE : 0;
	/* Opened on the smaller page; each device is re-made with its own geometry below. */
	errno = 0;
	rc = smpfota_nor_file_open(&t.file, t.flash_path, app_dev + net_dev, NET_PAGE, WRITE_SIZE);
	if (rc != 0) {
		rc = target_error(json,
				  rc == SMPFOTA_ERR_INVAL
					  ? "it was made with other "
					    "--slot-size/--images: give those, or another --flash"
					  : NULL,
				  "--flash %s: %s", t.flash_path,
				  rc == SMPFOTA_ERR_IO && errno ? strerror(errno)
								: smpfota_strerror(rc));
		goto close_transport;
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
			rc = 1;
			goto close_flash;
		}
	}

	t.b.cfg.active_image = 0;
	t.b.cfg.image_check = true;
	t.b.cfg.allow_confirm_secondary = true;
	t.b.cfg.log = log_line;
	t.b.cfg.info = (struct smpfota_server_info){.kernel = "Zephyr",
						    .node = "smpfota-target",
						    .release = SMPFOTA_VERSION_STRING,
						    .version = "smpfota-sim",
						    .machine = "arm",
						    .processor = "cortex-m33",
						    .platform = "nrf5340dk/nrf5340/cpuapp",
						    .os = "smpfota"};
	t.b.boot_buf_size = APP_PAGE;
	if (boot(&t, false) != 0) {
		rc = 1;
		goto close_flash;
	}

	if (t.key.on) {
		t.udp = pty ? NULL : &u;
		t.tty = pty ? &tty : NULL;
		t.rsp_cap = pty ? t.b.cfg.buf_size - 4 : t.b.cfg.buf_size;
		struct smpfota_secure_config sc = {.crypto = t.key.ops,
						   .send = sec_send,
						   .deliver = sec_deliver,
						   .ctx = &t,
						   .buf = sec_mem,
						   .buf_size = sizeof(sec_mem)};
		if (smpfota_secure_init_responder(&t.sec, &sc, now_ms()) != 0) {
			rc = 1;
			goto close_flash;
		}
		fprintf(stderr, "target: secure channel on, key id %u: plaintext SMP is refused\n",
			(unsigned)t.key.key.id);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* Ready: the line scripts wait for (tests/python/target_harness.py). */
	if (pty) {
		printf("smpfota target: serial pty %s\n", pty_link ? pty_link : tty.path);
		fflush(stdout);
		rc = serve_pty(&t, &tty);
	} else {
		printf("smpfota target: udp %s:%d\n", host, smpfota_udp_local_port(&u));
		fflush(stdout);
		rc = serve_udp(&t, &u);
	}
close_flash:
	smpfota_nor_file_close(&t.file);
	smpfota_cli_key_free(&t.key);
close_transport:
	if (pty) {
		smpfota_tty_close(&tty);
		if (pty_link) {
			(void)unlink(pty_link);
		}
	} else {
		smpfota_udp_close(&u);
	}
	return rc;
}
