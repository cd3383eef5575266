/*
 * The commands of the smpfota CLI that talk to a target: image list/upload/test/confirm/
 * erase, reset, echo, params, info and the one-call update, over UDP or SMP serial
 * (the session: cli_session.c; the host-side extras: cli_extra.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_client.h"

bool cli_parse_uint(const char *text, unsigned long max, unsigned long *out)
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

bool cli_parse_seconds(const char *text, uint32_t *ms)
{
	char *end;
	double v = strtod(text, &end);
	if (end == text || *end != '\0' || !(v >= 0.001 && v <= 86400.0)) {
		return false;
	}
	*ms = (uint32_t)(v * 1000.0 + 0.5);
	return true;
}

bool cli_parse_hash(const char *text, uint8_t out[32])
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

int cli_next_opt(struct cli *s, int argc, char **argv, const struct option *opts)
{
	opterr = 0; /* our own message, in the CLI's format and in JSON */
	/* ":" first: a missing value is ':', an unknown option '?' */
	int c = getopt_long(argc, argv, ":", opts, NULL);
	if (c == '?' || c == ':') {
		char msg[160];
		const char *bad = argv[optind - 1];
		snprintf(msg, sizeof(msg),
			 c == ':' ? "option '%s' needs a value" : "unknown option '%s'", bad);
		cli_usage_error(s, msg);
		return -2;
	}
	return c;
}

void cli_opt_reset(void)
{
	optind = 0; /* glibc: 0 also re-initialises getopt's internal state */
}

/* ---- image upload and update ------------------------------------------------------------ */

static void on_upload_done(void *user, int err, const struct smpfota_smp_status *st, bool match)
{
	struct cli *s = user;
	s->done = true;
	s->err = err;
	s->match = match;
	s->up_end = cli_now_us();
	if (err == SMPFOTA_ERR_REJECTED && st) {
		cli_save_status(s, st);
	}
}

enum {
	OPT_IMAGE = 256,
	OPT_WINDOW,
	OPT_CHUNK,
	OPT_UPGRADE,
	OPT_FIRST_TIMEOUT,
	OPT_SLOT,
	OPT_FORCE,
	OPT_NO_CONFIRM,
};

/* Options shared by upload and update. Returns 0, or 2 after a usage message. */
static int upload_opt(struct cli *s, int c, struct smpfota_upload_params *prm)
{
	unsigned long v;
	switch (c) {
	case OPT_IMAGE:
		if (!cli_parse_uint(optarg, 255, &v)) {
			return cli_usage_error(s, "--image: 0 (app core) or 1 (network core)");
		}
		prm->image = (uint8_t)v;
		return 0;
	case OPT_WINDOW:
		if (!cli_parse_uint(optarg, SMPFOTA_CLIENT_MAX_INFLIGHT, &v) || v == 0) {
			return cli_usage_error(
				s, "--window: 1.." CLI_STR(
					   SMPFOTA_CLIENT_MAX_INFLIGHT) " requests in flight");
		}
		prm->window = (uint8_t)v;
		return 0;
	case OPT_CHUNK:
		if (!cli_parse_uint(optarg, 65535, &v) || v == 0) {
			return cli_usage_error(s, "--chunk: data bytes per request, 1..65535");
		}
		prm->chunk = (uint16_t)v;
		s->chunk_asked = (uint16_t)v;
		return 0;
	case OPT_UPGRADE:
		prm->upgrade = true;
		return 0;
	case OPT_FIRST_TIMEOUT:
		if (!cli_parse_seconds(optarg, &prm->first_timeout_ms)) {
			return cli_usage_error(s, "--first-timeout: seconds");
		}
		return 0;
	default:
		return cli_usage_error(s, "unknown option");
	}
}

/* After the options of upload or update: the one FILE operand, loaded and checked, and the
 * target's params (on serial they size the frames). 0, or the exit status after a message. */
