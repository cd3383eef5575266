/*
 * Private to the CLI's client commands (tools/cli_*.c that talk to a target):
 *   cli_session.c   the link, the client engine, the event loop, image files
 *   cli_errors.c    the one error line (and its hint) a failed command prints
 *   cli_progress.c  the upload progress bar or log lines, and the upload figures
 *   cli_print.c     how each successful answer is printed, as text or JSON
 *   cli_commands.c  argument parsing and the commands themselves
 */
#ifndef SMPFOTA_TOOLS_CLI_CLIENT_H
#define SMPFOTA_TOOLS_CLI_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "json.h"
#include "posix/host_transport.h"
#include "smpfota/client.h"
#include "smpfota/image.h"
#include "smpfota/smp.h"
#include "smpfota/update.h"

struct image_file {
	const char *path;
	uint8_t *data;
	uint32_t size;
};

/* The state of one command run (one per process). */
struct cli {
	struct smpfota_cli_opts o;
	const char *what; /* command, for messages: "image list" */
	struct host_link *link;
	struct smpfota_client c;
	/* --key: the secure channel between the engine and the link (docs/security.md) */
	struct smpfota_cli_key key;
	struct smpfota_secure sec;
	bool sec_ready;
	uint32_t timeout_ms;

	/* completion of the current request, upload or update */
	bool done;
	int err;
	bool has_status;
	struct smpfota_smp_status st;
	char rsn[160];        /* st.rsn copied: the response buffer is gone by then */
	const char *step;     /* update: the step that failed */
	uint32_t malformed;   /* frames the engine refused as not SMP */
	bool reported;        /* the error line is already out */
	int exit_status;      /* with reported: the status it called for (0 = 1) */
	bool padded;          /* the file carries an imgtool --pad trailer */
	bool in_upload;       /* an upload is running: Ctrl-C says where it stopped */
	uint16_t chunk_asked; /* --chunk, 0 if not given */
	/* refusals (UDP port unreachable) since the last answer: cli_run() fails fast */
	uint32_t rx_frames_seen, refused_seen, refused_since;
	uint32_t last_rx, last_probe;
	bool refusing;

	/* how the current command prints a successful response */
	void (*on_ok)(struct cli *s, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp);

	/* bootloader info: the name and the answer to query "mode" */
	char bl_name[32];
	bool bl_has_mode, bl_no_downgrade;
	int32_t bl_mode;

	/* os params */
	bool params_known;
	bool params_asked; /* asked (the target may not have the command) */
	uint32_t buf_size, buf_count;
	size_t req_len; /* encoded size of the last request (NOSPC message) */

	/* upload / update */
	struct image_file file;
	struct smpfota_image_info info;
	FILE *progress_out;         /* stdout, or stderr with --json */
	const char *progress_label; /* progress lines' prefix; NULL: "upload" */
	bool bar;                   /* a terminal: redraw one bar line */
	bool bar_drawn;
	int last_decile;
	uint32_t last_bar;
	bool have_progress;
	bool resumed;        /* the target had part of this file from an earlier run */
	uint32_t resumed_at; /* then: its offset at the first answer */
	struct smpfota_upload_progress last;
	bool match;
	uint64_t up_start, up_end; /* cli_now_us(): rates of fast links need better than ms */
	uint64_t tx_bytes_start;
	uint32_t tx_frames_start;
	bool up_summarised;
};

/* ---- cli_session.c ---- */

/* Monotonic milliseconds, wrapping: the engine's clock. */
uint32_t cli_now_ms(void);
/* Monotonic microseconds, for the figures of an upload. */
uint64_t cli_now_us(void);
/* (Re)initialise the client engine for frames of mtu bytes, starting at sequence seq. */
int cli_client_init(struct cli *s, uint16_t mtu, uint8_t seq);
/* Run until the current request, upload or update completes (s->done). Returns s->err. */
int cli_run(struct cli *s, struct smpfota_update *u);
/* Send one request and wait for its answer (s->on_ok prints it). 0 or an smpfota error. */
int cli_request(struct cli *s, enum smpfota_smp_msg msg, const void *req);
/* Keep a copy of a rejection (its rsn points into a response buffer about to go). */
void cli_save_status(struct cli *s, const struct smpfota_smp_status *st);
/* Load FILE into s->file, check it as MCUboot would and fill src. 0, or 1 after a message. */
int cli_load_image(struct cli *s, const char *path, struct smpfota_upload_source *src);
/* A request of a group the engine has no codec for (op, group, id, CBOR payload), sent and
 * retransmitted as the engine does; its answer's CBOR payload into rsp. 0; SMPFOTA_ERR_REJECTED
 * with s->st set when the answer's rc/err says so; or the engine's errors. */
