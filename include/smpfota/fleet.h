/*
 * Fleet scheduler: one master updates many stock targets (unchanged Zephyr mcumgr servers),
 * one client and one update workflow (update.h) per target, in two separate phases:
 *
 *   DISTRIBUTE  every target gets the image in its secondary slot (update.h upload_only),
 *               at most max_uploads at once; the transports share the master's radio, so
 *               while one target erases and writes flash the others receive
 *   ACTIVATE    once every target had its first upload: test, reset, confirm (update.h
 *               reuse_secondary), at most max_reboots targets rebooting at once; a failed
 *               upload's retry runs beside it, and its target is activated once staged
 *
 * Each target ends with a named outcome (enum smpfota_fleet_outcome). A target that fails
 * or vanishes only ends its own workflow (its own client, its own timeouts): it never holds
 * up the others: a failed upload is retried (upload_attempts) after the others had their
 * turn, while they are activated. Why two phases: a fleet is either all on the new image or knows exactly which
 * targets are not, and no target reboots while others still download (docs/fleet.md).
 *
 * Master restarts: whenever a target's phase or outcome changes, the fleet writes a small
 * record (SMPFOTA_FLEET_RECORD_SIZE(n) bytes) through the save callback; after a restart
 * smpfota_fleet_restore() takes it back before smpfota_fleet_start(): staged targets go
 * straight to activation, finished ones keep their outcome, the others upload again (the
 * target's server resumes a partial upload of the same image by its SHA-256).
 *
 * Driven like update.h: smpfota_fleet_poll() with the time; each target's received frames
 * go to its own client (smpfota_client_input(targets[i].c, ...)). No malloc, no globals.
 *
 * Usage:
 *     static struct smpfota_client cli[N];            // each set up with its own transport
 *     static struct smpfota_fleet_target tg[N];       // tg[i].c = &cli[i]
 *     static uint8_t rec[SMPFOTA_FLEET_RECORD_SIZE(N)];
 *     static struct smpfota_fleet fl;
 *     struct smpfota_fleet_config cfg = {.targets = tg, .n = N, .src = &src, .img = &img,
 *         .record = rec, .record_size = sizeof(rec), .save = save_to_flash, .user = ctx};
 *     smpfota_fleet_init(&fl, &cfg);
 *     if (load_from_flash(rec)) smpfota_fleet_restore(&fl, rec, sizeof(rec));
 *     smpfota_fleet_start(&fl, now_ms());
 *     while (!smpfota_fleet_finished(&fl)) { feed frames; smpfota_fleet_poll(&fl, now_ms()); }
 *
 * Lifetimes: the config is copied; targets[], the clients, the image source (its ctx and
 * data), img and record must outlive the fleet (until smpfota_fleet_finished()).
 * Callbacks run inside smpfota_fleet_poll() or a client's input; from them you may read the
 * fleet, not call its functions or the clients'. Not thread-safe.
 */
#ifndef SMPFOTA_FLEET_H
#define SMPFOTA_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/client.h"
#include "smpfota/image.h"
#include "smpfota/update.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a target is. */
enum smpfota_fleet_phase {
	SMPFOTA_FLEET_WAITING = 0,    /* no upload started yet (or one to retry) */
	SMPFOTA_FLEET_UPLOADING = 1,  /* distribution running */
	SMPFOTA_FLEET_STAGED = 2,     /* the secondary slot holds the image */
	SMPFOTA_FLEET_ACTIVATING = 3, /* test, reset, confirm running */
	SMPFOTA_FLEET_FINISHED = 4,   /* outcome set */
};

/* How a target ended. */
enum smpfota_fleet_outcome {
	SMPFOTA_FLEET_PENDING = 0,     /* not finished */
	SMPFOTA_FLEET_UPDATED = 1,     /* runs the new image, confirmed (in test: no_confirm) */
	SMPFOTA_FLEET_STAGED_ONLY = 2, /* activate = false: the image waits in the slot */
	SMPFOTA_FLEET_UNREACHABLE = 3, /* stopped answering (never answered, or vanished) */
	SMPFOTA_FLEET_REJECTED = 4,    /* the target refused: downgrade, too large, SMP error */
	SMPFOTA_FLEET_ROLLED_BACK = 5, /* rebooted and runs the old image */
	SMPFOTA_FLEET_FAILED = 6,      /* another error (err says which) */
};

