/*
 * The commands mcumgr users reach for beyond image and OS basics, as host-side code (the
 * device library has no codec for them, so they cost the device budget nothing):
 *   stat list | stat read NAME          statistics group (2)
 *   taskstat, mpstat                    OS group (0) commands 2 and 3
 *   datetime get | datetime set [TIME]  OS group command 4
 *   shell exec CMD...                   shell group (9)
 *   fs upload|download|stat|hash        file system group (8); transfers resume
 * Requests and answers are CBOR built and read with zcbor (cli_cbor.c), sent through
 * cli_raw_request() with the engine's retransmissions. --json prints the answer's map with
 * its SMP key names, as `image list` does.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_cbor.h"
#include "cli_client.h"
#include "sha256.h" /* the library's SHA-256 (mbedTLS or PSA), as ports/emu uses it */
#include "zcbor_encode.h"

#define GROUP_OS 0
#define GROUP_STAT 2
#define GROUP_FS 8
#define GROUP_SHELL 9
/* Zephyr's command ids: os_mgmt.h, stat_mgmt.h, fs_mgmt.h, shell_mgmt.h */
#define OS_TASKSTAT 2
#define OS_MPSTAT 3
#define OS_DATETIME 4
#define STAT_READ 0
#define STAT_LIST 1
#define FS_FILE 0
#define FS_STAT 1
#define FS_HASH 2
#define SHELL_EXEC 0

static uint8_t req_buf[HOST_FRAME_MAX];
static uint8_t rsp_buf[HOST_FRAME_MAX];
static size_t rsp_len;

/* An encoder over req_buf; the payload is [req_buf, zs->payload). */
#define ENCODER(zs) ZCBOR_STATE_E(zs, 2, req_buf, sizeof(req_buf), 1)

static bool put_str(zcbor_state_t *zs, const char *key, const char *val)
{
	return zcbor_tstr_encode_ptr(zs, key, strlen(key)) &&
	       zcbor_tstr_encode_ptr(zs, val, strlen(val));
}

static bool put_uint(zcbor_state_t *zs, const char *key, uint64_t v)
{
	return zcbor_tstr_encode_ptr(zs, key, strlen(key)) && zcbor_uint64_put(zs, v);
}

static int send_req(struct cli *s, uint8_t op, uint16_t group, uint8_t id, zcbor_state_t *zs,
		    bool encoded)
{
	if (!encoded) {
		return SMPFOTA_ERR_NOSPC;
	}
	size_t len = (size_t)(zs->payload - req_buf);
	return cli_raw_request(s, op, group, id, req_buf, len, rsp_buf, sizeof(rsp_buf), &rsp_len);
}

/* A read request with an empty map. */
static int send_empty(struct cli *s, uint16_t group, uint8_t id)
{
	ENCODER(zs);
	bool ok = zcbor_map_start_encode(zs, 1) && zcbor_map_end_encode(zs, 1);
	return send_req(s, SMPFOTA_SMP_OP_READ, group, id, zs, ok);
}

/* The answer as JSON on stdout. */
static int print_answer_json(void)
{
	struct json_writer w;
	json_init(&w, stdout, 2);
	if (!cbor_to_json(&w, rsp_buf, rsp_len)) {
		return 1;
	}
	return json_finish(&w) ? 1 : 0;
}

static int answer_malformed(struct cli *s, const char *what)
{
	return cli_fail_msg(s, "PROTO", NULL, 1, "the answer has no valid %s", what);
}

/* ---- stat ------------------------------------------------------------------------------ */

static void print_name(void *user, const char *key, size_t key_len, const struct cbor_val *v)
{
	(void)user;
	(void)key;
	(void)key_len;
	if (v->type == 3) {
		printf("%.*s\n", (int)v->len, (const char *)v->str);
	}
}

static void print_field(void *user, const char *key, size_t key_len, const struct cbor_val *v)
{
	(void)user;
	if (v->type <= 1) {
		printf("  %.*s: %" PRId64 "\n", (int)key_len, key, v->i);
	}
}