static int prepare_file(struct cli *s, int argc, char **argv, struct smpfota_upload_source *src)
{
	if (optind != argc - 1) {
		return cli_usage_error(s, "expected one FILE");
	}
	if (cli_load_image(s, argv[optind], src) != 0) {
		return 1;
	}
	int rc = cli_learn_params(s);
	return rc ? cli_fail(s, rc) : 0;
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
		{0, 0, 0, 0},
	};
	struct smpfota_upload_params prm = {.max_failures = CLI_MAX_FAILURES};
	int c;
	cli_opt_reset();
	while ((c = cli_next_opt(s, argc, argv, opts)) != -1) {
		int rc = c == -2 ? 2 : upload_opt(s, c, &prm);
		if (rc) {
			return rc;
		}
	}
	struct smpfota_upload_source src;
	int rc = prepare_file(s, argc, argv, &src);
	if (rc != 0) {
		return rc;
	}
	prm.buf_size = s->buf_size;
	prm.buf_count = s->buf_count;
	cli_progress_begin(s);
	s->in_upload = true;
	s->done = false;
	s->err = 0;
	s->has_status = false;
	rc = smpfota_client_upload(&s->c, &src, &prm, cli_on_progress, on_upload_done, s,
				   cli_now_ms());
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
		s->up_end = cli_now_us();
		s->up_summarised = true;
		if (!s->o.json) {
			cli_upload_summary(s, NULL, false);
		}
	}
	s->in_upload = step == SMPFOTA_UPDATE_UPLOAD;
	if (step == SMPFOTA_UPDATE_UPLOAD) {
		cli_progress_begin(s);
	}
	if (step != SMPFOTA_UPDATE_DONE) {
		cli_end_bar(s);
		fprintf(s->o.json ? stderr : stdout, "update: %s\n",
			smpfota_update_step_name(step));
		fflush(s->o.json ? stderr : stdout);
	}
	s->step = smpfota_update_step_name(step);
}

static void on_update_done(void *user, int err, enum smpfota_update_step step,
			   const struct smpfota_smp_status *st)
{
	struct cli *s = user;
	s->done = true;
	s->err = err;
	s->step = err != 0 ? smpfota_update_step_name(step) : NULL;
	if (err == SMPFOTA_ERR_REJECTED && st) {
		cli_save_status(s, st);
	}
}

static int cmd_update(struct cli *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{"image", required_argument, 0, OPT_IMAGE},
		{"window", required_argument, 0, OPT_WINDOW},
		{"chunk", required_argument, 0, OPT_CHUNK},
		{"upgrade", no_argument, 0, OPT_UPGRADE},
		{"first-timeout", required_argument, 0, OPT_FIRST_TIMEOUT},
		{"no-confirm", no_argument, 0, OPT_NO_CONFIRM},
		{"force", no_argument, 0, OPT_FORCE},
		{0, 0, 0, 0},
	};
	struct smpfota_update_params prm = {.upload = {.max_failures = CLI_MAX_FAILURES}};
	int c;
	cli_opt_reset();
	while ((c = cli_next_opt(s, argc, argv, opts)) != -1) {
		if (c == -2) {
			return 2;
		}
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
	/* The workflow reads params itself; here they only size serial frames. */
	struct smpfota_upload_source src;
	int rc = prepare_file(s, argc, argv, &src);
	if (rc != 0) {
		return rc;
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
	(void)smpfota_image_version_str(&s->info.hdr.version, ver, sizeof(ver));
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
		json_hex(&w, s->info.hash, s->info.hash_len);
		json_key(&w, "confirmed");
		json_bool(&w, u->outcome != SMPFOTA_UPDATE_TESTING);
		json_key(&w, "outcome");
		json_string(&w, smpfota_update_outcome_name(u->outcome));
		json_key(&w, "mode");
		json_string(&w, smpfota_update_mode_name(u->mode));
		json_key(&w, "mode_source");
		json_string(&w, smpfota_update_mode_source_name(u->mode_source));
		json_key(&w, "mcuboot_mode");
		if (u->mcuboot_mode != SMPFOTA_MCUBOOT_MODE_UNKNOWN) {
			json_int(&w, u->mcuboot_mode);
		} else {
			json_null(&w);
		}
		json_key(&w, "milliseconds");
		json_uint(&w, cli_now_ms() - t0);
		json_key(&w, "upload");
		if (s->have_progress) {
			json_begin_object(&w);
			cli_upload_summary(s, &w, false);
			json_end_object(&w);
		} else {
			json_null(&w); /* the target had it already */
		}
		json_end_object(&w);
		json_finish(&w);
	} else {
		/* What each ending means for the user, by MCUboot mode. */
		static const char *const outcome_text[] = {
			[SMPFOTA_UPDATE_CONFIRMED] = "confirmed",
			[SMPFOTA_UPDATE_TESTING] =
				"in test mode: the next reset reverts it unless it "
				"is confirmed",
			[SMPFOTA_UPDATE_PERMANENT] =
				"permanent: MCUboot (overwrite-only) copied it "
				"over the old one, there is no revert",
			[SMPFOTA_UPDATE_BOOTED] = "booted by MCUboot (direct-xip/RAM load) as the "
						  "highest version: nothing to test or confirm",
			[SMPFOTA_UPDATE_RECOVERED] =
				"written to slot 0 by MCUboot serial recovery, "
				"and the target reset into it",
		};
		cli_end_bar(s);
		printf("update: MCUboot mode: %s (%s)\n", smpfota_update_mode_name(u->mode),
		       smpfota_update_mode_source_name(u->mode_source));
		printf("update: done in %.1f s: image %u runs %s (hash ", sec,
		       (unsigned)prm.upload.image, ver);
		cli_print_hex(stdout, s->info.hash, s->info.hash_len);
		printf("), %s\n", u->outcome <= SMPFOTA_UPDATE_RECOVERED && outcome_text[u->outcome]
					  ? outcome_text[u->outcome]
					  : "done");
	}
	return 0;
}

