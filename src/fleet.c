/*
 * Fleet scheduler (fleet.h): a target's workflow ends inside a client callback, where no
 * new workflow may start (update.h), so the callback only marks it ended and the next poll
 * moves the target on and starts whatever may start.
 */
#include "smpfota/fleet.h"

#include <string.h>

#define DEFAULT_MAX_REBOOTS 4U
#define DEFAULT_UPLOAD_ATTEMPTS 2U
#define RECORD_VERSION 1U

static const char *const outcome_names[] = {"pending",  "updated",     "staged", "unreachable",
					    "rejected", "rolled-back", "failed"};
static const char *const phase_names[] = {"waiting", "uploading", "staged", "activating",
					  "finished"};

const char *smpfota_fleet_outcome_name(int outcome)
{
	return (outcome >= 0 && outcome <= SMPFOTA_FLEET_FAILED) ? outcome_names[outcome] : "?";
}

const char *smpfota_fleet_phase_name(int phase)
{
	return (phase >= 0 && phase <= SMPFOTA_FLEET_FINISHED) ? phase_names[phase] : "?";
}

static enum smpfota_fleet_outcome outcome_of(int err)
{
	switch (err) {
	case 0:
		return SMPFOTA_FLEET_UPDATED;
	case SMPFOTA_ERR_TIMEDOUT:
		return SMPFOTA_FLEET_UNREACHABLE;
	case SMPFOTA_ERR_REJECTED:
	case SMPFOTA_ERR_DOWNGRADE:
	case SMPFOTA_ERR_TOO_LARGE:
		return SMPFOTA_FLEET_REJECTED;
	case SMPFOTA_ERR_ROLLED_BACK:
		return SMPFOTA_FLEET_ROLLED_BACK;
	default:
		return SMPFOTA_FLEET_FAILED;
	}
}

/* ---- record ---------------------------------------------------------------------------- */

static void save(struct smpfota_fleet *f)
{
	const struct smpfota_fleet_config *c = &f->cfg;
	if (c->record == NULL || c->save == NULL) {
		return;
	}
	uint8_t *r = c->record;
	r[0] = 'S';
	r[1] = 'F';
	r[2] = 'L';
	r[3] = RECORD_VERSION;
	r[4] = (uint8_t)(c->n & 0xffU);
	r[5] = (uint8_t)(c->n >> 8);
	memcpy(&r[6], c->src->sha, 32);
	for (size_t i = 0; i < c->n; i++) {
		const struct smpfota_fleet_target *t = &c->targets[i];
		uint8_t ph = t->phase;
		/* A running workflow starts over after a restart: activation from the staged
		 * image (update.c's check finds where the target is), an upload from the
		 * target's own resume point. */
		if (ph == SMPFOTA_FLEET_ACTIVATING) {
			ph = SMPFOTA_FLEET_STAGED;
		} else if (ph == SMPFOTA_FLEET_UPLOADING) {
			ph = SMPFOTA_FLEET_WAITING;
		}
		r[SMPFOTA_FLEET_RECORD_HDR + 2U * i] = ph;
		r[SMPFOTA_FLEET_RECORD_HDR + 2U * i + 1U] = t->outcome;
	}
	if (c->save(c->user, r, SMPFOTA_FLEET_RECORD_SIZE(c->n)) != 0) {
		f->save_errors++;
	}
}

