/*
 * smpfota — firmware over the air between two microcontrollers, over SMP (MCUmgr).
 *
 * Common definitions: version and error codes shared by every layer.
 *
 * Conventions (as in littlefs): functions return int; 0 or a positive count is success, a
 * negative value is one of enum smpfota_error. Codes that have an errno equivalent use its
 * value, so they read naturally in logs; image-reader codes have their own range.
 */
#ifndef SMPFOTA_SMPFOTA_H
#define SMPFOTA_SMPFOTA_H

#include <stddef.h>
#include <stdint.h>

#include "smpfota/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_VERSION_MAJOR 0
#define SMPFOTA_VERSION_MINOR 1
#define SMPFOTA_VERSION_PATCH 0
#define SMPFOTA_VERSION_STRING "0.1.0"

enum smpfota_error {
	SMPFOTA_OK = 0,
	SMPFOTA_ERR_IO = -5,         /* EIO: storage or transport failure */
	SMPFOTA_ERR_NOMEM = -12,     /* ENOMEM: a caller-provided table is full */
	SMPFOTA_ERR_BUSY = -16,      /* EBUSY */
	SMPFOTA_ERR_INVAL = -22,     /* EINVAL: bad argument from the caller */
	SMPFOTA_ERR_NOSPC = -28,     /* ENOSPC: output buffer too small */
	SMPFOTA_ERR_RANGE = -34,     /* ERANGE: a value does not fit its field */
	SMPFOTA_ERR_PROTO = -71,     /* EPROTO: malformed SMP header or CBOR payload */
	SMPFOTA_ERR_MSGSIZE = -90,   /* EMSGSIZE: frame larger than allowed */
	SMPFOTA_ERR_NOTSUP = -95,    /* EOPNOTSUPP: valid but not supported */
	SMPFOTA_ERR_TIMEDOUT = -110, /* ETIMEDOUT */

	/* MCUboot image reader */
	SMPFOTA_ERR_BAD_MAGIC = -200,     /* header magic is not 0x96f3b83d */
	SMPFOTA_ERR_TRUNCATED = -201,     /* image ends before its TLV area does */
	SMPFOTA_ERR_TLV_CORRUPT = -202,   /* TLV info magic/size inconsistent */
	SMPFOTA_ERR_HASH_MISMATCH = -203, /* SHA-256 TLV differs from the computed hash */
	SMPFOTA_ERR_UNSUPPORTED = -204,   /* e.g. encrypted image, no SHA-256 TLV */
	SMPFOTA_ERR_BAD_HEADER = -205,    /* header fields inconsistent (sizes overflow, ...) */

	/* Client and update workflow */
	SMPFOTA_ERR_REJECTED = -210,    /* the server answered with an error (rc / err) */
	SMPFOTA_ERR_ROLLED_BACK = -211, /* after the reset the target runs the old image */
	SMPFOTA_ERR_DOWNGRADE = -212,   /* image not newer than the running one (use force) */
	SMPFOTA_ERR_TOO_LARGE = -213,   /* image larger than the target's slot */
	SMPFOTA_ERR_NOT_FOUND = -214,   /* uploaded image not in the target's image list */

	/* Secure channel (secure.h) */
	SMPFOTA_ERR_AUTH = -220,        /* a tag did not verify: forged, corrupted, other key */
	SMPFOTA_ERR_REPLAY = -221,      /* a frame's counter is not above the last accepted */
	SMPFOTA_ERR_NO_SESSION = -222,  /* no secure session (the other side reset, or ended it) */
	SMPFOTA_ERR_KEY_UNKNOWN = -223, /* the other side has no key with this key id */
	SMPFOTA_ERR_PLAINTEXT = -224,   /* plaintext SMP refused: a session is required */
	SMPFOTA_ERR_NOT_SECURE = -225,  /* the target answers in plaintext: it has no key */
};

/*
 * Random-access read of storage (flash, an image file, a partition): len bytes at off into
 * buf. 0 or a negative error (SMPFOTA_ERR_IO for a device failure). The one read callback
 * of the library: flash devices, the image reader and upload sources all use it.
 */
typedef int (*smpfota_read_fn)(void *ctx, uint32_t off, void *buf, size_t len);

/* Human-readable text for an error code ("image hash mismatch"); never NULL. With
 * SMPFOTA_CONFIG_ERROR_NAMES 0: "success" for 0, else "error". */
const char *smpfota_strerror(int err);

/* Symbolic name of an error code without prefix ("HASH_MISMATCH"), or "UNKNOWN" (with
 * SMPFOTA_CONFIG_ERROR_NAMES 0: "OK" for 0, "UNKNOWN" for any other code). */
const char *smpfota_errname(int err);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_SMPFOTA_H */