/* ---- the simple commands ---------------------------------------------------------------- */

int cli_simple(struct cli *s, enum smpfota_smp_msg msg, const void *req)
{
	s->on_ok = cli_on_ok_print;
	int rc = cli_request(s, msg, req);
	return rc ? cli_fail(s, rc) : 0;
}

int cli_no_options(struct cli *s, int argc, char **argv, int min_args, int max_args,
		   const char *expected)
{
	static const struct option none[] = {{0, 0, 0, 0}};
	int c;
	cli_opt_reset();
	if ((c = cli_next_opt(s, argc, argv, none)) != -1) {
		return -1; /* none is known: cli_next_opt said so */
	}
	int n = argc - optind;
	if (n < min_args || n > max_args) {
		cli_usage_error(s, expected);
		return -1;
	}
	return optind;
}

static int cmd_list(struct cli *s, int argc, char **argv)
{
	if (cli_no_options(s, argc, argv, 0, 0, "takes no argument") < 0) {
		return 2;
	}
	struct smpfota_img_state_read_req req = {0};
	return cli_simple(s, SMPFOTA_MSG_IMG_STATE_READ, &req);
}

static int cmd_test_confirm(struct cli *s, int argc, char **argv)
{
	bool confirm = !strcmp(argv[0], "confirm");
	int i = cli_no_options(s, argc, argv, confirm ? 0 : 1, 1,
			       confirm ? "expected [HASH]" : "expected HASH");
	if (i < 0) {
		return 2;
	}
	uint8_t hash[32];
	struct smpfota_img_state_write_req req = {.confirm = confirm};
	if (i < argc) {
		if (!cli_parse_hash(argv[i], hash)) {
			return cli_usage_error(s, "HASH must be 64 hex digits (the image hash "
						  "`image list` shows)");
		}
		req.has_hash = true;
		req.hash.ptr = hash;
		req.hash.len = sizeof(hash);
	}
	return cli_simple(s, SMPFOTA_MSG_IMG_STATE_WRITE, &req);
}

static int cmd_erase(struct cli *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{"slot", required_argument, 0, OPT_SLOT},
		{0, 0, 0, 0},
	};
	struct smpfota_img_erase_req req = {0};
	int c;
	unsigned long v;
	cli_opt_reset();
	while ((c = cli_next_opt(s, argc, argv, opts)) != -1) {
		if (c == -2) {
			return 2;
		}
		if (c != OPT_SLOT || !cli_parse_uint(optarg, UINT32_MAX, &v)) {
			return cli_usage_error(s, "expected [--slot N]");
		}
		req.has_slot = true;
		req.slot = (uint32_t)v;
	}
	if (optind != argc) {
		return cli_usage_error(s, "expected [--slot N]");
	}
	return cli_simple(s, SMPFOTA_MSG_IMG_ERASE, &req);
}

static int cmd_echo(struct cli *s, int argc, char **argv)
{
	int i = cli_no_options(s, argc, argv, 1, argc, "expected TEXT");
	if (i < 0) {
		return 2;
	}
	/* The words as given, joined as a shell user would expect. */
	static char text[4096];
	size_t n = 0;
	for (int k = i; k < argc; k++) {
		size_t len = strlen(argv[k]);
		if (n + len + 1 >= sizeof(text)) {
			return cli_usage_error(s, "TEXT too long");
		}
		if (k > i) {
			text[n++] = ' ';
		}
		memcpy(text + n, argv[k], len);
		n += len;
	}
	struct smpfota_os_echo_req req = {.d = {text, n}};
	return cli_simple(s, SMPFOTA_MSG_OS_ECHO, &req);
}

