/*
 * The commands of the smpfota CLI that talk to a target: image list/upload/test/confirm/
 * erase, reset, echo, params, info and the one-call update, over UDP or SMP serial
 * (the session: cli_session.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_client.h"

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
		"  image slot-info            each image's slots, their sizes and the largest image\n"
		"  reset [--force]            reset the target\n"
		"  echo TEXT                  the target echoes TEXT\n"
		"  params                     the target's SMP buffer size and count\n"
		"  info [FORMAT]              OS/application info (letters snrvbmpio, a = all)\n"
		"  bootloader info            the bootloader's name and MCUboot mode\n"
		"  update FILE [--image N] [--no-confirm] [--force] [--upgrade] [--window N]\n"
		"              [--chunk N]    check, upload, test, reset, verify, confirm in one go\n");
}

bool smpfota_cli_is_client_command(int argc, char **argv)
{
	static const char *const cmds[] = {"image", "reset", "echo", "params", "info", "bootloader",
					  "update"};
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

static void on_upload_done(void *user, int err, const struct smpfota_smp_status *st, bool match)
{
	struct cli *s = user;
	s->done = true;
	s->err = err;
	s->match = match;
	s->up_end = cli_now_ms();
	if (err == SMPFOTA_ERR_REJECTED && st) {
		cli_save_status(s, st);
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
			return cli_usage_error(s->what, "--image: 0 (app core) or 1 (network core)");
		}
		prm->image = (uint8_t)v;
		return 0;
	case OPT_WINDOW:
		if (!parse_uint(optarg, SMPFOTA_CLIENT_MAX_INFLIGHT, &v) || v == 0) {
			return cli_usage_error(s->what, "--window: 1..8 requests in flight");
		}
		prm->window = (uint8_t)v;
		return 0;
	case OPT_CHUNK:
		if (!parse_uint(optarg, 65535, &v) || v == 0) {
			return cli_usage_error(s->what, "--chunk: data bytes per cli_request, 1..65535");
		}
		prm->chunk = (uint16_t)v;
		return 0;
	case OPT_UPGRADE:
		prm->upgrade = true;
		return 0;
	case OPT_FIRST_TIMEOUT:
		if (!parse_seconds(optarg, &prm->first_timeout_ms)) {
			return cli_usage_error(s->what, "--first-timeout: seconds");
		}
		return 0;
	case OPT_JSON:
		s->o.json = true;
		return 0;
	default:
		return cli_usage_error(s->what, "unknown option");
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
		return cli_usage_error(s->what, "expected one FILE");
	}
	struct smpfota_upload_source src;
	if (cli_load_image(s, argv[optind], &src) != 0) {
		return 1;
	}
	int rc = cli_learn_params(s);
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	prm.buf_size = s->buf_size;
	prm.buf_count = s->buf_count;
	cli_progress_begin(s);
	s->done = false;
	s->err = 0;
	s->has_status = false;
	rc = smpfota_client_upload(&s->c, &src, &prm, cli_on_progress, on_upload_done, s, cli_now_ms());
	if (rc == 0) {
		rc = cli_run(s, NULL);
	}
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	if (s->o.json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		cli_upload_summary(s, &w, true);
		json_end_object(&w);
		json_finish(&w);
	} else {
		cli_upload_summary(s, NULL, true);
	}
	return 0;
}

static struct smpfota_update update_state;

static void on_step(void *user, enum smpfota_update_step step)
{
	struct cli *s = user;
	if (step > SMPFOTA_UPDATE_UPLOAD && s->have_progress && !s->up_summarised) {
		s->up_end = cli_now_ms();
		s->up_summarised = true;
		if (!s->o.json) {
			cli_upload_summary(s, NULL, false);
		}
	}
	if (step == SMPFOTA_UPDATE_UPLOAD) {
		cli_progress_begin(s);
	}
	if (step != SMPFOTA_UPDATE_DONE) {
		cli_end_bar(s);
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
			cli_save_status(s, st);
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
	struct smpfota_update_params prm = {.upload = {.max_failures = CLI_MAX_FAILURES}};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_NO_CONFIRM) {
			prm.no_confirm = true;
		} else if (c == OPT_FORCE) {
			prm.force = true;
		} else {
			int rc = upload_opt(s, c, &prm.upload);
			if (rc) {
				return rc;
			}
		}
	}
	if (optind != argc - 1) {
		return cli_usage_error(s->what, "expected one FILE");
	}
	struct smpfota_upload_source src;
	if (cli_load_image(s, argv[optind], &src) != 0) {
		return 1;
	}
	/* The workflow reads params itself; here they only size serial frames (see above). */
	int rc = cli_learn_params(s);
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	struct smpfota_update *const u = &update_state;
	uint32_t t0 = cli_now_ms();
	s->done = false;
	s->err = 0;
	s->has_status = false;
	cli_progress_begin(s);
	rc = smpfota_update_start(u, &s->c, &src, &s->info, &prm, on_step, cli_on_progress,
				  on_update_done, s, cli_now_ms());
	if (rc == 0) {
		rc = cli_run(s, u);
	}
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	char ver[SMPFOTA_IMAGE_VERSION_STR_MAX];
	smpfota_cli_version_str(&s->info.hdr.version, ver);
	double sec = (cli_now_ms() - t0) / 1000.0;
	if (s->o.json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "image");
		json_uint(&w, prm.upload.image);
		json_key(&w, "version");
		json_string(&w, ver);
		json_key(&w, "hash");
		json_hex(&w, s->info.hash, sizeof(s->info.hash));
		json_key(&w, "confirmed");
		json_bool(&w, !prm.no_confirm);
		json_key(&w, "milliseconds");
		json_uint(&w, cli_now_ms() - t0);
		json_key(&w, "upload");
		json_begin_object(&w);
		cli_upload_summary(s, &w, false);
		json_end_object(&w);
		json_end_object(&w);
		json_finish(&w);
	} else {
		cli_end_bar(s);
		printf("update: done in %.1f s: image %u runs %s (hash ", sec, (unsigned)prm.upload.image, ver);
		cli_print_hex(stdout, s->info.hash, sizeof(s->info.hash));
		printf("), %s\n", prm.no_confirm ? "in test mode: the next reset reverts it unless "
						   "it is confirmed"
						 : "confirmed");
	}
	return 0;
}