static int cmd_stat(struct cli *s, int argc, char **argv)
{
	bool list = !strcmp(argv[0], "list");
	int i = cli_no_options(s, argc, argv, list ? 0 : 1, list ? 0 : 1,
			       list ? "takes no argument" : "expected NAME (stat list shows them)");
	if (i < 0) {
		return 2;
	}
	int rc;
	if (list) {
		rc = send_empty(s, GROUP_STAT, STAT_LIST);
	} else {
		ENCODER(zs);
		bool ok = zcbor_map_start_encode(zs, 1) && put_str(zs, "name", argv[i]) &&
			  zcbor_map_end_encode(zs, 1);
		rc = send_req(s, SMPFOTA_SMP_OP_READ, GROUP_STAT, STAT_READ, zs, ok);
	}
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	if (s->o.json) {
		return print_answer_json();
	}
	struct cbor_val v;
	if (list) {
		if (!cbor_find(rsp_buf, rsp_len, "stat_list", &v) ||
		    !cbor_each_elem(&v, print_name, NULL)) {
			return answer_malformed(s, "stat_list");
		}
		return 0;
	}
	if (!cbor_find(rsp_buf, rsp_len, "fields", &v)) {
		return answer_malformed(s, "fields");
	}
	printf("%s:\n", argv[i]);
	return cbor_each(&v, print_field, NULL) ? 0 : answer_malformed(s, "fields");
}

/* ---- taskstat, mpstat --------------------------------------------------------------------- */

/* A numeric member as a column, or "-" when the target leaves it out (Zephyr's Kconfig
 * chooses which it sends). */
static const char *field(const struct cbor_val *map, const char *key, char buf[24])
{
	struct cbor_val v;
	if (cbor_find_in(map, key, &v) && v.type <= 1) {
		snprintf(buf, 24, "%" PRId64, v.i);
	} else {
		snprintf(buf, 24, "-");
	}
	return buf;
}

static void print_task(void *user, const char *key, size_t key_len, const struct cbor_val *v)
{
	char b[7][24];
	(void)user;
	printf("%16.*s %4s %4s %5s %8s %8s %8s %10s\n", (int)key_len, key, field(v, "prio", b[0]),
	       field(v, "tid", b[1]), field(v, "state", b[2]), field(v, "stkuse", b[3]),
	       field(v, "stksiz", b[4]), field(v, "cswcnt", b[5]), field(v, "runtime", b[6]));
}

static void print_pool(void *user, const char *key, size_t key_len, const struct cbor_val *v)
{
	char b[4][24];
	(void)user;
	printf("%16.*s %8s %6s %6s %6s\n", (int)key_len, key, field(v, "blksiz", b[0]),
	       field(v, "nblks", b[1]), field(v, "nfree", b[2]), field(v, "min", b[3]));
}

static int cmd_taskstat(struct cli *s, int argc, char **argv)
{
	bool tasks = !strcmp(argv[0], "taskstat");
	if (cli_no_options(s, argc, argv, 0, 0, "takes no argument") < 0) {
		return 2;
	}
	int rc = send_empty(s, GROUP_OS, tasks ? OS_TASKSTAT : OS_MPSTAT);
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	if (s->o.json) {
		return print_answer_json();
	}
	struct cbor_val v;
	if (!cbor_find(rsp_buf, rsp_len, tasks ? "tasks" : "mpools", &v)) {
		return answer_malformed(s, tasks ? "tasks" : "mpools");
	}
	/* mcumgr's columns */
	if (tasks) {
		printf("%16s %4s %4s %5s %8s %8s %8s %10s\n", "task", "pri", "tid", "stat",
		       "stkuse", "stksiz", "cswcnt", "runtime");
	} else {
		printf("%16s %8s %6s %6s %6s\n", "mpool", "blksiz", "nblks", "nfree", "min");
	}
	return cbor_each(&v, tasks ? print_task : print_pool, NULL) ? 0
								    : answer_malformed(s, "map");
}

