/*
 * One-call firmware update on top of the client engine, as a state machine:
 *
 *   PARAMS  read buf_size/buf_count (fall back when the server has no `os params`), then
 *           `bootloader info` query "mode": the MCUboot mode (enum smpfota_update_mode)
 *   CHECK   image list (+ slot info when the server has it): refuse a downgrade unless
 *           forced, refuse an image larger than the target's slot; without an answer to
 *           bootloader info the mode is inferred from the list (no running image: serial
 *           recovery; one running from slot 1: direct-xip), else swap is assumed
 *   UPLOAD  pipelined upload (client.h)
 *   VERIFY  image list: the new hash is in the secondary slot
 *   TEST    mark it for test (permanent for overwrite-only, or when not confirming a test);
 *           skipped in direct-xip, RAM load and serial recovery (an ENOTSUP answer when the
 *           mode was not asked means direct-xip: on to the reset)
 *   RESET   os reset
 *   WAIT    probe with echo until the target answers again (any answer, ENOTSUP too)
 *   ACTIVE  image list: the new image runs (else ROLLED_BACK); the old image gone from
 *           slot 1 of a swap target that was not asked means overwrite-only
 *   CONFIRM confirm it (unless asked not to; swap modes only)
 *
 * Each mode ends in a named outcome (enum smpfota_update_outcome).
 *
 * Driven like the client: smpfota_update_poll() with the time, frames through
 * smpfota_client_input(). No malloc; all state in struct smpfota_update.
 *
 * Usage (the client is set up as in client.h):
 *
 *     struct smpfota_upload_source src = {.read = read_image, .ctx = &partition,
 *                                         .size = image_len};
 *     static struct smpfota_image_info img;    // ~500 B: keep it off a small stack
 *     static struct smpfota_update upd;
 *     if (smpfota_update_check_image(&src, &img) == 0) {
 *         struct smpfota_update_params prm = {.upload = {.window = 0}};  // 0: defaults
 *         smpfota_update_start(&upd, &cli, &src, &img, &prm, on_step, on_progress,
 *                              on_done, NULL, now_ms());
 *     }
 *     while (smpfota_update_next_deadline(&upd, now_ms()) >= 0) {
 *         // feed received frames: smpfota_client_input(&cli, frame, len, now_ms());
 *         smpfota_update_poll(&upd, now_ms());
 *         sleep_or_wait_for_rx(smpfota_update_next_deadline(&upd, now_ms()));
 *     }
 *
 * Lifetimes: smpfota_update_start() copies src, img and prm; the client, the source's ctx
 * and what it reads must outlive the update (until on_done has run).
 * Callbacks (on_step, on_progress, on_done) run inside smpfota_update_poll() or
 * smpfota_client_input(). From them you may read the update and the client; do not call
 * smpfota_update_start(), _poll() or the client's send/input/poll/cancel (the workflow owns
 * the client until on_done; after on_done it is free again). Not thread-safe.
 */
#ifndef SMPFOTA_UPDATE_H
#define SMPFOTA_UPDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "smpfota/client.h"
#include "smpfota/image.h"

