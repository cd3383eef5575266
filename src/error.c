/* Error code names and messages: one table, so the two can never disagree. A device build
 * leaves the table out (SMPFOTA_CONFIG_ERROR_NAMES 0) and logs numbers. */
#include "smpfota/smpfota.h"

#include <stddef.h>

#if SMPFOTA_CONFIG_ERROR_NAMES

struct err_entry {
	int code;
	const char *name;
	const char *text;
};

static const struct err_entry err_table[] = {
	{SMPFOTA_OK, "OK", "success"},
	{SMPFOTA_ERR_IO, "IO", "input/output error"},
	{SMPFOTA_ERR_NOMEM, "NOMEM", "table full"},
	{SMPFOTA_ERR_BUSY, "BUSY", "busy"},
	{SMPFOTA_ERR_INVAL, "INVAL", "invalid argument"},
	{SMPFOTA_ERR_NOSPC, "NOSPC", "buffer too small"},
	{SMPFOTA_ERR_RANGE, "RANGE", "value out of range"},
	{SMPFOTA_ERR_PROTO, "PROTO", "malformed SMP message"},
	{SMPFOTA_ERR_MSGSIZE, "MSGSIZE", "message too large"},
	{SMPFOTA_ERR_NOTSUP, "NOTSUP", "not supported"},
	{SMPFOTA_ERR_TIMEDOUT, "TIMEDOUT", "timed out"},
	{SMPFOTA_ERR_BAD_MAGIC, "BAD_MAGIC", "not an MCUboot image (bad header magic)"},
	{SMPFOTA_ERR_TRUNCATED, "TRUNCATED", "image truncated"},
	{SMPFOTA_ERR_TLV_CORRUPT, "TLV_CORRUPT", "image TLV area corrupt"},
	{SMPFOTA_ERR_HASH_MISMATCH, "HASH_MISMATCH", "image hash mismatch"},
	{SMPFOTA_ERR_UNSUPPORTED, "UNSUPPORTED", "unsupported image format"},
	{SMPFOTA_ERR_BAD_HEADER, "BAD_HEADER", "image header invalid"},
	{SMPFOTA_ERR_REJECTED, "REJECTED", "rejected by the target"},
	{SMPFOTA_ERR_ROLLED_BACK, "ROLLED_BACK", "target rolled back to the previous image"},
	{SMPFOTA_ERR_DOWNGRADE, "DOWNGRADE", "image is not newer than the running one"},
	{SMPFOTA_ERR_TOO_LARGE, "TOO_LARGE", "image larger than the target's slot"},
	{SMPFOTA_ERR_NOT_FOUND, "NOT_FOUND", "uploaded image not found on the target"},
	{SMPFOTA_ERR_AUTH, "AUTH", "authentication failed (forged frame, or a different key)"},
	{SMPFOTA_ERR_REPLAY, "REPLAY", "replayed or reordered frame"},
	{SMPFOTA_ERR_NO_SESSION, "NO_SESSION", "no secure session"},
	{SMPFOTA_ERR_KEY_UNKNOWN, "KEY_UNKNOWN", "the target has no key with this key id"},
	{SMPFOTA_ERR_PLAINTEXT, "PLAINTEXT",
	 "plaintext SMP refused: the target requires an authenticated session (--key FILE)"},
	{SMPFOTA_ERR_NOT_SECURE, "NOT_SECURE",
	 "the target answers in plaintext: it has no key configured"},
};

static const struct err_entry *err_find(int err)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
		if (err_table[i].code == err) {
			return &err_table[i];
		}
	}
	return NULL;
}

const char *smpfota_strerror(int err)
{
	const struct err_entry *e = err_find(err);
	return e ? e->text : "unknown error";
}

const char *smpfota_errname(int err)
{
	const struct err_entry *e = err_find(err);
	return e ? e->name : "UNKNOWN";
}

#else /* !SMPFOTA_CONFIG_ERROR_NAMES */

const char *smpfota_strerror(int err)
{
	return err == SMPFOTA_OK ? "success" : "error";
}

const char *smpfota_errname(int err)
{
	return err == SMPFOTA_OK ? "OK" : "UNKNOWN";
}

#endif