/* ---- datetime ----------------------------------------------------------------------------- */

static int cmd_datetime(struct cli *s, int argc, char **argv)
{
	bool set = !strcmp(argv[0], "set");
	int i = cli_no_options(s, argc, argv, 0, set ? 1 : 0,
			       set ? "expected [TIME] (YYYY-MM-DDTHH:MM:SS; default: now, UTC)"
				   : "takes no argument");
	if (i < 0) {
		return 2;
	}
	int rc;
	char now[32];
	if (set) {
		const char *when = i < argc ? argv[i] : NULL;
		if (when == NULL) {
			time_t t = time(NULL);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm);
			when = now;
		}
		ENCODER(zs);
		bool ok = zcbor_map_start_encode(zs, 1) && put_str(zs, "datetime", when) &&
			  zcbor_map_end_encode(zs, 1);
		rc = send_req(s, SMPFOTA_SMP_OP_WRITE, GROUP_OS, OS_DATETIME, zs, ok);
		if (rc == 0) {
			if (s->o.json) {
				struct json_writer w;
				json_init(&w, stdout, 2);
				json_begin_object(&w);
				json_key(&w, "datetime");
				json_string(&w, when);
				json_end_object(&w);
				(void)json_finish(&w);
			} else {
				printf("datetime set to %s\n", when);
			}
		}
		return rc ? cli_fail(s, rc) : 0;
	}
	rc = send_empty(s, GROUP_OS, OS_DATETIME);
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	if (s->o.json) {
		return print_answer_json();
	}
	struct cbor_val v;
	if (!cbor_find(rsp_buf, rsp_len, "datetime", &v) || v.type != 3) {
		return answer_malformed(s, "datetime");
	}
	printf("%.*s\n", (int)v.len, (const char *)v.str);
	return 0;
}

/* ---- shell exec --------------------------------------------------------------------------- */

static int cmd_shell(struct cli *s, int argc, char **argv)
{
	int i = cli_no_options(s, argc, argv, 1, argc,
			       "expected COMMAND [ARGS] (after --, "
			       "arguments that start with -)");
	if (i < 0) {
		return 2;
	}
	ENCODER(zs);
	bool ok = zcbor_map_start_encode(zs, 1) && zcbor_tstr_encode_ptr(zs, "argv", 4) &&
		  zcbor_list_start_encode(zs, (size_t)(argc - i));
	for (int k = i; ok && k < argc; k++) {
		ok = zcbor_tstr_encode_ptr(zs, argv[k], strlen(argv[k]));
	}
	ok = ok && zcbor_list_end_encode(zs, (size_t)(argc - i)) && zcbor_map_end_encode(zs, 1);
	int rc = send_req(s, SMPFOTA_SMP_OP_WRITE, GROUP_SHELL, SHELL_EXEC, zs, ok);
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	struct cbor_val out, ret;
	bool has_ret = cbor_find(rsp_buf, rsp_len, "ret", &ret) && ret.type <= 1;
	if (s->o.json) {
		return print_answer_json() ? 1 : (has_ret && ret.i != 0 ? 1 : 0);
	}
	if (cbor_find(rsp_buf, rsp_len, "o", &out) && out.type == 3) {
		fwrite(out.str, 1, out.len, stdout);
		if (out.len && out.str[out.len - 1] != '\n') {
			putchar('\n');
		}
	}
	if (has_ret && ret.i != 0) {
		fflush(stdout);
		fprintf(stderr, "smpfota: shell exec: the command returned %" PRId64 "\n", ret.i);
		return 1;
	}
	return 0;
}

/* ---- fs --------------------------------------------------------------------------------- */

