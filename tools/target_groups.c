/* Host-side groups of `smpfota target` (target_groups.h): stat, OS taskstat/mpstat/datetime,
 * shell, fs. Requests are read and answers written with zcbor. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_cbor.h"
#include "sha256.h" /* the library's SHA-256, as ports/emu uses it */
#include "smpfota/smp.h"
#include "smpfota/smpfota.h"
#include "target_groups.h"
#include "zcbor_encode.h"

enum { G_OS = 0, G_STAT = 2, G_FS = 8, G_SHELL = 9 };

/* The answer being built: header later, payload through zcbor. */
struct answer {
	zcbor_state_t zs[8]; /* the answer map and two levels below it, with room */
	bool ok;
};

static void begin(struct answer *a, uint8_t *rsp, size_t cap)
{
	zcbor_new_encode_state(a->zs, 8, rsp + SMPFOTA_SMP_HDR_SIZE, cap - SMPFOTA_SMP_HDR_SIZE, 1);
	a->ok = zcbor_map_start_encode(a->zs, 16);
}

static void key(struct answer *a, const char *k)
{
	a->ok = a->ok && zcbor_tstr_encode_ptr(a->zs, k, strlen(k));
}

static void put_int(struct answer *a, const char *k, int64_t v)
{
	key(a, k);
	a->ok = a->ok && zcbor_int64_put(a->zs, v);
}

static void put_str(struct answer *a, const char *k, const char *v, size_t n)
{
	key(a, k);
	a->ok = a->ok && zcbor_tstr_encode_ptr(a->zs, v, n);
}

/* Close the map and write the header: the frame's length, or 0 if it did not fit. */
static int finish(struct answer *a, const struct smpfota_smp_hdr *req, uint8_t *rsp)
{
	a->ok = a->ok && zcbor_map_end_encode(a->zs, 16);
	if (!a->ok) {
		return 0;
	}
	size_t n = (size_t)(a->zs->payload - (rsp + SMPFOTA_SMP_HDR_SIZE));
	struct smpfota_smp_hdr h = *req;
	h.op = (uint8_t)(req->op + 1); /* read -> read rsp, write -> write rsp */
	h.len = (uint16_t)n;
	smpfota_smp_hdr_encode(&h, rsp);
	return (int)(n + SMPFOTA_SMP_HDR_SIZE);
}

static int error(const struct smpfota_smp_hdr *req, uint8_t *rsp, size_t cap, int rc,
		 const char *why)
{
	struct answer a;
	begin(&a, rsp, cap);
	put_int(&a, "rc", rc);
	if (why) {
		put_str(&a, "rsn", why, strlen(why));
	}
	return finish(&a, req, rsp);
}

/* A text value of the request, NUL-terminated into buf; false if absent or too long. */
static bool req_str(const uint8_t *p, size_t n, const char *k, char *buf, size_t size)
{
	struct cbor_val v;
	if (!cbor_find(p, n, k, &v) || v.type != 3 || v.len >= size) {
		return false;
	}
	memcpy(buf, v.str, v.len);
	buf[v.len] = '\0';
	return true;
}

static bool req_uint(const uint8_t *p, size_t n, const char *k, uint64_t *out)
{
	struct cbor_val v;
	if (!cbor_find(p, n, k, &v) || v.type != 0) {
		return false;
	}
	*out = (uint64_t)v.i;
	return true;
}

/* ---- stat ----------------------------------------------------------------------------- */

static int stat_group(struct target_groups *g, const struct smpfota_smp_hdr *h, const uint8_t *p,
		      size_t n, uint8_t *rsp, size_t cap)
{
	struct answer a;
	begin(&a, rsp, cap);
	if (h->id == 1) { /* list */
		key(&a, "stat_list");
		a.ok = a.ok && zcbor_list_start_encode(a.zs, 1) &&
		       zcbor_tstr_encode_ptr(a.zs, "smp", 3) && zcbor_list_end_encode(a.zs, 1);
		return finish(&a, h, rsp);
	}
	char name[64];
	if (h->id != 0 || !req_str(p, n, "name", name, sizeof(name))) {
		return error(h, rsp, cap, SMPFOTA_MGMT_EINVAL, NULL);
	}
	if (strcmp(name, "smp") != 0) {
		return error(h, rsp, cap, SMPFOTA_MGMT_ENOENT, "no such statistics group");
	}
	put_str(&a, "name", name, strlen(name));
	key(&a, "fields");
	a.ok = a.ok && zcbor_map_start_encode(a.zs, 5);
	put_int(&a, "requests", g->requests);
	put_int(&a, "errors", g->errors);
	put_int(&a, "resets", g->resets);
	put_int(&a, "bytes_in", (int64_t)g->bytes_in);
	put_int(&a, "bytes_out", (int64_t)g->bytes_out);
	a.ok = a.ok && zcbor_map_end_encode(a.zs, 5);
	return finish(&a, h, rsp);
}