#ifdef __cplusplus
extern "C" {
#endif

enum smpfota_update_step {
	SMPFOTA_UPDATE_PARAMS,
	SMPFOTA_UPDATE_CHECK,
	SMPFOTA_UPDATE_UPLOAD,
	SMPFOTA_UPDATE_VERIFY,
	SMPFOTA_UPDATE_TEST,
	SMPFOTA_UPDATE_RESET,
	SMPFOTA_UPDATE_WAIT,
	SMPFOTA_UPDATE_ACTIVE,
	SMPFOTA_UPDATE_CONFIRM,
	SMPFOTA_UPDATE_DONE,
};

/* "params", "check", "upload", ... */
const char *smpfota_update_step_name(int step);

/* How the target's MCUboot takes a new image, and so what the workflow does. */
enum smpfota_update_mode {
	/* Swap (move, scratch, offset): upload to slot 1, test, reset, confirm; an image left
	 * unconfirmed is reverted at the next reset (ROLLED_BACK when it happens at once). */
	SMPFOTA_UPDATE_MODE_SWAP,
	/* Overwrite-only: upload, mark permanent, reset: copied over slot 0, no revert. */
	SMPFOTA_UPDATE_MODE_OVERWRITE,
	/* Direct-xip (without revert) and RAM load: upload to the slot not running, reset: the
	 * highest valid version boots. No test, no confirm. */
	SMPFOTA_UPDATE_MODE_DIRECT_XIP,
	/* Direct-xip with revert: upload to the slot not running, test, reset, confirm. */
	SMPFOTA_UPDATE_MODE_DIRECT_XIP_REVERT,
	/* MCUboot's serial recovery, no application: upload into slot 0, reset, check. */
	SMPFOTA_UPDATE_MODE_RECOVERY,
};

/* Where the mode came from. */
enum smpfota_update_mode_source {
	SMPFOTA_UPDATE_MODE_ASSUMED,  /* nothing told otherwise: swap, the common mode */
	SMPFOTA_UPDATE_MODE_ASKED,    /* `bootloader info` answered query "mode" */
	SMPFOTA_UPDATE_MODE_INFERRED, /* from the target's answers (see the steps above) */
};

/* How a successful update ended. */
enum smpfota_update_outcome {
	SMPFOTA_UPDATE_OUTCOME_NONE, /* not finished, or failed */
	SMPFOTA_UPDATE_CONFIRMED,    /* swap: runs, confirmed */
	SMPFOTA_UPDATE_TESTING,      /* swap, no_confirm: runs; the next reset reverts it */
	SMPFOTA_UPDATE_PERMANENT,    /* overwrite-only: runs; nothing can revert it */
	SMPFOTA_UPDATE_BOOTED,       /* direct-xip/RAM load: the bootloader boots it */
	SMPFOTA_UPDATE_RECOVERED,    /* serial recovery wrote slot 0 and the target reset */
	SMPFOTA_UPDATE_UPLOADED,     /* upload_only: the image waits in its slot */
};

/* "swap", "overwrite-only", "direct-xip/RAM load", "direct-xip with revert", "serial recovery". */
const char *smpfota_update_mode_name(int mode);
/* "assumed", "bootloader info", "inferred". */
const char *smpfota_update_mode_source_name(int source);
/* "confirmed", "testing", "permanent", "booted", "recovered", "uploaded" ("none" for NONE). */
const char *smpfota_update_outcome_name(int outcome);

struct smpfota_update_params {
	/*
	 * The upload step's parameters (image, upgrade, window, chunk, timeouts, failures).
	 * buf_size and buf_count are ignored: the workflow asks the target (os params).
	 */
	struct smpfota_upload_params upload;
	bool no_confirm;        /* leave the new image in test mode */
	bool force;             /* allow a downgrade or another build of the same version */
	uint32_t reset_wait_ms; /* how long the target may take to come back; 0 = 30000 */
	uint32_t probe_ms;      /* echo interval while waiting; 0 = 500 */
	/* Distribution only (fleet.h): done once the secondary slot holds the image (or it is
	 * already pending or running); no test, reset or confirm. */
	bool upload_only;
	/* Skip the upload when the secondary slot already holds this image (an earlier
	 * upload_only run): go straight to test. */
	bool reuse_secondary;
};

/* Called on every step change. */
typedef void (*smpfota_update_step_fn)(void *user, enum smpfota_update_step step);

/* End of the update. err 0: the target runs the new image; u->outcome says how (confirmed,
 * in test mode, permanent, booted by direct-xip, written by serial recovery).
 * Otherwise a named error (smpfota.h); step tells where; st the server's status when the
 * error is SMPFOTA_ERR_REJECTED. */
typedef void (*smpfota_update_done_fn)(void *user, int err, enum smpfota_update_step step,
				       const struct smpfota_smp_status *st);

struct smpfota_update {
	struct smpfota_client *c;
	struct smpfota_upload_source src;
	struct smpfota_image_info img; /* the local image (version, hash) */
	struct smpfota_update_params prm;
	smpfota_update_step_fn on_step;
	smpfota_upload_progress_fn on_progress;
	smpfota_update_done_fn on_done;
	void *user;
	enum smpfota_update_step step;
	uint8_t sub; /* PARAMS: params, then bootloader info; CHECK: list, slot info */
	bool busy;   /* a request of the current step is out */
	bool finished;
	int err;
	uint32_t buf_size, buf_count;
	uint32_t now;        /* time of the latest poll (callbacks carry none) */
	uint32_t wait_since; /* WAIT: when the reset was answered */
	uint8_t resets;      /* resets sent again because the first never happened */
	uint8_t rechecks;    /* times a lost answer sent the workflow back to CHECK */
	bool recheck;        /* WAIT leads back to CHECK rather than to ACTIVE */
	uint32_t next_probe;
	struct smpfota_smp_status status;
	uint8_t mode;         /* enum smpfota_update_mode */
	uint8_t mode_source;  /* enum smpfota_update_mode_source */
	uint8_t outcome;      /* enum smpfota_update_outcome: set when done */
	int32_t mcuboot_mode; /* bootloader info's "mode" (smp.h), or -1 */
	uint8_t run_slot;     /* CHECK: the slot that ran the old image (direct-xip: 0/1) */
	uint8_t old_hash_len; /* the running image's hash at CHECK (0: none) */
	uint8_t old_hash[SMPFOTA_IMAGE_HASH_MAX];
};

/*
 * Read the whole image from src through the image reader (magic, header, TLVs, SHA-256
 * check) and compute the SHA-256 of the file into src->sha. Returns 0 or the reader's error
 * (BAD_MAGIC, TRUNCATED, TLV_CORRUPT, HASH_MISMATCH, UNSUPPORTED) or SMPFOTA_ERR_IO.
 */
int smpfota_update_check_image(struct smpfota_upload_source *src, struct smpfota_image_info *info);

/* Start an update of an image already checked with smpfota_update_check_image(). */
int smpfota_update_start(struct smpfota_update *u, struct smpfota_client *c,
			 const struct smpfota_upload_source *src,
			 const struct smpfota_image_info *img,
			 const struct smpfota_update_params *prm, smpfota_update_step_fn on_step,
			 smpfota_upload_progress_fn on_progress, smpfota_update_done_fn on_done,
			 void *user, uint32_t now);

/* Time passed: drives the client too (calls smpfota_client_poll). */
void smpfota_update_poll(struct smpfota_update *u, uint32_t now);

/* Milliseconds until the next poll is needed, or -1. */
int32_t smpfota_update_next_deadline(const struct smpfota_update *u, uint32_t now);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_UPDATE_H */