/* Remote file length (fs stat); SMPFOTA_ERR_REJECTED when it does not exist. */
static int fs_stat(struct cli *s, const char *name, uint64_t *len)
{
	ENCODER(zs);
	bool ok = zcbor_map_start_encode(zs, 1) && put_str(zs, "name", name) &&
		  zcbor_map_end_encode(zs, 1);
	int rc = send_req(s, SMPFOTA_SMP_OP_READ, GROUP_FS, FS_STAT, zs, ok);
	struct cbor_val v;
	if (rc == 0) {
		if (!cbor_find(rsp_buf, rsp_len, "len", &v) || v.type != 0) {
			return SMPFOTA_ERR_PROTO;
		}
		*len = (uint64_t)v.i;
	}
	return rc;
}

/* SHA-256 of the remote [off, off + len) (fs hash); 0 or an error. */
static int fs_sha256(struct cli *s, const char *name, uint64_t off, uint64_t len, uint8_t out[32])
{
	ENCODER(zs);
	bool ok = zcbor_map_start_encode(zs, 4) && put_str(zs, "name", name) &&
		  put_str(zs, "type", "sha256") && put_uint(zs, "off", off) &&
		  put_uint(zs, "len", len) && zcbor_map_end_encode(zs, 4);
	int rc = send_req(s, SMPFOTA_SMP_OP_READ, GROUP_FS, FS_HASH, zs, ok);
	struct cbor_val v;
	if (rc == 0) {
		if (!cbor_find(rsp_buf, rsp_len, "output", &v) || v.type != 2 || v.len != 32) {
			return SMPFOTA_ERR_PROTO;
		}
		memcpy(out, v.str, 32);
	}
	return rc;
}

static void sha256_file(FILE *f, uint64_t len, uint8_t out[32])
{
	smpfota_sha256_ctx c;
	uint8_t buf[4096];
	smpfota_sha256_init(&c);
	(void)smpfota_sha256_starts(&c);
	rewind(f);
	while (len > 0) {
		size_t n = fread(buf, 1, len < sizeof(buf) ? (size_t)len : sizeof(buf), f);
		if (n == 0) {
			break;
		}
		(void)smpfota_sha256_update(&c, buf, n);
		len -= n;
	}
	(void)smpfota_sha256_finish(&c, out);
	smpfota_sha256_free(&c);
}

/* Data bytes per fs request: the frame (link, and the target's buffer when known) less the
 * header and the other keys (off, len, name) with room to spare. */
static size_t fs_chunk(const struct cli *s, const char *name)
{
	size_t frame = s->link->mtu;
	if (s->params_known && s->buf_size && s->buf_size < frame) {
		frame = s->buf_size;
	}
	size_t overhead = SMPFOTA_SMP_HDR_SIZE + 48 + strlen(name);
	return frame > overhead + 16 ? frame - overhead : 16;
}

static void fs_progress(struct cli *s, uint64_t done, uint64_t total)
{
	struct smpfota_upload_progress p = {
		.done = (uint32_t)done,
		.total = (uint32_t)total,
		.window = 1,
	};
	cli_on_progress(s, &p);
}

static int fs_summary(struct cli *s, const char *dir, uint64_t total)
{
	s->up_end = cli_now_us();
	uint64_t us = s->up_end - s->up_start;
	uint32_t ms = (uint32_t)((us + 500) / 1000);
	uint64_t moved = total - s->resumed_at;
	double kBps = us ? moved * 1000.0 / (double)us : 0;
	if (s->o.json) {
		char key[32];
		snprintf(key, sizeof(key), "%s_bytes", dir);
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "file");
		json_string(&w, s->file.path);
		json_key(&w, "bytes");
		json_uint(&w, total);
		if (s->resumed) {
			json_key(&w, "resumed_at");
			json_uint(&w, s->resumed_at);
		}
		json_key(&w, key);
		json_uint(&w, moved);
		json_key(&w, "ms");
		json_uint(&w, ms);
		json_key(&w, "kBps");
		json_uint(&w, (unsigned long long)(kBps + 0.5));
		json_end_object(&w);
		return json_finish(&w) ? 1 : 0;
	}
	cli_end_bar(s);
	fprintf(s->progress_out, "fs %s: %" PRIu64 " bytes in %.3f s, %.1f kB/s%s\n",
		!strcmp(dir, "uploaded") ? "upload" : "download", moved, ms / 1000.0, kBps,
		s->resumed ? " (resumed)" : "");
	return 0;
}