int smpfota_fleet_restore(struct smpfota_fleet *f, const uint8_t *r, size_t len)
{
	const struct smpfota_fleet_config *c = &f->cfg;
	if (f->started || r == NULL || len < SMPFOTA_FLEET_RECORD_SIZE(c->n) || r[0] != 'S' ||
	    r[1] != 'F' || r[2] != 'L' || r[3] != RECORD_VERSION ||
	    (size_t)(r[4] | (r[5] << 8)) != c->n || memcmp(&r[6], c->src->sha, 32) != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	for (size_t i = 0; i < c->n; i++) {
		uint8_t ph = r[SMPFOTA_FLEET_RECORD_HDR + 2U * i];
		uint8_t oc = r[SMPFOTA_FLEET_RECORD_HDR + 2U * i + 1U];
		bool ok = (ph == SMPFOTA_FLEET_WAITING && oc == SMPFOTA_FLEET_PENDING) ||
			  (ph == SMPFOTA_FLEET_STAGED && oc == SMPFOTA_FLEET_PENDING) ||
			  (ph == SMPFOTA_FLEET_FINISHED && oc > SMPFOTA_FLEET_PENDING &&
			   oc <= SMPFOTA_FLEET_FAILED);
		if (!ok) {
			return SMPFOTA_ERR_INVAL;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		c->targets[i].phase = r[SMPFOTA_FLEET_RECORD_HDR + 2U * i];
		c->targets[i].outcome = r[SMPFOTA_FLEET_RECORD_HDR + 2U * i + 1U];
	}
	return 0;
}

/* ---- workflows --------------------------------------------------------------------------- */

static void notify(struct smpfota_fleet *f, size_t i)
{
	if (f->cfg.on_target != NULL) {
		f->cfg.on_target(f->cfg.user, i, &f->cfg.targets[i]);
	}
}

static void on_done(void *user, int err, enum smpfota_update_step step,
		    const struct smpfota_smp_status *st)
{
	struct smpfota_fleet_target *t = user;
	(void)st;
	t->err = err;
	t->step = (uint8_t)step;
	t->ended = true;
}

static void on_progress(void *user, const struct smpfota_upload_progress *p)
{
	struct smpfota_fleet_target *t = user;
	struct smpfota_fleet *f = t->fleet;
	if (f->cfg.on_progress != NULL) {
		f->cfg.on_progress(f->cfg.user, (size_t)(t - f->cfg.targets), p);
	}
}

static void finish(struct smpfota_fleet *f, size_t i, enum smpfota_fleet_outcome oc)
{
	struct smpfota_fleet_target *t = &f->cfg.targets[i];
	t->phase = SMPFOTA_FLEET_FINISHED;
	t->outcome = (uint8_t)oc;
	t->ended_ms = f->now;
	save(f);
	notify(f, i);
}

static void start(struct smpfota_fleet *f, size_t i, enum smpfota_fleet_phase phase)
{
	struct smpfota_fleet_target *t = &f->cfg.targets[i];
	struct smpfota_update_params prm = f->cfg.update;
	prm.upload_only = phase == SMPFOTA_FLEET_UPLOADING;
	prm.reuse_secondary = phase == SMPFOTA_FLEET_ACTIVATING;
	if (t->uploads == 0) {
		t->started_ms = f->now;
	}
	if (phase == SMPFOTA_FLEET_UPLOADING) {
		t->uploads++;
	}
	t->phase = (uint8_t)phase;
	t->ended = false;
	smpfota_client_cancel(t->c); /* whatever an earlier workflow left */
	int rc = smpfota_update_start(&t->upd, t->c, f->cfg.src, f->cfg.img, &prm, NULL,
				      on_progress, on_done, t, f->now);
	if (rc != 0) {
		t->err = rc;
		finish(f, i, SMPFOTA_FLEET_FAILED);
		return;
	}
	notify(f, i);
}

/* A workflow ended: move its target on. */
static void ended(struct smpfota_fleet *f, size_t i)
{
	struct smpfota_fleet_target *t = &f->cfg.targets[i];
	t->ended = false;
	if (t->phase == SMPFOTA_FLEET_UPLOADING) {
		if (t->err == 0) {
			t->phase = SMPFOTA_FLEET_STAGED;
			save(f);
			notify(f, i);
			return;
		}
		/* A target that vanished (reset, power cut, out of range) may be back later:
		 * retry after the others; a refusal will not change. */
		bool transient = t->err == SMPFOTA_ERR_TIMEDOUT || t->err == SMPFOTA_ERR_IO ||
				 t->err == SMPFOTA_ERR_PROTO || t->err == SMPFOTA_ERR_HASH_MISMATCH;
		if (transient && t->uploads < f->cfg.upload_attempts) {
			t->phase = SMPFOTA_FLEET_WAITING;
			notify(f, i);
			return;
		}
	}
	finish(f, i, outcome_of(t->err));
}

static void schedule(struct smpfota_fleet *f)
{
	const struct smpfota_fleet_config *c = &f->cfg;
	size_t uploading = 0, activating = 0, first_pending = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct smpfota_fleet_target *t = &c->targets[i];
		uploading += t->phase == SMPFOTA_FLEET_UPLOADING;
		activating += t->phase == SMPFOTA_FLEET_ACTIVATING;
		/* a first upload not started or still running */
		first_pending += (t->phase == SMPFOTA_FLEET_WAITING && t->uploads == 0) ||
				 (t->phase == SMPFOTA_FLEET_UPLOADING && t->uploads == 1);
	}
	/* First attempts in index order, then retries: a target that failed once waits until
	 * every other had its first chance. */
	for (unsigned pass = 0; pass < 2 && uploading < c->max_uploads; pass++) {
		for (size_t i = 0; i < c->n && uploading < c->max_uploads; i++) {
			const struct smpfota_fleet_target *t = &c->targets[i];
			if (t->phase == SMPFOTA_FLEET_WAITING && (pass == 1 || t->uploads == 0)) {
				start(f, i, SMPFOTA_FLEET_UPLOADING);
				uploading++;
			}
		}
	}
	if (first_pending != 0) {
		return; /* activation once every target had its upload; retries go on beside it */
	}
	for (size_t i = 0; i < c->n && activating < c->max_reboots; i++) {
		if (c->targets[i].phase != SMPFOTA_FLEET_STAGED) {
			continue;
		}
		if (c->no_activate) {
			finish(f, i, SMPFOTA_FLEET_STAGED_ONLY);
			continue;
		}
		start(f, i, SMPFOTA_FLEET_ACTIVATING);
		activating++;
	}
}

static bool all_finished(const struct smpfota_fleet *f)
{
	for (size_t i = 0; i < f->cfg.n; i++) {
		if (f->cfg.targets[i].phase != SMPFOTA_FLEET_FINISHED) {
			return false;
		}
	}
	return true;
}

/* ---- API --------------------------------------------------------------------------------- */

int smpfota_fleet_init(struct smpfota_fleet *f, const struct smpfota_fleet_config *cfg)
{
	if (f == NULL || cfg == NULL || cfg->targets == NULL || cfg->n == 0 || cfg->n > 65535U ||
	    cfg->src == NULL || cfg->img == NULL ||
	    (cfg->record != NULL && cfg->record_size < SMPFOTA_FLEET_RECORD_SIZE(cfg->n))) {
		return SMPFOTA_ERR_INVAL;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		if (cfg->targets[i].c == NULL) {
			return SMPFOTA_ERR_INVAL;
		}
	}
	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	if (f->cfg.max_uploads == 0 || f->cfg.max_uploads > cfg->n) {
		f->cfg.max_uploads = (uint16_t)cfg->n;
	}
	if (f->cfg.max_reboots == 0) {
		f->cfg.max_reboots = DEFAULT_MAX_REBOOTS;
	}
	if (f->cfg.upload_attempts == 0) {
		f->cfg.upload_attempts = DEFAULT_UPLOAD_ATTEMPTS;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		struct smpfota_fleet_target *t = &cfg->targets[i];
		struct smpfota_client *c = t->c;
		memset(t, 0, sizeof(*t));
		t->c = c;
		t->fleet = f;
	}
	return 0;
}

int smpfota_fleet_start(struct smpfota_fleet *f, uint32_t now)
{
	if (f == NULL || f->started) {
		return SMPFOTA_ERR_INVAL;
	}
	f->started = true;
	f->now = now;
	schedule(f);
	f->finished = all_finished(f);
	return 0;
}

void smpfota_fleet_poll(struct smpfota_fleet *f, uint32_t now)
{
	if (!f->started || f->finished) {
		return;
	}
	f->now = now;
	for (size_t i = 0; i < f->cfg.n; i++) {
		struct smpfota_fleet_target *t = &f->cfg.targets[i];
		bool running = t->phase == SMPFOTA_FLEET_UPLOADING ||
			       t->phase == SMPFOTA_FLEET_ACTIVATING;
		if (running && !t->ended) {
			smpfota_update_poll(&t->upd, now);
		}
		if (running && t->ended) {
			ended(f, i);
		}
	}
	schedule(f);
	f->finished = all_finished(f);
}

int32_t smpfota_fleet_next_deadline(const struct smpfota_fleet *f, uint32_t now)
{
	if (!f->started || f->finished) {
		return -1;
	}
	int32_t d = -1;
	for (size_t i = 0; i < f->cfg.n; i++) {
		const struct smpfota_fleet_target *t = &f->cfg.targets[i];
		if (t->phase != SMPFOTA_FLEET_UPLOADING && t->phase != SMPFOTA_FLEET_ACTIVATING) {
			continue;
		}
		int32_t td = t->ended ? 0 : smpfota_update_next_deadline(&t->upd, now);
		if (td < 0) {
			td = 0; /* ended inside an input callback: take it on now */
		}
		d = (d < 0 || td < d) ? td : d;
	}
	return d;
}

bool smpfota_fleet_finished(const struct smpfota_fleet *f)
{
	return f->finished;
}

size_t smpfota_fleet_count(const struct smpfota_fleet *f, enum smpfota_fleet_outcome outcome)
{
	size_t n = 0;
	for (size_t i = 0; i < f->cfg.n; i++) {
		n += f->cfg.targets[i].outcome == (uint8_t)outcome &&
		     f->cfg.targets[i].phase == SMPFOTA_FLEET_FINISHED;
	}
	return n;
}
