/*
 * How every smpfota command reports a failure: one line on stderr naming the error, a hint
 * when the user can do something about it, and with --json one object on stdout.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli_client.h"

int smpfota_cli_report(bool json, const struct smpfota_cli_error *e, int status)
{
	fflush(stdout);
	fprintf(stderr, "smpfota: %s%s%s: %s\n", e->what, e->step ? ": " : "",
		e->step ? e->step : "", e->message);
	if (e->hint) {
		fprintf(stderr, "smpfota: hint: %s\n", e->hint);
	}
	if (!json) {
		return status;
	}
	const struct smpfota_smp_status *st = e->status;
	struct json_writer w;
	json_init(&w, stdout, 2);
	json_begin_object(&w);
	json_key(&w, "error");
	json_string(&w, e->name);
	json_key(&w, "message");
	json_string(&w, e->message);
	json_key(&w, "command");
	json_string(&w, e->what);
	if (e->file) {
		json_key(&w, "file");
		json_string(&w, e->file);
	}
	if (e->step) {
		json_key(&w, "step");
		json_string(&w, e->step);
	}
	if (st) {
		/* v2 err {group, rc}, or v1 rc (group of the request unknown here: null) */
		bool v2 = st->has_err && st->err.rc != 0;
		json_key(&w, "group");
		if (v2) {
			json_uint(&w, st->err.group);
		} else {
			json_null(&w);
		}
		json_key(&w, "code");
		json_int(&w, v2 ? st->err.rc : st->rc);
		json_key(&w, "code_name");
		json_string(&w, v2 ? smpfota_mgmt_err_name(st->err.group, st->err.rc, true)
				   : smpfota_mgmt_err_name(0, st->rc, false));
		if (st->rsn.len) {
			json_key(&w, "rsn");
			json_string_n(&w, st->rsn.ptr, st->rsn.len);
		}
	}
	json_key(&w, "hint");
	json_string(&w, e->hint);
	json_end_object(&w);
	(void)json_finish(&w);
	return status;
}

int smpfota_cli_usage_error(bool json, const char *what, const char *msg)
{
	char hint[96];
	snprintf(hint, sizeof(hint), "smpfota help%s%s lists the arguments",
		 strcmp(what, "smpfota") ? " " : "", strcmp(what, "smpfota") ? what : "");
	struct smpfota_cli_error e = {.what = what, .name = "USAGE", .message = msg, .hint = hint};
	return smpfota_cli_report(json, &e, 2);
}

int cli_usage_error(struct cli *s, const char *msg)
{
	return smpfota_cli_usage_error(s->o.json, s->what, msg);
}

static const char *group_name(uint16_t group)
{
	switch (group) {
	case SMPFOTA_SMP_GROUP_OS:
		return "os";
	case SMPFOTA_SMP_GROUP_IMAGE:
		return "image";
	case 2:
		return "stat";
	case 8:
		return "fs";
	case 9:
		return "shell";
	default:
		return NULL;
	}
}

void cli_describe_status(const struct smpfota_smp_status *st, char *buf, size_t size)
{
	int n;
	if (st->has_err && st->err.rc != 0) {
		const char *name = smpfota_mgmt_err_name(st->err.group, st->err.rc, true);
		const char *g = group_name(st->err.group);
		if (g) {
			n = snprintf(buf, size, "%s (%s group error %" PRId32 ")",
				     name ? name : "unknown", g, st->err.rc);
		} else {
			n = snprintf(buf, size, "%s (group %u error %" PRId32 ")",
				     name ? name : "unknown", (unsigned)st->err.group, st->err.rc);
		}
	} else {
		const char *name = smpfota_mgmt_err_name(0, st->rc, false);
		n = snprintf(buf, size, "%s (rc %" PRId32 ")", name ? name : "unknown", st->rc);
	}
	if (n > 0 && (size_t)n < size && st->rsn.len) {
		snprintf(buf + n, size - (size_t)n, ": %.*s", (int)st->rsn.len, st->rsn.ptr);
	}
}