/* ---- OS taskstat, mpstat, datetime ------------------------------------------------------- */

/* The one task of the simulated target is this host process: its real figures. */
static int os_taskstat(const struct smpfota_smp_hdr *h, uint8_t *rsp, size_t cap)
{
	struct rusage ru;
	struct rlimit rl;
	getrusage(RUSAGE_SELF, &ru);
	int64_t stksiz = getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
				 ? (int64_t)rl.rlim_cur
				 : 0;
	struct answer a;
	begin(&a, rsp, cap);
	key(&a, "tasks");
	a.ok = a.ok && zcbor_map_start_encode(a.zs, 1);
	key(&a, "smpfota_target");
	a.ok = a.ok && zcbor_map_start_encode(a.zs, 9);
	put_int(&a, "prio", getpriority(PRIO_PROCESS, 0));
	put_int(&a, "tid", getpid());
	put_int(&a, "state", 0);
	put_int(&a, "stkuse", ru.ru_maxrss); /* kB: the process' peak resident set */
	put_int(&a, "stksiz", stksiz / 1024);
	put_int(&a, "cswcnt", ru.ru_nvcsw + ru.ru_nivcsw);
	put_int(&a, "runtime", ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000);
	put_int(&a, "last_checkin", 0);
	put_int(&a, "next_checkin", 0);
	a.ok = a.ok && zcbor_map_end_encode(a.zs, 9) && zcbor_map_end_encode(a.zs, 1);
	return finish(&a, h, rsp);
}

/* The memory pool a target has: the server's SMP buffers (one in use per request). */
static int os_mpstat(const struct target_groups *g, const struct smpfota_smp_hdr *h, uint8_t *rsp,
		     size_t cap)
{
	struct answer a;
	begin(&a, rsp, cap);
	key(&a, "mpools");
	a.ok = a.ok && zcbor_map_start_encode(a.zs, 1);
	key(&a, "smp_bufs");
	a.ok = a.ok && zcbor_map_start_encode(a.zs, 4);
	put_int(&a, "blksiz", g->buf_size);
	put_int(&a, "nblks", g->buf_count);
	put_int(&a, "nfree", g->buf_count - 1); /* this request holds one */
	put_int(&a, "min", g->buf_count - 1);
	a.ok = a.ok && zcbor_map_end_encode(a.zs, 4) && zcbor_map_end_encode(a.zs, 1);
	return finish(&a, h, rsp);
}

static int os_datetime(struct target_groups *g, const struct smpfota_smp_hdr *h, const uint8_t *p,
		       size_t n, uint8_t *rsp, size_t cap)
{
	char text[40];
	if (h->op == SMPFOTA_SMP_OP_WRITE) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		/* Zephyr's format: YYYY-MM-DDTHH:MM:SS, then optionally .mmm and a zone. */
		const char *end = req_str(p, n, "datetime", text, sizeof(text))
					  ? strptime(text, "%Y-%m-%dT%H:%M:%S", &tm)
					  : NULL;
		if (end == NULL || (*end && *end != '.' && *end != 'Z' && *end != '+')) {
			return error(h, rsp, cap, SMPFOTA_MGMT_EINVAL,
				     "expected YYYY-MM-DDTHH:MM:SS");
		}
		g->clock_offset_s = (int64_t)timegm(&tm) - (int64_t)time(NULL);
		struct answer a;
		begin(&a, rsp, cap);
		return finish(&a, h, rsp);
	}
	time_t t = (time_t)((int64_t)time(NULL) + g->clock_offset_s);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
	struct answer a;
	begin(&a, rsp, cap);
	put_str(&a, "datetime", text, strlen(text));
	return finish(&a, h, rsp);
}

/* ---- shell: a few built-in commands, never the host's shell ----------------------------- */

struct words {
	char w[8][64];
	int n;
};

static void on_word(void *user, const char *k, size_t kl, const struct cbor_val *v)
{
	struct words *c = user;
	(void)k;
	(void)kl;
	if (v->type == 3 && c->n < 8) {
		snprintf(c->w[c->n], sizeof(c->w[0]), "%.*s", (int)v->len, (const char *)v->str);
		c->n++;
	}
}