/* "pending", "updated", "staged", "unreachable", "rejected", "rolled-back", "failed". */
const char *smpfota_fleet_outcome_name(int outcome);
/* "waiting", "uploading", "staged", "activating", "finished". */
const char *smpfota_fleet_phase_name(int phase);

/* One target: the caller sets c; the rest is the fleet's (read it freely). */
struct smpfota_fleet;

struct smpfota_fleet_target {
	struct smpfota_client *c;
	struct smpfota_fleet *fleet; /* set by smpfota_fleet_init */
	struct smpfota_update upd;
	bool ended;          /* the workflow ended; the fleet takes it on at the next poll */
	uint8_t phase;       /* enum smpfota_fleet_phase */
	uint8_t outcome;     /* enum smpfota_fleet_outcome */
	uint8_t step;        /* enum smpfota_update_step where it ended */
	uint8_t uploads;     /* upload attempts started */
	int err;             /* 0 or the named error of the workflow that ended it */
	uint32_t started_ms; /* first workflow started */
	uint32_t ended_ms;   /* outcome set */
};

/* Record: "SFL" + version, target count, the image's SHA-256, then per target its phase
 * (staged or finished; anything else is saved as waiting) and outcome. */
#define SMPFOTA_FLEET_RECORD_HDR 38U
#define SMPFOTA_FLEET_RECORD_SIZE(n) (SMPFOTA_FLEET_RECORD_HDR + 2U * (n))

typedef void (*smpfota_fleet_target_fn)(void *user, size_t index,
					const struct smpfota_fleet_target *t);
typedef void (*smpfota_fleet_progress_fn)(void *user, size_t index,
					  const struct smpfota_upload_progress *p);
/* Persist the record (len bytes); a failure is counted, the fleet goes on. */
typedef int (*smpfota_fleet_save_fn)(void *user, const uint8_t *record, size_t len);

struct smpfota_fleet_config {
	struct smpfota_fleet_target *targets;
	size_t n;                                /* 1..65535 */
	const struct smpfota_upload_source *src; /* sha set (smpfota_update_check_image) */
	const struct smpfota_image_info *img;    /* from smpfota_update_check_image */
	/* Per-target workflow parameters (upload_only and reuse_secondary are the fleet's). */
	struct smpfota_update_params update;
	uint16_t max_uploads;    /* uploads at once; 0 = all targets */
	uint16_t max_reboots;    /* targets in activation at once; 0 = 4 */
	uint8_t upload_attempts; /* per target; 0 = 2 */
	bool no_activate;        /* distribution only: staged targets end STAGED_ONLY */
	uint8_t *record;         /* SMPFOTA_FLEET_RECORD_SIZE(n) bytes, or NULL: no saving */
	size_t record_size;
	smpfota_fleet_save_fn save;
	smpfota_fleet_target_fn on_target; /* a target's phase or outcome changed */
	smpfota_fleet_progress_fn on_progress;
	void *user;
};

struct smpfota_fleet {
	struct smpfota_fleet_config cfg;
	uint32_t now;
	uint32_t save_errors;
	bool started;
	bool finished;
};

/* Check the config, every target WAITING. SMPFOTA_ERR_INVAL for a bad config (no targets,
 * a target without a client, a record buffer too small). */
int smpfota_fleet_init(struct smpfota_fleet *f, const struct smpfota_fleet_config *cfg);

/* Take back a saved record (before start). 0; SMPFOTA_ERR_INVAL when it is not a record of
 * this image and this many targets (nothing is taken then: the fleet starts afresh). */
int smpfota_fleet_restore(struct smpfota_fleet *f, const uint8_t *record, size_t len);

/* Start the first workflows. */
int smpfota_fleet_start(struct smpfota_fleet *f, uint32_t now);

/* Time passed: drives every running workflow (and its client), starts the next ones. */
void smpfota_fleet_poll(struct smpfota_fleet *f, uint32_t now);

/* Milliseconds until the next poll is needed (0: now), or -1 when finished. */
int32_t smpfota_fleet_next_deadline(const struct smpfota_fleet *f, uint32_t now);

/* Every target has its outcome. */
bool smpfota_fleet_finished(const struct smpfota_fleet *f);

/* Targets with this outcome. */
size_t smpfota_fleet_count(const struct smpfota_fleet *f, enum smpfota_fleet_outcome outcome);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_FLEET_H */