/* What the user can do about a rejection by the target, or NULL. */
static const char *status_hint(const struct cli *s, const struct smpfota_smp_status *st)
{
	bool img = st->has_err && st->err.group == SMPFOTA_SMP_GROUP_IMAGE;
	int32_t rc = st->has_err ? st->err.rc : 0;
	if (img && rc == SMPFOTA_IMG_MGMT_ERR_NO_FREE_SLOT) {
		return "the other slot holds an image waiting for a test boot, or the running image "
		       "is not confirmed yet: run `smpfota image confirm` (keep what runs) or "
		       "`smpfota reset` (boot the pending image) first";
	}
	if (img && rc == SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN) {
		return "another client started an upload to this slot meanwhile (or the target "
		       "restarted it): run the same command again to start over";
	}
	if (img && rc == SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE) {
		return s->padded ? "the file was signed with imgtool --pad for another slot size: "
				   "sign it without --pad (the target writes the trailer itself)"
				 : "the image is larger than the target's slot";
	}
	if (img && rc == SMPFOTA_IMG_MGMT_ERR_HASH_NOT_FOUND) {
		return "no slot holds an image with that hash: `smpfota image list` shows them";
	}
	if (img && rc == SMPFOTA_IMG_MGMT_ERR_IMAGE_ALREADY_PENDING) {
		return "an image is already marked for test: `smpfota reset` boots it";
	}
	if (img && rc == SMPFOTA_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER) {
		return "the target runs a newer version: leave out --upgrade to install it anyway";
	}
	if (s->padded) {
		return "the file was signed with imgtool --pad: sign it without --pad";
	}
	return NULL;
}

/* --key and no session could be opened: why, as the secure channel saw it; 0 if that is not
 * the story. */
static int secure_cause(const struct cli *s, int err)
{
	if (!s->sec_ready || smpfota_secure_established(&s->sec) ||
	    (err != SMPFOTA_ERR_TIMEDOUT && err != SMPFOTA_ERR_IO && err > SMPFOTA_ERR_AUTH)) {
		return 0;
	}
	int why = smpfota_secure_last_error(&s->sec);
	return why ? why : (s->sec.stats.sessions == 0 ? SMPFOTA_ERR_NO_SESSION : 0);
}

static const char *secure_hint(const struct cli *s, int why, char *buf, size_t size)
{
	switch (why) {
	case SMPFOTA_ERR_KEY_UNKNOWN:
		snprintf(buf, size,
			 "the target has no key with id %u: give both sides the same "
			 "key file (smpfota target --key FILE)",
			 (unsigned)s->key.key.id);
		return buf;
	case SMPFOTA_ERR_AUTH:
		return "the target holds a different key under the same id: give both sides the "
		       "same key file";
	case SMPFOTA_ERR_NOT_SECURE:
		return "the target has no key: start it with --key FILE too, or leave out --key";
	default:
		snprintf(buf, size,
			 "nothing answered the secure handshake at %s: a target without "
			 "a key ignores it (start it with --key FILE), or none is running there",
			 s->link->name);
		return buf;
	}
}

/* A target with a key refuses plaintext SMP with EACCESSDENIED (docs/security.md). */
static bool plaintext_refused(const struct cli *s, int err)
{
	return err == SMPFOTA_ERR_REJECTED && s->has_status && !s->key.on && !s->st.has_err &&
	       s->st.rc == SMPFOTA_MGMT_EACCESSDENIED;
}

