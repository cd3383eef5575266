/*
 * What `smpfota target` checks before it makes anything (option values, the files it is
 * given, where the flash file goes) and its --verbose log of requests and answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "smpfota/image.h"
#include "smpfota/smp.h"
#include "target_groups.h"

/* A size: decimal, 0x hex, or with a K suffix (KiB). false when it is none of these. */
bool target_parse_size(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (*s == '\0' || *s == '-' || errno ||
	    (*end != '\0' && strcmp(end, "K") && strcmp(end, "k"))) {
		return false;
	}
	if (*end) {
		v *= 1024;
	}
	if (v > UINT32_MAX) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static int file_read_at(void *ctx, uint32_t off, void *buf, size_t len)
{
	FILE *f = ctx;
	return fseek(f, (long)off, SEEK_SET) == 0 && fread(buf, 1, len, f) == len ? 0
										  : SMPFOTA_ERR_IO;
}

/* A usable image for a slot of slot_size bytes: 0, or 2 after saying why. */
int target_check_primary(bool json, const char *opt, const char *path, uint32_t slot_size)
{
	char msg[600];
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(msg, sizeof(msg), "%s %s: %s", opt, path, strerror(errno));
		return smpfota_cli_usage_error(json, "target", msg);
	}
	static uint8_t buf[4096];
	struct smpfota_image_info info;
	long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	uint64_t size = end > 0 ? (uint64_t)end : 0;
	/* hashed with the image's own algorithm (SHA-256, -384 or -512) */
	int rc = end < 0 || size > UINT32_MAX ? SMPFOTA_ERR_IO
					      : smpfota_image_check(file_read_at, f, (uint32_t)size,
								    0, buf, sizeof(buf), &info);
	bool read_error = rc == SMPFOTA_ERR_IO;
	fclose(f);
	if (read_error) {
		snprintf(msg, sizeof(msg), "%s %s: read error", opt, path);
	} else if (rc != 0) {
		snprintf(msg, sizeof(msg), "%s %s: %s (%s): MCUboot would not boot it", opt, path,
			 smpfota_strerror(rc), smpfota_errname(rc));
	} else if (size > slot_size) {
		snprintf(msg, sizeof(msg), "%s %s: %llu bytes do not fit the %u-byte slot", opt,
			 path, (unsigned long long)size, (unsigned)slot_size);
	} else {
		return 0;
	}
	return smpfota_cli_usage_error(json, "target", msg);
}

/* The flash file can be made (or opened) where asked: 0, or 1 after saying why. */
int target_check_flash_path(bool json, const char *path)
{
	char msg[700];
	if (access(path, F_OK) == 0) {
		if (access(path, R_OK | W_OK) != 0) {
			snprintf(msg, sizeof(msg), "--flash %s: %s", path, strerror(errno));
			return smpfota_cli_usage_error(json, "target", msg);
		}
		return 0;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir) {
		dir[1] = '\0';
	} else if (slash) {
		*slash = '\0';
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(msg, sizeof(msg), "--flash %.200s: cannot create it in %.200s: %s", path,
			 dir, strerror(errno));
		return smpfota_cli_usage_error(json, "target", msg);
	}
	return 0;
}

/* --udp HOST:PORT, "[::1]:1337", or HOST alone (port 1337). false when malformed. */
bool target_parse_udp(const char *spec, char *host, size_t host_size, uint16_t *port)
{
	const char *colon = strrchr(spec, ':');
	unsigned long p = 1337;
	size_t hl = colon ? (size_t)(colon - spec) : strlen(spec);
	if (colon) {
		char *end;
		errno = 0;
		p = strtoul(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end || errno || p > 65535) {
			return false;
		}
	}
	if (hl == 0 || hl >= host_size) {
		return false;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 1 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	*port = (uint16_t)p;
	return true;
}

/* Command names for the --verbose log (mcumgr's words). */
static const struct {
	uint16_t group;
	uint8_t id;
	const char *name;
} cmd_names[] = {
	{0, 0, "os echo"},      {0, 2, "os taskstat"},   {0, 3, "os mpstat"},
	{0, 4, "os datetime"},  {0, 5, "os reset"},      {0, 6, "os params"},
	{0, 7, "os info"},      {0, 8, "os bootloader"}, {1, 0, "image state"},
	{1, 1, "image upload"}, {1, 5, "image erase"},   {1, 6, "image slot-info"},
	{2, 0, "stat read"},    {2, 1, "stat list"},     {8, 0, "fs file"},
	{8, 1, "fs stat"},      {8, 2, "fs hash"},       {9, 0, "shell exec"},
};

/* --verbose: one line per request and its answer. */
void target_log_exchange(const uint8_t *req, size_t req_len, const uint8_t *rsp, int rsp_len)
{
	struct smpfota_smp_hdr h;
	if (smpfota_smp_hdr_decode(req, req_len, &h) < 0) {
		fprintf(stderr, "target: request: %zu bytes, not SMP\n", req_len);
		return;
	}
	char what[48];
	snprintf(what, sizeof(what), "group %u id %u", (unsigned)h.group, (unsigned)h.id);
	for (size_t i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++) {
		if (cmd_names[i].group == h.group && cmd_names[i].id == h.id) {
			snprintf(what, sizeof(what), "%s", cmd_names[i].name);
		}
	}
	const char *op = h.op == SMPFOTA_SMP_OP_READ ? "read" : "write";
	if (rsp_len <= 0) {
		fprintf(stderr, "target: %s %s seq %u (%zu bytes): no answer\n", what, op,
			(unsigned)h.seq, req_len);
		return;
	}
	/* The status of the answer, when it is one the codec knows. */
	char rc[80] = "answered";
	int msg = smpfota_smp_msg_lookup(&h);
	static union smpfota_smp_rsp r;
	if (msg >= 0 && rsp_len > (int)SMPFOTA_SMP_HDR_SIZE &&
	    smpfota_smp_decode_rsp((enum smpfota_smp_msg)msg, rsp + SMPFOTA_SMP_HDR_SIZE,
				   (size_t)rsp_len - SMPFOTA_SMP_HDR_SIZE, &r) == 0) {
		const struct smpfota_smp_status *st = &r.status;
		if (st->has_err && st->err.rc) {
			const char *n = smpfota_mgmt_err_name(st->err.group, st->err.rc, true);
			snprintf(rc, sizeof(rc), "err group %u rc %d %s", (unsigned)st->err.group,
				 (int)st->err.rc, n ? n : "");
		} else {
			const char *n = smpfota_mgmt_err_name(0, st->rc, false);
			snprintf(rc, sizeof(rc), "rc %d%s%s", (int)st->rc, st->rc && n ? " " : "",
				 st->rc && n ? n : "");
		}
	}
	fprintf(stderr, "target: %s %s seq %u (%zu bytes): %s (%d bytes)\n", what, op,
		(unsigned)h.seq, req_len, rc, rsp_len);
}