static int simple(struct cli *s, enum smpfota_smp_msg msg, const void *req)
{
	s->on_ok = cli_on_ok_print;
	int rc = cli_request(s, msg, req);
	return rc ? cli_fail(s, rc) : 0;
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
			cli_usage_error(s->what, synopsis);
			return -1;
		}
	}
	return optind;
}

static int cmd_image(struct cli *s, int argc, char **argv)
{
	static const struct option json_only[] = {{"json", no_argument, 0, OPT_JSON}, {0, 0, 0, 0}};
	if (argc < 2) {
		return cli_usage_error("image", "expected a subcommand");
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
			return cli_usage_error(s->what, "takes no argument");
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
			return cli_usage_error(s->what, confirm ? "expected [HASH]" : "expected HASH");
		}
		if (argc - i == 1) {
			if (!parse_hash(argv[i], hash)) {
				return cli_usage_error(s->what, "HASH must be 64 hex digits (the image hash "
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
				return cli_usage_error(s->what, "expected [--slot N]");
			}
		}
		if (optind != argc) {
			return cli_usage_error(s->what, "expected [--slot N]");
		}
		return simple(s, SMPFOTA_MSG_IMG_ERASE, &req);
	}
	if (!strcmp(sub, "slot-info")) {
		s->what = "image slot-info";
		int i = flags_only(s, argc, argv, json_only, NULL, 0, "takes no argument");
		if (i < 0) {
			return 2;
		}
		if (i != argc) {
			return cli_usage_error(s->what, "takes no argument");
		}
		struct smpfota_img_slot_info_req req = {0};
		return simple(s, SMPFOTA_MSG_IMG_SLOT_INFO, &req);
	}
	if (!strcmp(sub, "info")) {
		return cli_usage_error("image info", "is a local command: smpfota image info FILE");
	}
	return cli_usage_error("image", "unknown subcommand");
}

/* bootloader info: the name (no query), then the mode (query "mode"), as two requests like
 * mcumgr's. A bootloader that names itself but has no answer for "mode" still prints. */
static int cmd_bootloader(struct cli *s, int argc, char **argv)
{
	static const struct option json_only[] = {{"json", no_argument, 0, OPT_JSON}, {0, 0, 0, 0}};
	s->what = "bootloader info";
	if (argc < 2 || strcmp(argv[1], "info") != 0) {
		return cli_usage_error("bootloader", "expected: bootloader info");
	}
	argc--;
	argv++;
	int i = flags_only(s, argc, argv, json_only, NULL, 0, "takes no argument");
	if (i < 0) {
		return 2;
	}
	if (i != argc) {
		return cli_usage_error(s->what, "takes no argument");
	}
	s->on_ok = cli_on_bootloader;
	struct smpfota_os_bootloader_req req = {0};
	int rc = cli_request(s, SMPFOTA_MSG_OS_BOOTLOADER, &req);
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	req.has_query = true;
	req.query = (struct smpfota_str){"mode", 4};
	s->has_status = false;
	rc = cli_request(s, SMPFOTA_MSG_OS_BOOTLOADER, &req);
	if (rc != 0 && rc != SMPFOTA_ERR_REJECTED) {
		return cli_fail(s, rc);
	}
	cli_print_bootloader(s);
	return 0;
}

int cli_dispatch(struct cli *s, int argc, char **argv)
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
			return cli_usage_error(s->what, "expected TEXT");
		}
		/* The words as given, joined as a shell user would expect. */
		static char text[4096];
		size_t n = 0;
		for (int i = 1; i < argc; i++) {
			size_t k = strlen(argv[i]);
			if (n + k + 1 >= sizeof(text)) {
				return cli_usage_error(s->what, "TEXT too long");
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
			return cli_usage_error(s->what, "expected [--force]");
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
			return cli_usage_error(s->what, "takes no argument");
		}
		struct smpfota_os_params_req req = {0};
		int rc = simple(s, SMPFOTA_MSG_OS_PARAMS, &req);
		if (rc == 0) {
			cli_print_params(s);
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
			return cli_usage_error(s->what, "expected [FORMAT]");
		}
		struct smpfota_os_info_req req = {0};
		if (argc - i == 1) {
			req.has_format = true;
			req.format.ptr = argv[i];
			req.format.len = strlen(argv[i]);
		}
		return simple(s, SMPFOTA_MSG_OS_INFO, &req);
	}
	if (!strcmp(cmd, "bootloader")) {
		return cmd_bootloader(s, argc, argv);
	}
	return cli_usage_error(cmd, "unknown command");
}