int cli_raw_request(struct cli *s, uint8_t op, uint16_t group, uint8_t id, const uint8_t *payload,
		    size_t len, uint8_t *rsp, size_t cap, size_t *rsp_len);
/* os params into s->buf_size/buf_count; on serial, size frames to the server's buffer. */
int cli_learn_params(struct cli *s);

/* ---- cli_errors.c ---- */

/* Report err (smpfota_cli_report: a line, a hint, JSON); returns the exit status 1 (or the
 * status of an error already reported). */
int cli_fail(struct cli *s, int err);
/* Report an error that is not an smpfota code (name "INTERRUPTED", ...); marks it reported
 * so that a later cli_fail() says nothing more. Returns status. */
int cli_fail_msg(struct cli *s, const char *name, const char *hint, int status, const char *fmt,
		 ...) __attribute__((format(printf, 5, 6)));
/* A usage error of the current command; returns the exit status 2. */
int cli_usage_error(struct cli *s, const char *msg);
/* "HASH_NOT_FOUND (image group error 8)", "EINVAL (rc 3): header malformed" */
void cli_describe_status(const struct smpfota_smp_status *st, char *buf, size_t size);

/* ---- cli_progress.c ---- */

/* Start counting an upload (time, frames, bytes) and choose bar or log lines. */
void cli_progress_begin(struct cli *s);
/* smpfota_upload_progress_fn: redraw the bar, or one log line per 10 %. */
void cli_on_progress(void *user, const struct smpfota_upload_progress *p);
/* End a drawn bar line, before anything else is printed. */
void cli_end_bar(struct cli *s);
/* The upload's figures as one line, or as members of the JSON object w is in. */
void cli_upload_summary(struct cli *s, struct json_writer *w, bool with_match);

/* ---- cli_print.c ---- */

void cli_print_hex(FILE *f, const uint8_t *p, size_t n);
/* The on_ok of the simple commands: print the answer as text or JSON. */
void cli_on_ok_print(struct cli *s, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp);
void cli_print_params(struct cli *s);
/* on_ok of bootloader info: keeps the name, the mode and no-downgrade in s. */
void cli_on_bootloader(struct cli *s, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp);
/* What bootloader info learnt, as text or JSON. */
void cli_print_bootloader(struct cli *s);

/* ---- cli_commands.c ---- */

struct option;

/* Run the command in argv[0] on an open session. Returns the exit status. */
int cli_dispatch(struct cli *s, int argc, char **argv);
/* 0 when argv names a command and subcommand; else a usage error's status. */
int cli_check_command(const struct smpfota_cli_opts *o, int argc, char **argv);
/* getopt_long over a command's arguments (argv[0] is the command word): the option, -1 at
 * the end, or -2 after a usage error (unknown option, missing value). */
int cli_next_opt(struct cli *s, int argc, char **argv, const struct option *opts);
/* Before the first cli_next_opt() of a command. */
void cli_opt_reset(void);
/* A command without options and with min..max operands: index of the first operand, or
 * -1 after a usage error (expected says what is). */
int cli_no_options(struct cli *s, int argc, char **argv, int min_args, int max_args,
		   const char *expected);
/* Send one request, print its answer with cli_on_ok_print(); the exit status. */
int cli_simple(struct cli *s, enum smpfota_smp_msg msg, const void *req);
bool cli_parse_uint(const char *text, unsigned long max, unsigned long *out);
bool cli_parse_seconds(const char *text, uint32_t *ms);
bool cli_parse_hash(const char *text, uint8_t out[32]);

/* The host-side extras (cli_extra.c), as entries of cli_commands.c's table. */
int cli_extra_stat(struct cli *s, int argc, char **argv);
int cli_extra_os(struct cli *s, int argc, char **argv);
int cli_extra_shell(struct cli *s, int argc, char **argv);
int cli_extra_fs(struct cli *s, int argc, char **argv);
#define CLI_EXTRA_COMMANDS \
	{"stat", "list", cli_extra_stat}, {"stat", "read", cli_extra_stat}, \
		{"taskstat", NULL, cli_extra_os}, {"mpstat", NULL, cli_extra_os}, \
		{"datetime", "get", cli_extra_os}, {"datetime", "set", cli_extra_os}, \
		{"shell", "exec", cli_extra_shell}, {"fs", "upload", cli_extra_fs}, \
		{"fs", "download", cli_extra_fs}, {"fs", "stat", cli_extra_fs}, \
		{"fs", "hash", cli_extra_fs},

#endif