int cli_fail(struct cli *s, int err)
{
	char detail[512] = "";
	char msg[700];
	char hint[640];
	const char *h = NULL;
	cli_end_bar(s);
	if (s->reported) {
		return s->exit_status ? s->exit_status : 1;
	}
	int why = secure_cause(s, err);
	if (why != 0) {
		err = why;
		h = secure_hint(s, why, hint, sizeof(hint));
		snprintf(detail, sizeof(detail), "no secure session with %s (key id %u)",
			 s->link->name, (unsigned)s->key.key.id);
	} else if (plaintext_refused(s, err)) {
		err = SMPFOTA_ERR_PLAINTEXT;
		cli_describe_status(&s->st, detail, sizeof(detail));
		h = "give the target's key: --key FILE (docs/security.md)";
	} else if (err == SMPFOTA_ERR_REJECTED && s->has_status) {
		cli_describe_status(&s->st, detail, sizeof(detail));
		h = status_hint(s, &s->st);
	} else if (err == SMPFOTA_ERR_TIMEDOUT || err == SMPFOTA_ERR_IO) {
		char diag[400];
		host_link_diagnosis(s->link, diag, sizeof(diag));
		if (err == SMPFOTA_ERR_IO && s->link->sys_errno == ECONNREFUSED) {
			snprintf(detail, sizeof(detail),
				 "%s: connection refused: nothing listens on "
				 "that port",
				 s->link->name);
		} else if (err == SMPFOTA_ERR_IO && s->link->sys_errno) {
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
		if (s->link->stats.rx_refused || s->link->sys_errno == ECONNREFUSED) {
			snprintf(hint, sizeof(hint),
				 "is the target running, at %s%s? (--conn, --ip or "
				 "--port choose another)",
				 s->link->name, s->o.conn_from_env ? " (from $SMPFOTA_CONN)" : "");
			h = hint;
		} else if (err == SMPFOTA_ERR_TIMEDOUT && s->link->stats.rx_frames == 0) {
			snprintf(hint, sizeof(hint),
				 "nothing answered at %s%s: check the connection "
				 "(--conn), or give a slow target more time (--timeout S)",
				 s->link->name, s->o.conn_from_env ? " (from $SMPFOTA_CONN)" : "");
			h = hint;
		}
	} else if (err == SMPFOTA_ERR_NOSPC && s->params_known) {
		snprintf(detail, sizeof(detail),
			 "the request is %zu bytes; the target's buffer "
			 "(buf_size %" PRIu32
			 ") takes frames of at most %u bytes on %s: it was not "
			 "sent",
			 s->req_len, s->buf_size, (unsigned)s->link->mtu, s->link->name);
	} else if (err == SMPFOTA_ERR_NOSPC) {
		snprintf(detail, sizeof(detail),
			 "the request is %zu bytes; it does not fit one "
			 "%u-byte frame of %s",
			 s->req_len, (unsigned)s->link->mtu, s->link->name);
	} else if (err == SMPFOTA_ERR_NOT_FOUND && s->info.has_hash &&
		   s->info.hash_type != SMPFOTA_TLV_SHA256) {
		/* Zephyr's img_mgmt lists a slot by its SHA-256 TLV only, unless built for the
		 * SHA-384/512 its MCUboot uses: this image's slot then shows no hash at all. */
		h = "the image is hashed with SHA-384/512 and the target listed no such hash: its "
		    "MCUboot and img_mgmt probably know SHA-256 images only (sign it with a P-256, "
		    "Ed25519 or RSA key, or without --sha 384/512)";
	} else if (err == SMPFOTA_ERR_DOWNGRADE) {
		h = "use --force to install it anyway";
	} else if (err == SMPFOTA_ERR_ROLLED_BACK) {
		h = "the target reverted to the old image: the new one did not boot (is it built "
		    "for this board and signed with the key MCUboot checks?)";
	} else if (err == SMPFOTA_ERR_TOO_LARGE) {
		h = s->padded ? "the file was signed with imgtool --pad: sign it without --pad"
			      : "the image is larger than the target's slot";
	}
	snprintf(msg, sizeof(msg), "%s (%s)%s%s", smpfota_strerror(err), smpfota_errname(err),
		 detail[0] ? ": " : "", detail);
	struct smpfota_cli_error e = {
		.what = s->what,
		.step = s->step,
		.name = smpfota_errname(err),
		.message = msg,
		.hint = h,
		.status = (err == SMPFOTA_ERR_REJECTED || err == SMPFOTA_ERR_PLAINTEXT) &&
					  s->has_status
				  ? &s->st
				  : NULL,
	};
	return smpfota_cli_report(s->o.json, &e, 1);
}

int cli_fail_msg(struct cli *s, const char *name, const char *hint, int status, const char *fmt,
		 ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_end_bar(s);
	s->reported = true;
	s->exit_status = status;
	struct smpfota_cli_error e = {
		.what = s->what, .step = s->step, .name = name, .message = msg, .hint = hint};
	return smpfota_cli_report(s->o.json, &e, status);
}