static int shell_group(struct target_groups *g, const struct smpfota_smp_hdr *h, const uint8_t *p,
		       size_t n, uint8_t *rsp, size_t cap)
{
	struct cbor_val argv;
	struct words w = {.n = 0};
	if (h->id != 0 || !cbor_find(p, n, "argv", &argv) || !cbor_each_elem(&argv, on_word, &w) ||
	    w.n == 0) {
		return error(h, rsp, cap, SMPFOTA_MGMT_EINVAL, "expected argv");
	}
	char out[600];
	int ret = 0;
	if (!strcmp(w.w[0], "echo")) {
		size_t o = 0;
		out[0] = '\0';
		for (int i = 1; i < w.n && o < sizeof(out); i++) {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i > 1 ? " " : "",
					      w.w[i]);
		}
	} else if (!strcmp(w.w[0], "kernel") && w.n > 1 && !strcmp(w.w[1], "version")) {
		snprintf(out, sizeof(out), "smpfota target %s", SMPFOTA_VERSION_STRING);
	} else if (!strcmp(w.w[0], "stats")) {
		snprintf(out, sizeof(out), "requests %" PRIu32 ", errors %" PRIu32, g->requests,
			 g->errors);
	} else {
		/* as Zephyr's shell: unknown commands say so and return -ENOEXEC */
		snprintf(out, sizeof(out), "%s: command not found", w.w[0]);
		ret = -ENOEXEC;
	}
	struct answer a;
	begin(&a, rsp, cap);
	put_str(&a, "o", out, strlen(out));
	put_int(&a, "ret", ret);
	return finish(&a, h, rsp);
}

/* ---- fs: files under --fs DIR ----------------------------------------------------------- */

/* DIR/NAME for a name without ".." components; false otherwise. */
static bool fs_path(const struct target_groups *g, const char *name, char *out, size_t size)
{
	if (name[0] == '\0' || strstr(name, "..") != NULL) {
		return false;
	}
	while (*name == '/') {
		name++;
	}
	int k = snprintf(out, size, "%s/%s", g->fs_root, name);
	return k > 0 && (size_t)k < size;
}

