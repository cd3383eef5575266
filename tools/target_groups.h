/*
 * The groups `smpfota target` answers beyond the library's server (image and OS basics), so
 * that the CLI's stat, taskstat, mpstat, datetime, shell and fs commands have a target to
 * talk to. Host-side code of the simulated target only: the device library and its budget
 * do not include it. Each answers as Zephyr's mcumgr group does (command ids, keys), with
 * the host's own figures where the simulation has no device behind it (see README "smpfota
 * target").
 */
#ifndef SMPFOTA_TOOLS_TARGET_GROUPS_H
#define SMPFOTA_TOOLS_TARGET_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct target_groups {
	const char *fs_root; /* --fs DIR: the file system group's root; NULL: no fs group */
	uint32_t buf_size;   /* the server's buffer: answers fit it; os mpstat shows it */
	uint32_t buf_count;
	int64_t clock_offset_s; /* datetime set: the RTC as an offset from the host clock */
	/* stat group "smp": counted by target_groups_count() */
	uint32_t requests, errors, resets;
	uint64_t bytes_in, bytes_out;
	/* fs upload in progress: the file the target is writing */
	char up_name[256];
	uint64_t up_len;
};

/* Answer req when it belongs to one of these groups: the response frame's length in rsp, or
 * 0 when the request is not ours (the library's server takes it). */
int target_groups_handle(struct target_groups *g, const uint8_t *req, size_t len, uint8_t *rsp,
			 size_t cap);

/* Count a request and its answer (stat group "smp"). */
void target_groups_count(struct target_groups *g, size_t req_len, int rsp_len);

/* ---- target_checks.c: inputs of smpfota target, and its --verbose log ---- */

/* A size: decimal, 0x hex, or with a K suffix (KiB). false when it is none of these. */
bool target_parse_size(const char *s, uint32_t *out);
/* --udp HOST:PORT, "[::1]:1337", or HOST alone (port 1337). false when malformed. */
bool target_parse_udp(const char *spec, char *host, size_t host_size, uint16_t *port);
/* FILE is an image MCUboot would boot that fits a slot of slot_size bytes: 0, or the usage
 * error's status 2 after saying why (opt names the option). */
int target_check_primary(bool json, const char *opt, const char *path, uint32_t slot_size);
/* The flash file can be made or opened at path: 0, or 2 after saying why. */
int target_check_flash_path(bool json, const char *path);
/* One line on stderr for a request and its answer: command, op, seq, sizes, rc. */
void target_log_exchange(const uint8_t *req, size_t req_len, const uint8_t *rsp, int rsp_len);

#endif