static int cmd_reset(struct cli *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, 0, OPT_FORCE},
		{0, 0, 0, 0},
	};
	bool force = false;
	int c;
	cli_opt_reset();
	while ((c = cli_next_opt(s, argc, argv, opts)) != -1) {
		if (c == -2) {
			return 2;
		}
		force = true;
	}
	if (optind != argc) {
		return cli_usage_error(s, "expected [--force]");
	}
	struct smpfota_os_reset_req req = {.has_force = force, .force = force};
	return cli_simple(s, SMPFOTA_MSG_OS_RESET, &req);
}

static int cmd_params(struct cli *s, int argc, char **argv)
{
	if (cli_no_options(s, argc, argv, 0, 0, "takes no argument") < 0) {
		return 2;
	}
	struct smpfota_os_params_req req = {0};
	int rc = cli_simple(s, SMPFOTA_MSG_OS_PARAMS, &req);
	if (rc == 0) {
		cli_print_params(s);
	}
	return rc;
}

static int cmd_info(struct cli *s, int argc, char **argv)
{
	int i = cli_no_options(s, argc, argv, 0, 1, "expected [FORMAT]");
	if (i < 0) {
		return 2;
	}
	struct smpfota_os_info_req req = {0};
	if (i < argc) {
		req.has_format = true;
		req.format.ptr = argv[i];
		req.format.len = strlen(argv[i]);
	}
	return cli_simple(s, SMPFOTA_MSG_OS_INFO, &req);
}

static int cmd_slot_info(struct cli *s, int argc, char **argv)
{
	if (cli_no_options(s, argc, argv, 0, 0, "takes no argument") < 0) {
		return 2;
	}
	struct smpfota_img_slot_info_req req = {0};
	return cli_simple(s, SMPFOTA_MSG_IMG_SLOT_INFO, &req);
}

/* bootloader info: the name (no query), then the mode (query "mode"), as two requests like
 * mcumgr's. A bootloader that names itself but has no answer for "mode" still prints. */
static int cmd_bootloader(struct cli *s, int argc, char **argv)
{
	if (cli_no_options(s, argc, argv, 0, 0, "takes no argument") < 0) {
		return 2;
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

/* The commands: word, subcommand word (NULL: none), what. */
static const struct {
	const char *cmd;
	const char *sub;
	int (*fn)(struct cli *s, int argc, char **argv);
} commands[] = {{"image", "list", cmd_list},
		{"image", "upload", cmd_upload},
		{"image", "test", cmd_test_confirm},
		{"image", "confirm", cmd_test_confirm},
		{"image", "erase", cmd_erase},
		{"image", "slot-info", cmd_slot_info},
		{"reset", NULL, cmd_reset},
		{"echo", NULL, cmd_echo},
		{"params", NULL, cmd_params},
		{"info", NULL, cmd_info},
		{"bootloader", "info", cmd_bootloader},
		{"update", NULL, cmd_update},
		CLI_EXTRA_COMMANDS};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

bool smpfota_cli_is_client_command(int argc, char **argv)
{
	for (size_t i = 0; argc >= 1 && i < N_COMMANDS; i++) {
		if (!strcmp(argv[0], commands[i].cmd)) {
			return true;
		}
	}
	return false;
}

int cli_check_command(const struct smpfota_cli_opts *o, int argc, char **argv)
{
	bool has_subs = false;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[0], commands[i].cmd) != 0) {
			continue;
		}
		if (commands[i].sub == NULL) {
			return 0;
		}
		has_subs = true;
		if (argc >= 2 && !strcmp(argv[1], commands[i].sub)) {
			return 0;
		}
	}
	if (has_subs) {
		char msg[160];
		if (argc < 2) {
			snprintf(msg, sizeof(msg),
				 "expected a subcommand (smpfota %s --help lists them)", argv[0]);
		} else {
			snprintf(msg, sizeof(msg), "unknown subcommand '%s'", argv[1]);
		}
		return smpfota_cli_usage_error(o->json, argv[0], msg);
	}
	return smpfota_cli_usage_error(o->json, argv[0], "unknown command");
}

int cli_dispatch(struct cli *s, int argc, char **argv)
{
	static char what[64];
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[0], commands[i].cmd) != 0) {
			continue;
		}
		if (commands[i].sub == NULL) {
			s->what = commands[i].cmd;
			return commands[i].fn(s, argc, argv);
		}
		if (argc >= 2 && !strcmp(argv[1], commands[i].sub)) {
			snprintf(what, sizeof(what), "%s %s", commands[i].cmd, commands[i].sub);
			s->what = what;
			return commands[i].fn(s, argc - 1, argv + 1);
		}
	}
	return cli_check_command(&s->o, argc, argv);
}