static int fs_upload(struct cli *s, const char *local, const char *remote)
{
	FILE *f = fopen(local, "rb");
	if (f == NULL) {
		return cli_fail_msg(s, "IO", NULL, 1, "%s: %s", local, strerror(errno));
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return cli_fail_msg(s, "IO", NULL, 1, "%s: not a regular file", local);
	}
	uint64_t total = (uint64_t)st.st_size;
	s->file.path = local;
	s->progress_label = "fs upload";
	cli_progress_begin(s);
	/* Resume: the target has a shorter file whose bytes are ours (fs hash says so). */
	uint64_t off = 0, have = 0;
	if (fs_stat(s, remote, &have) == 0 && have > 0 && have < total) {
		uint8_t mine[32], theirs[32];
		sha256_file(f, have, mine);
		if (fs_sha256(s, remote, 0, have, theirs) == 0 && !memcmp(mine, theirs, 32)) {
			off = have;
			s->resumed = true;
			s->resumed_at = (uint32_t)have;
			fprintf(s->progress_out,
				"fs upload: resuming at %" PRIu64 " of %" PRIu64 " bytes\n", off,
				total);
		}
	}
	size_t chunk = fs_chunk(s, remote);
	static uint8_t data[HOST_FRAME_MAX];
	int rc = 0;
	do {
		if (fseek(f, (long)off, SEEK_SET) != 0) {
			rc = SMPFOTA_ERR_IO;
			break;
		}
		size_t n = fread(data, 1, chunk, f);
		ENCODER(zs);
		bool ok = zcbor_map_start_encode(zs, 4) && put_str(zs, "name", remote) &&
			  put_uint(zs, "off", off) && zcbor_tstr_encode_ptr(zs, "data", 4) &&
			  zcbor_bstr_encode_ptr(zs, (const char *)data, n) &&
			  (off != 0 || put_uint(zs, "len", total)) && zcbor_map_end_encode(zs, 4);
		rc = send_req(s, SMPFOTA_SMP_OP_WRITE, GROUP_FS, FS_FILE, zs, ok);
		if (rc != 0) {
			break;
		}
		struct cbor_val v;
		if (!cbor_find(rsp_buf, rsp_len, "off", &v) || v.type != 0 ||
		    (uint64_t)v.i > total) {
			rc = SMPFOTA_ERR_PROTO;
			break;
		}
		off = (uint64_t)v.i; /* where the target wants the next bytes */
		s->in_upload = true;
		fs_progress(s, off, total);
	} while (off < total);
	fclose(f);
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	return fs_summary(s, "uploaded", total);
}

