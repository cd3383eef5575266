/* The one error line a failed client command prints on stderr, and usage errors. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli_client.h"

static const char *group_name(uint16_t group)
{
	return group == SMPFOTA_SMP_GROUP_OS ? "os" : group == SMPFOTA_SMP_GROUP_IMAGE ? "image" : NULL;
}

/* "HASH_NOT_FOUND (image group error 8)", "EINVAL (rc 3): header malformed" */
void cli_describe_status(const struct smpfota_smp_status *st, char *buf, size_t size)
{
	int n;
	if (st->has_err && st->err.rc != 0) {
		const char *name = smpfota_mgmt_err_name(st->err.group, st->err.rc, true);
		const char *g = group_name(st->err.group);
		if (g) {
			n = snprintf(buf, size, "%s (%s group error %" PRId32 ")", name ? name : "unknown",
				     g, st->err.rc);
		} else {
			n = snprintf(buf, size, "%s (group %u error %" PRId32 ")", name ? name : "unknown",
				     (unsigned)st->err.group, st->err.rc);
		}
	} else {
		const char *name = smpfota_mgmt_err_name(0, st->rc, false);
		n = snprintf(buf, size, "%s (rc %" PRId32 ")", name ? name : "unknown", st->rc);
	}
	if (n > 0 && (size_t)n < size && st->rsn.len) {
		snprintf(buf + n, size - (size_t)n, ": %.*s", (int)st->rsn.len, st->rsn.ptr);
	}
}

/* One line on stderr naming the error; returns the exit status 1. */
int cli_fail(struct cli *s, int err)
{
	char detail[512] = "";
	cli_end_bar(s);
	if (s->reported) {
		return 1;
	}
	if (err == SMPFOTA_ERR_REJECTED && s->has_status) {
		cli_describe_status(&s->st, detail, sizeof(detail));
	} else if (err == SMPFOTA_ERR_TIMEDOUT || err == SMPFOTA_ERR_IO) {
		char diag[400];
		host_link_diagnosis(s->link, diag, sizeof(diag));
		if (err == SMPFOTA_ERR_IO && s->link->sys_errno) {
			snprintf(detail, sizeof(detail), "%s: %s", s->link->name,
				 strerror(s->link->sys_errno));
		} else if (err == SMPFOTA_ERR_IO) {
			snprintf(detail, sizeof(detail), "%s: connection closed", s->link->name);
		} else if (s->malformed) {
			snprintf(detail, sizeof(detail), "%u malformed responses ignored; %s",
				 (unsigned)s->malformed, diag);
		} else {
			snprintf(detail, sizeof(detail), "%s", diag);
		}
	} else if (err == SMPFOTA_ERR_NOSPC) {
		snprintf(detail, sizeof(detail), "the request does not fit one %u-byte frame of %s",
			 (unsigned)s->link->mtu, s->link->name);
	} else if (err == SMPFOTA_ERR_DOWNGRADE) {
		snprintf(detail, sizeof(detail), "use --force to install it anyway");
	}
	fprintf(stderr, "smpfota: %s%s%s: %s (%s)%s%s\n", s->what, s->step ? ": " : "",
		s->step ? s->step : "", smpfota_strerror(err), smpfota_errname(err),
		detail[0] ? ": " : "", detail);
	return 1;
}

int cli_usage_error(const char *what, const char *msg)
{
	fprintf(stderr, "smpfota: %s: %s (see smpfota --help)\n", what, msg);
	return 2;
}