static int fs_group(struct target_groups *g, const struct smpfota_smp_hdr *h, const uint8_t *p,
		    size_t n, uint8_t *rsp, size_t cap)
{
	char name[256], path[4352];
	if (g->fs_root == NULL) {
		return error(h, rsp, cap, SMPFOTA_MGMT_ENOTSUP,
			     "no file system (smpfota target --fs DIR)");
	}
	if (!req_str(p, n, "name", name, sizeof(name)) || !fs_path(g, name, path, sizeof(path))) {
		return error(h, rsp, cap, SMPFOTA_MGMT_EINVAL, "bad name");
	}
	struct answer a;
	struct stat st;
	uint64_t off = 0, len = 0;
	if (h->id == 1) { /* stat */
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			return error(h, rsp, cap, SMPFOTA_MGMT_ENOENT, NULL);
		}
		begin(&a, rsp, cap);
		put_int(&a, "len", st.st_size);
		return finish(&a, h, rsp);
	}
	if (h->id == 2) { /* hash: sha256 over [off, off + len) */
		char type[16] = "sha256";
		(void)req_str(p, n, "type", type, sizeof(type));
		(void)req_uint(p, n, "off", &off);
		FILE *f = fopen(path, "rb");
		if (f == NULL) {
			return error(h, rsp, cap, SMPFOTA_MGMT_ENOENT, NULL);
		}
		if (strcmp(type, "sha256") != 0) {
			fclose(f);
			return error(h, rsp, cap, SMPFOTA_MGMT_ENOTSUP, "sha256 only");
		}
		fstat(fileno(f), &st);
		if (!req_uint(p, n, "len", &len)) {
			len = (uint64_t)st.st_size > off ? (uint64_t)st.st_size - off : 0;
		}
		if (off + len > (uint64_t)st.st_size || fseek(f, (long)off, SEEK_SET) != 0) {
			fclose(f);
			return error(h, rsp, cap, SMPFOTA_MGMT_EINVAL, "past the end of the file");
		}
		smpfota_sha256_ctx c;
		uint8_t buf[4096], out[32];
		smpfota_sha256_init(&c);
		(void)smpfota_sha256_starts(&c);
		for (uint64_t left = len; left > 0;) {
			size_t k = fread(buf, 1, left < sizeof(buf) ? (size_t)left : sizeof(buf),
					 f);
			if (k == 0) {
				break;
			}
			(void)smpfota_sha256_update(&c, buf, k);
			left -= k;
		}
		(void)smpfota_sha256_finish(&c, out);
		smpfota_sha256_free(&c);
		fclose(f);
		begin(&a, rsp, cap);
		put_str(&a, "type", "sha256", 6);
		put_int(&a, "off", (int64_t)off);
		put_int(&a, "len", (int64_t)len);
		key(&a, "output");
		a.ok = a.ok && zcbor_bstr_encode_ptr(a.zs, (const char *)out, sizeof(out));
		return finish(&a, h, rsp);
	}
	if (h->id != 0) {
		return error(h, rsp, cap, SMPFOTA_MGMT_ENOTSUP, NULL);
	}
	(void)req_uint(p, n, "off", &off);
	if (h->op == SMPFOTA_SMP_OP_READ) { /* download: a chunk from off */
		FILE *f = fopen(path, "rb");
		if (f == NULL) {
			return error(h, rsp, cap, SMPFOTA_MGMT_ENOENT, NULL);
		}
		fstat(fileno(f), &st);
		if (off > (uint64_t)st.st_size || fseek(f, (long)off, SEEK_SET) != 0) {
			fclose(f);
			return error(h, rsp, cap, SMPFOTA_MGMT_EINVAL, "offset past the end");
		}
		/* as much as the frame holds besides the other keys */
		static uint8_t data[65536];
		size_t room = cap > 64 ? cap - 64 : 0;
		size_t k = fread(data, 1, room < sizeof(data) ? room : sizeof(data), f);
		fclose(f);
		begin(&a, rsp, cap);
		put_int(&a, "off", (int64_t)off);
		key(&a, "data");
		a.ok = a.ok && zcbor_bstr_encode_ptr(a.zs, (const char *)data, k);
		if (off == 0) {
			put_int(&a, "len", st.st_size);
		}
		return finish(&a, h, rsp);
	}
	/* upload: off 0 (with len) starts the file over; other chunks continue it at its end */
	struct cbor_val d;
	if (!cbor_find(p, n, "data", &d) || d.type != 2) {
		return error(h, rsp, cap, SMPFOTA_MGMT_EINVAL, "no data");
	}
	uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (off != 0 && off != size) {
		/* the client resumes at our size: tell it where that is */
		begin(&a, rsp, cap);
		put_int(&a, "off", (int64_t)size);
		return finish(&a, h, rsp);
	}
	/* the directories of the name, as a mounted file system has them */
	for (char *slash = strchr(path + strlen(g->fs_root) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(path, 0777);
		*slash = '/';
	}
	FILE *f = fopen(path, off == 0 ? "wb" : "ab");
	if (f == NULL || fwrite(d.str, 1, d.len, f) != d.len) {
		int e = errno;
		if (f) {
			fclose(f);
		}
		return error(h, rsp, cap, SMPFOTA_MGMT_EUNKNOWN, strerror(e));
	}
	fclose(f);
	if (off == 0) {
		(void)req_uint(p, n, "len", &g->up_len);
		snprintf(g->up_name, sizeof(g->up_name), "%s", name);
	}
	begin(&a, rsp, cap);
	put_int(&a, "off", (int64_t)(off + d.len));
	return finish(&a, h, rsp);
}

int target_groups_handle(struct target_groups *g, const uint8_t *req, size_t len, uint8_t *rsp,
			 size_t cap)
{
	struct smpfota_smp_hdr h;
	if (smpfota_smp_hdr_decode(req, len, &h) < 0 || cap < SMPFOTA_SMP_HDR_SIZE + 16 ||
	    (h.op != SMPFOTA_SMP_OP_READ && h.op != SMPFOTA_SMP_OP_WRITE)) {
		return 0;
	}
	const uint8_t *p = req + SMPFOTA_SMP_HDR_SIZE;
	size_t n = len - SMPFOTA_SMP_HDR_SIZE;
	switch (h.group) {
	case G_OS:
		if (h.id == 2) {
			return os_taskstat(&h, rsp, cap);
		}
		if (h.id == 3) {
			return os_mpstat(g, &h, rsp, cap);
		}
		if (h.id == 4) {
			return os_datetime(g, &h, p, n, rsp, cap);
		}
		return 0; /* echo, reset, params, info, bootloader: the library's server */
	case G_STAT:
		return stat_group(g, &h, p, n, rsp, cap);
	case G_FS:
		return fs_group(g, &h, p, n, rsp, cap);
	case G_SHELL:
		return shell_group(g, &h, p, n, rsp, cap);
	default:
		return 0;
	}
}

void target_groups_count(struct target_groups *g, size_t req_len, int rsp_len)
{
	g->requests++;
	g->bytes_in += req_len;
	if (rsp_len > 0) {
		g->bytes_out += (uint64_t)rsp_len;
	} else {
		g->errors++;
	}
}