static int fs_download(struct cli *s, const char *remote, const char *local)
{
	uint64_t total = 0, off = 0;
	s->file.path = local;
	s->progress_label = "fs download";
	cli_progress_begin(s);
	int rc = fs_stat(s, remote, &total);
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	/* Resume: a shorter local file whose bytes are the target's (fs hash says so). */
	FILE *f = fopen(local, "r+b");
	struct stat st;
	if (f && fstat(fileno(f), &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size < total) {
		uint8_t mine[32], theirs[32];
		sha256_file(f, (uint64_t)st.st_size, mine);
		if (fs_sha256(s, remote, 0, (uint64_t)st.st_size, theirs) == 0 &&
		    !memcmp(mine, theirs, 32)) {
			off = (uint64_t)st.st_size;
			s->resumed = true;
			s->resumed_at = (uint32_t)off;
			fprintf(s->progress_out,
				"fs download: resuming at %" PRIu64 " of %" PRIu64 " bytes\n", off,
				total);
		}
	}
	if (f == NULL || off == 0) {
		if (f) {
			fclose(f);
		}
		f = fopen(local, "wb");
		if (f == NULL) {
			return cli_fail_msg(s, "IO", NULL, 1, "%s: %s", local, strerror(errno));
		}
	}
	if (fseek(f, (long)off, SEEK_SET) != 0) {
		fclose(f);
		return cli_fail_msg(s, "IO", NULL, 1, "%s: %s", local, strerror(errno));
	}
	while (off < total || total == 0) {
		ENCODER(zs);
		bool ok = zcbor_map_start_encode(zs, 2) && put_str(zs, "name", remote) &&
			  put_uint(zs, "off", off) && zcbor_map_end_encode(zs, 2);
		rc = send_req(s, SMPFOTA_SMP_OP_READ, GROUP_FS, FS_FILE, zs, ok);
		if (rc != 0) {
			break;
		}
		struct cbor_val v, d;
		if (!cbor_find(rsp_buf, rsp_len, "off", &v) || v.type != 0 ||
		    (uint64_t)v.i != off || !cbor_find(rsp_buf, rsp_len, "data", &d) ||
		    d.type != 2 || (d.len == 0 && off < total)) {
			rc = SMPFOTA_ERR_PROTO;
			break;
		}
		if (fwrite(d.str, 1, d.len, f) != d.len) {
			fclose(f);
			return cli_fail_msg(s, "IO", NULL, 1, "%s: %s", local, strerror(errno));
		}
		off += d.len;
		s->in_upload = true;
		fs_progress(s, off, total);
		if (total == 0) {
			break;
		}
	}
	if (fclose(f) != 0 && rc == 0) {
		return cli_fail_msg(s, "IO", NULL, 1, "%s: %s", local, strerror(errno));
	}
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	return fs_summary(s, "downloaded", total);
}

static int cmd_fs(struct cli *s, int argc, char **argv)
{
	const char *sub = argv[0];
	bool two = !strcmp(sub, "upload") || !strcmp(sub, "download");
	int i = cli_no_options(s, argc, argv, two ? 2 : 1, two ? 2 : 1,
			       !strcmp(sub, "upload")     ? "expected LOCAL REMOTE"
			       : !strcmp(sub, "download") ? "expected REMOTE LOCAL"
							  : "expected REMOTE");
	if (i < 0) {
		return 2;
	}
	int rc = cli_learn_params(s); /* the target's buffer sizes the chunks */
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	if (!strcmp(sub, "upload")) {
		return fs_upload(s, argv[i], argv[i + 1]);
	}
	if (!strcmp(sub, "download")) {
		return fs_download(s, argv[i], argv[i + 1]);
	}
	uint64_t len = 0;
	rc = fs_stat(s, argv[i], &len);
	if (rc == 0 && !strcmp(sub, "hash")) {
		uint8_t h[32];
		rc = fs_sha256(s, argv[i], 0, len, h);
		if (rc == 0 && !s->o.json) {
			cli_print_hex(stdout, h, sizeof(h));
			printf("  %s (%" PRIu64 " bytes, sha256)\n", argv[i], len);
			return 0;
		}
	} else if (rc == 0 && !s->o.json) {
		printf("%s: %" PRIu64 " bytes\n", argv[i], len);
		return 0;
	}
	if (rc != 0) {
		return cli_fail(s, rc);
	}
	return print_answer_json();
}

/* The table entries (cli_commands.c CLI_EXTRA_COMMANDS) call these. */
int cli_extra_stat(struct cli *s, int argc, char **argv)
{
	return cmd_stat(s, argc, argv);
}

int cli_extra_os(struct cli *s, int argc, char **argv)
{
	if (!strcmp(argv[0], "taskstat") || !strcmp(argv[0], "mpstat")) {
		return cmd_taskstat(s, argc, argv);
	}
	return cmd_datetime(s, argc, argv);
}

int cli_extra_shell(struct cli *s, int argc, char **argv)
{
	return cmd_shell(s, argc, argv);
}

int cli_extra_fs(struct cli *s, int argc, char **argv)
{
	return cmd_fs(s, argc, argv);
}
