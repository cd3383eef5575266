/*
 * Update workflow: one request out at a time per step, each answer moving the machine on.
 * Steps and their checks are listed in update.h.
 */
#include "smpfota/update.h"

#include <string.h>

#include "sha256.h"
#include "util.h"

#define RESET_WAIT_MS 30000U
#define PROBE_MS 500U
#define FIRST_PROBE_MS 1000U /* let the target's delayed reset (250 ms in Zephyr) happen */
#define MAX_RESETS 3U

enum { SUB_LIST, SUB_SLOTS };
enum { SUB_PARAMS = 0, SUB_MODE = 1 };

static const char *const step_names[] = {"params", "check", "upload", "verify",  "test",
					 "reset",  "wait",  "active", "confirm", "done"};

const char *smpfota_update_step_name(int step)
{
	return (step >= 0 && step <= SMPFOTA_UPDATE_DONE) ? step_names[step] : "?";
}

const char *smpfota_update_mode_name(int mode)
{
	static const char *const names[] = {"swap", "overwrite-only", "direct-xip/RAM load",
					    "direct-xip with revert", "serial recovery"};
	return (mode >= 0 && mode <= SMPFOTA_UPDATE_MODE_RECOVERY) ? names[mode] : "?";
}

const char *smpfota_update_mode_source_name(int source)
{
	static const char *const names[] = {"assumed", "bootloader info", "inferred"};
	return (source >= 0 && source <= SMPFOTA_UPDATE_MODE_INFERRED) ? names[source] : "?";
}

const char *smpfota_update_outcome_name(int outcome)
{
	static const char *const names[] = {"none",   "confirmed", "testing", "permanent",
					    "booted", "recovered", "uploaded"};
	return (outcome >= 0 && outcome <= SMPFOTA_UPDATE_UPLOADED) ? names[outcome] : "?";
}

/* The workflow's path for an MCUboot mode number; false for a number it cannot act on. */
static bool mode_from_mcuboot(int32_t m, uint8_t *mode)
{
	switch (m) {
	case SMPFOTA_MCUBOOT_MODE_SWAP_USING_SCRATCH:
	case SMPFOTA_MCUBOOT_MODE_SWAP_USING_MOVE:
	case SMPFOTA_MCUBOOT_MODE_SWAP_USING_OFFSET:
		*mode = SMPFOTA_UPDATE_MODE_SWAP;
		return true;
	case SMPFOTA_MCUBOOT_MODE_UPGRADE_ONLY:
		*mode = SMPFOTA_UPDATE_MODE_OVERWRITE;
		return true;
	case SMPFOTA_MCUBOOT_MODE_DIRECT_XIP:
	case SMPFOTA_MCUBOOT_MODE_RAM_LOAD:
		*mode = SMPFOTA_UPDATE_MODE_DIRECT_XIP;
		return true;
	case SMPFOTA_MCUBOOT_MODE_DIRECT_XIP_WITH_REVERT:
		*mode = SMPFOTA_UPDATE_MODE_DIRECT_XIP_REVERT;
		return true;
	case SMPFOTA_MCUBOOT_MODE_FIRMWARE_LOADER:
		/* The loader writes the application's slot 0 and resets into it, as recovery. */
		*mode = SMPFOTA_UPDATE_MODE_RECOVERY;
		return true;
	default:
		return false; /* single slot (nothing to update from), unknown: infer */
	}
}

int smpfota_update_check_image(struct smpfota_upload_source *src, struct smpfota_image_info *info)
{
	smpfota_sha256_ctx sha;
	uint8_t buf[256];

	if (src == NULL || src->read == NULL || info == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	int rrc = smpfota_image_check(src->read, src->ctx, src->size, 0, buf, sizeof(buf), info);
	if (rrc != 0 && info->image_size == 0) {
		return rrc == SMPFOTA_ERR_INVAL ? SMPFOTA_ERR_IO : rrc;
	}
	/* imgtool --pad fills the slot up to a trailer; the target wants the image only (the
	 * trailer is its own to write): send up to the end of the TLVs. */
	if (info->image_size != 0 && info->image_size < src->size) {
		src->size = info->image_size;
	}
	int rc = 0;
	smpfota_sha256_init(&sha);
	if (smpfota_sha256_starts(&sha) != 0) {
		rc = SMPFOTA_ERR_IO;
	}
	for (uint32_t off = 0; rc == 0 && off < src->size; off += sizeof(buf)) {
		size_t n = src->size - off < sizeof(buf) ? src->size - off : sizeof(buf);
		if (src->read(src->ctx, off, buf, n) != 0 ||
		    smpfota_sha256_update(&sha, buf, n) != 0) {
			rc = SMPFOTA_ERR_IO;
		}
	}
	if (rc == 0 && smpfota_sha256_finish(&sha, src->sha) != 0) {
		rc = SMPFOTA_ERR_IO;
	}
	smpfota_sha256_free(&sha);
	return rc != 0 ? rc : rrc;
}

/* ---- steps ----------------------------------------------------------------------------- */

static void finish(struct smpfota_update *u, int err, const struct smpfota_smp_status *st)
{
	if (u->finished) {
		return;
	}
	u->finished = true;
	u->err = err;
	if (st != NULL) {
		u->status = *st;
	}
	if (err == 0) {
		u->step = SMPFOTA_UPDATE_DONE;
		if (u->on_step != NULL) {
			u->on_step(u->user, SMPFOTA_UPDATE_DONE);
		}
	}
	if (u->on_done != NULL) {
		u->on_done(u->user, err, u->step, &u->status);
	}
}

static void set_step(struct smpfota_update *u, enum smpfota_update_step step)
{
	u->step = step;
	u->busy = false;
	u->sub = SUB_LIST;
	if (u->on_step != NULL) {
		u->on_step(u->user, step);
	}
}

/* "1.2.3" / "1.2.3.4" as the server lists it. */
static bool parse_version(struct smpfota_str s, struct smpfota_image_version *v)
{
	uint32_t part[4] = {0, 0, 0, 0};
	int n = 0;
	bool digit = false;
	for (size_t i = 0; i < s.len; i++) {
		char ch = s.ptr[i];
		if (ch >= '0' && ch <= '9') {
			part[n] = part[n] * 10U + (uint32_t)(ch - '0');
			digit = true;
		} else if ((ch == '.' || ch == '+') && digit && n < 3) {
			n++;
			digit = false;
		} else {
			return false;
		}
	}
	if (!digit || n < 2 || part[0] > 255 || part[1] > 255 || part[2] > 65535) {
		return false;
	}
	*v = (struct smpfota_image_version){(uint8_t)part[0], (uint8_t)part[1], (uint16_t)part[2],
					    part[3]};
	return true;
}

static int vercmp(const struct smpfota_image_version *a, const struct smpfota_image_version *b)
{
	uint64_t x = ((uint64_t)a->major << 56) | ((uint64_t)a->minor << 48) |
		     ((uint64_t)a->revision << 32) | a->build;
	uint64_t y = ((uint64_t)b->major << 56) | ((uint64_t)b->minor << 48) |
		     ((uint64_t)b->revision << 32) | b->build;
	return x < y ? -1 : x > y;
}

static const struct smpfota_img_slot_state *find_slot(const struct smpfota_img_state_rsp *st,
						      uint32_t image, uint32_t slot)
{
	for (size_t i = 0; i < st->images_count; i++) {
		const struct smpfota_img_slot_state *e = &st->images[i];
		uint32_t img = e->has_image ? e->image : 0;
		if (img == image && e->slot == slot) {
			return e;
		}
	}
	return NULL;
}

/* Does the slot hold our image? Its hash TLV is SHA-256, -384 or -512: the target lists
 * that TLV's value, so the lengths must agree too. */
static bool has_hash(const struct smpfota_img_slot_state *e, const struct smpfota_image_info *img)
{
	return e != NULL && e->has_hash && e->hash.len == img->hash_len &&
	       memcmp(e->hash.ptr, img->hash, img->hash_len) == 0;
}

/* The entry of the image that runs (Zephyr flags it active), or NULL: serial recovery. */
static const struct smpfota_img_slot_state *find_active(const struct smpfota_img_state_rsp *st,
							uint32_t image)
{
	for (size_t i = 0; i < st->images_count; i++) {
		const struct smpfota_img_slot_state *e = &st->images[i];
		if ((e->has_image ? e->image : 0) == image && e->active) {
			return e;
		}
	}
	return NULL;
}

static bool any_active(const struct smpfota_img_state_rsp *st)
{
	for (size_t i = 0; i < st->images_count; i++) {
		if (st->images[i].active) {
			return true;
		}
	}
	return false;
}

/* The slot the new image is uploaded to: slot 1; the one not running in direct-xip; slot 0
 * in serial recovery. */
static uint32_t target_slot(const struct smpfota_update *u)
{
	switch (u->mode) {
	case SMPFOTA_UPDATE_MODE_DIRECT_XIP:
	case SMPFOTA_UPDATE_MODE_DIRECT_XIP_REVERT:
		return 1U - u->run_slot;
	case SMPFOTA_UPDATE_MODE_RECOVERY:
		return 0;
	default:
		return 1;
	}
}

static bool has_test(const struct smpfota_update *u)
{
	return u->mode != SMPFOTA_UPDATE_MODE_DIRECT_XIP && u->mode != SMPFOTA_UPDATE_MODE_RECOVERY;
}

/* The mode from the answers, when bootloader info gave none. */
static void infer(struct smpfota_update *u, uint8_t mode)
{
	if (u->mode_source != SMPFOTA_UPDATE_MODE_ASKED) {
		u->mode = mode;
		u->mode_source = SMPFOTA_UPDATE_MODE_INFERRED;
	}
}

static void done(struct smpfota_update *u, uint8_t outcome)
{
	u->outcome = outcome;
	finish(u, 0, NULL);
}

static void on_rsp(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp);
static void on_upload_done(void *user, int err, const struct smpfota_smp_status *st, bool match);

static void on_upload_progress(void *user, const struct smpfota_upload_progress *p)
{
	struct smpfota_update *u = user;
	if (u->on_progress != NULL) {
		u->on_progress(u->user, p);
	}
}

/* Network-core (non-active) images cannot be confirmed once running (Zephyr refuses), and
 * NCS does not revert them: they are marked permanent instead of test. */
static bool permanent(const struct smpfota_update *u)
{
	return u->prm.upload.image != 0 && !u->prm.no_confirm;
}

/* Send the request of the current step if it is not out yet. */
static void kick(struct smpfota_update *u, uint32_t now)
{
	if (u->finished || u->busy) {
		return;
	}
	int rc = 0;
	switch (u->step) {
	case SMPFOTA_UPDATE_PARAMS:
		if (u->sub == SUB_MODE) {
			struct smpfota_os_bootloader_req q = {.has_query = true,
							      .query = {"mode", 4}};
			rc = smpfota_client_send(u->c, SMPFOTA_MSG_OS_BOOTLOADER, &q, 0, on_rsp, u,
						 now);
		} else {
			struct smpfota_os_params_req q = {0};
			rc = smpfota_client_send(u->c, SMPFOTA_MSG_OS_PARAMS, &q, 0, on_rsp, u,
						 now);
		}
		break;
	case SMPFOTA_UPDATE_CHECK:
	case SMPFOTA_UPDATE_VERIFY:
	case SMPFOTA_UPDATE_ACTIVE:
		if (u->step == SMPFOTA_UPDATE_CHECK && u->sub == SUB_SLOTS) {
			struct smpfota_img_slot_info_req q = {0};
			rc = smpfota_client_send(u->c, SMPFOTA_MSG_IMG_SLOT_INFO, &q, 0, on_rsp, u,
						 now);
		} else {
			struct smpfota_img_state_read_req q = {0};
			rc = smpfota_client_send(u->c, SMPFOTA_MSG_IMG_STATE_READ, &q, 0, on_rsp, u,
						 now);
		}
		break;
	case SMPFOTA_UPDATE_UPLOAD: {
		struct smpfota_upload_params p = u->prm.upload;

		/* Whole pieces of the link (client.h, tx.piece) when the last one would carry
		 * less than half a piece: it costs a packet slot for little data (a target with
		 * 384-byte buffers keeps its 384 over 244-byte pieces). Out of the engine, whose
		 * size is budgeted. */
		uint32_t piece = u->c->cfg.tx.piece;
		p.buf_size = u->buf_size;
		if (piece != 0 && p.buf_size > piece && p.buf_size % piece < piece / 2U) {
			p.buf_size -= p.buf_size % piece;
		}
		p.buf_count = u->buf_count;
		rc = smpfota_client_upload(u->c, &u->src, &p, on_upload_progress, on_upload_done, u,
					   now);
		break;
	}
	case SMPFOTA_UPDATE_TEST: {
		struct smpfota_img_state_write_req q = {
			.has_hash = true,
			.hash = {u->img.hash, u->img.hash_len},
			.confirm = permanent(u) || u->mode == SMPFOTA_UPDATE_MODE_OVERWRITE};
		rc = smpfota_client_send(u->c, SMPFOTA_MSG_IMG_STATE_WRITE, &q, 0, on_rsp, u, now);
		break;
	}
	case SMPFOTA_UPDATE_RESET: {
		struct smpfota_os_reset_req q = {0};
		/* Once only: a retransmitted reset would reset the rebooted target again, and
		 * MCUboot would revert the image under test. */
		rc = smpfota_client_send_once(u->c, SMPFOTA_MSG_OS_RESET, &q, 0, on_rsp, u, now);
		break;
	}
	case SMPFOTA_UPDATE_WAIT: {
		if (!util_time_reached(now, u->next_probe)) {
			return;
		}
		struct smpfota_os_echo_req q = {.d = {"smpfota", 7}};
		/* A probe waits at least two of the link's round trips: over a slow link (BLE at a
		 * long interval) a shorter wait gives up on every answer, and the late answers of
		 * the probes before never count. */
		uint32_t wait = u->prm.probe_ms;
		uint32_t rtt2 = u->c->srtt8 / 4U;
		rc = smpfota_client_send(u->c, SMPFOTA_MSG_OS_ECHO, &q, rtt2 > wait ? rtt2 : wait,
					 on_rsp, u, now);
		break;
	}
	case SMPFOTA_UPDATE_CONFIRM: {
		struct smpfota_img_state_write_req q = {.confirm = true};
		rc = smpfota_client_send(u->c, SMPFOTA_MSG_IMG_STATE_WRITE, &q, 0, on_rsp, u, now);
		break;
	}
	default:
		return;
	}
	if (rc == SMPFOTA_ERR_BUSY) {
		return; /* a slot frees up soon; poll tries again */
	}
	if (rc != 0) {
		finish(u, rc, NULL);
		return;
	}
	u->busy = true;
}

static void on_upload_done(void *user, int err, const struct smpfota_smp_status *st, bool match)
{
	struct smpfota_update *u = user;
	(void)match; /* the image list check below is what proves the upload */
	if (err != 0) {
		finish(u, err, st);
		return;
	}
	set_step(u, SMPFOTA_UPDATE_VERIFY);
	kick(u, u->now);
}

/* Times a lost answer sends the workflow back to look at the target again. */
#define MAX_RECHECKS 2

/* A request timed out with the target away: a power cut or reset right after `image test`
 * starts MCUboot's swap, one during `image confirm` makes MCUboot revert. Wait until the
 * target answers, then start over from its image list (CHECK knows every state it can be
 * in: running the image on test, pending, reverted). */
static bool recheck(struct smpfota_update *u, int err)
{
	if (err != SMPFOTA_ERR_TIMEDOUT || u->rechecks >= MAX_RECHECKS) {
		return false;
	}
	u->rechecks++;
	u->recheck = true;
	set_step(u, SMPFOTA_UPDATE_WAIT);
	u->wait_since = u->now;
	u->next_probe = u->now;
	return true;
}

static bool rejected(struct smpfota_update *u, int err, const union smpfota_smp_rsp *rsp)
{
	if (err != 0) {
		finish(u, err, NULL);
		return true;
	}
	if (!smpfota_smp_status_ok(&rsp->status)) {
		finish(u, SMPFOTA_ERR_REJECTED, &rsp->status);
		return true;
	}
	return false;
}

static void on_check(struct smpfota_update *u, int err, const union smpfota_smp_rsp *rsp)
{
	if (u->sub == SUB_SLOTS) {
		/* Slot info is optional (Zephyr >= 4.0 with ..._SLOT_INFO): skip the size check
		 * when the server has no answer. */
		if (err == 0 && smpfota_smp_status_ok(&rsp->status)) {
			for (size_t i = 0; i < rsp->slot_info.images_count; i++) {
				const struct smpfota_img_slot_info_image *e =
					&rsp->slot_info.images[i];
				uint32_t max = 0;
				if (e->image != u->prm.upload.image) {
					continue;
				}
				if (e->has_max_image_size) {
					max = e->max_image_size;
				} else if (e->slots_count > 1) {
					max = e->slots[1].size;
				}
				if (max && u->src.size > max) {
					finish(u, SMPFOTA_ERR_TOO_LARGE, NULL);
					return;
				}
			}
		} else if (err == SMPFOTA_ERR_TIMEDOUT) {
			finish(u, err, NULL);
			return;
		}
		set_step(u, SMPFOTA_UPDATE_UPLOAD);
		return;
	}
	if (rejected(u, err, rsp)) {
		return;
	}
	uint32_t image = u->prm.upload.image;
	const struct smpfota_img_slot_state *run = find_active(&rsp->state, image);
	/* Without bootloader info: nothing runs means MCUboot's serial recovery answers; the
	 * image running from slot 1 means direct-xip (swap modes always run slot 0). */
	if (!any_active(&rsp->state)) {
		infer(u, SMPFOTA_UPDATE_MODE_RECOVERY);
	} else if (run != NULL && run->slot == 1 && u->mode == SMPFOTA_UPDATE_MODE_SWAP) {
		infer(u, SMPFOTA_UPDATE_MODE_DIRECT_XIP);
	}
	u->run_slot = run != NULL && run->slot == 1 ? 1U : 0U;
	if (run != NULL && run->has_hash && run->hash.len <= sizeof(u->old_hash)) {
		u->old_hash_len = (uint8_t)run->hash.len;
		memcpy(u->old_hash, run->hash.ptr, run->hash.len);
	}
	if (u->mode == SMPFOTA_UPDATE_MODE_RECOVERY) {
		/* No application: no version to compare with. Already written: reset into it. */
		if (has_hash(find_slot(&rsp->state, image, 0), &u->img)) {
			set_step(u, SMPFOTA_UPDATE_RESET);
			return;
		}
		u->sub = SUB_SLOTS;
		u->busy = false;
		return;
	}
	if (run != NULL && has_hash(run, &u->img)) {
		/* Already running this very image. Done only once it is confirmed: a master that
		 * restarted after the reset must still confirm, or the next reset reverts. */
		if (u->mode == SMPFOTA_UPDATE_MODE_DIRECT_XIP) {
			done(u, SMPFOTA_UPDATE_BOOTED);
		} else if (u->mode == SMPFOTA_UPDATE_MODE_OVERWRITE) {
			done(u, SMPFOTA_UPDATE_PERMANENT);
		} else if (u->prm.no_confirm && !run->confirmed) {
			done(u, SMPFOTA_UPDATE_TESTING);
		} else if (run->confirmed) {
			done(u, SMPFOTA_UPDATE_CONFIRMED);
		} else {
			set_step(u, SMPFOTA_UPDATE_CONFIRM);
		}
		return;
	}
	const struct smpfota_img_slot_state *next = find_slot(&rsp->state, image, target_slot(u));
	if (next != NULL && has_hash(next, &u->img) && next->pending) {
		/* Uploaded and marked by an earlier session that never saw the reset: the server
		 * would refuse a new upload into a pending slot, and none is needed. */
		if (u->prm.upload_only) {
			done(u, SMPFOTA_UPDATE_UPLOADED);
		} else {
			set_step(u, SMPFOTA_UPDATE_RESET);
		}
		return;
	}
	struct smpfota_image_version cur;
	if (run != NULL && parse_version(run->version, &cur) && !u->prm.force &&
	    vercmp(&u->img.hdr.version, &cur) <= 0) {
		/* (In direct-xip MCUboot would not even boot it: the highest version wins.) */
		finish(u, SMPFOTA_ERR_DOWNGRADE, NULL);
		return;
	}
	if ((u->prm.upload_only || u->prm.reuse_secondary) && has_hash(next, &u->img)) {
		/* Distributed earlier: the list just showed the whole image in the slot. */
		if (u->prm.upload_only) {
			done(u, SMPFOTA_UPDATE_UPLOADED);
		} else {
			set_step(u, has_test(u) ? SMPFOTA_UPDATE_TEST : SMPFOTA_UPDATE_RESET);
		}
		return;
	}
	u->sub = SUB_SLOTS;
	u->busy = false;
}

static bool not_supported(int err, const union smpfota_smp_rsp *rsp)
{
	return err == 0 && rsp->status.rc == SMPFOTA_MGMT_ENOTSUP;
}

/* After the reset: does the target run the new image, and how did it get there? */
static void on_active(struct smpfota_update *u, const union smpfota_smp_rsp *rsp)
{
	uint32_t image = u->prm.upload.image;
	const struct smpfota_img_slot_state *run = find_active(&rsp->state, image);
	const struct smpfota_img_slot_state *next = find_slot(&rsp->state, image, target_slot(u));

	if (u->mode == SMPFOTA_UPDATE_MODE_RECOVERY) {
		/* Recovery wrote slot 0; after the reset the application (or recovery again)
		 * lists it there. */
		if (has_hash(find_slot(&rsp->state, image, 0), &u->img)) {
			done(u, SMPFOTA_UPDATE_RECOVERED);
		} else {
			finish(u, SMPFOTA_ERR_NOT_FOUND, NULL);
		}
		return;
	}
	if (has_hash(run, &u->img)) {
		if (u->mode == SMPFOTA_UPDATE_MODE_SWAP && u->old_hash_len != 0) {
			/* A swap keeps the old image in slot 1 to revert to; overwrite-only has
			 * erased it. */
			const struct smpfota_img_slot_state *o = find_slot(&rsp->state, image, 1);
			if (o == NULL || !o->has_hash || o->hash.len != u->old_hash_len ||
			    memcmp(o->hash.ptr, u->old_hash, u->old_hash_len) != 0) {
				infer(u, SMPFOTA_UPDATE_MODE_OVERWRITE);
			}
		}
		if (u->mode == SMPFOTA_UPDATE_MODE_DIRECT_XIP) {
			done(u, SMPFOTA_UPDATE_BOOTED);
		} else if (u->mode == SMPFOTA_UPDATE_MODE_OVERWRITE) {
			done(u, SMPFOTA_UPDATE_PERMANENT);
		} else if (run->confirmed) {
			done(u, SMPFOTA_UPDATE_CONFIRMED);
		} else if (u->prm.no_confirm) {
			done(u, SMPFOTA_UPDATE_TESTING);
		} else {
			set_step(u, SMPFOTA_UPDATE_CONFIRM);
		}
		return;
	}
	/* Still marked a second after the reset was answered (swap), or not booted (direct-xip:
	 * the reset may not have happened): the reset request was lost on the way. Sending it
	 * again is safe now; a direct-xip bootloader that keeps the old image (a newer one, or
	 * ours invalid) ends ROLLED_BACK after MAX_RESETS. */
	bool again = u->mode == SMPFOTA_UPDATE_MODE_DIRECT_XIP
			     ? has_hash(next, &u->img)
			     : has_hash(next, &u->img) && next->pending;
	if (again) {
		if (++u->resets >= MAX_RESETS) {
			finish(u,
			       u->mode == SMPFOTA_UPDATE_MODE_DIRECT_XIP ? SMPFOTA_ERR_ROLLED_BACK
									 : SMPFOTA_ERR_TIMEDOUT,
			       NULL);
		} else {
			set_step(u, SMPFOTA_UPDATE_RESET);
		}
		return;
	}
	finish(u, SMPFOTA_ERR_ROLLED_BACK, NULL);
}

static void on_rsp(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	struct smpfota_update *u = user;
	(void)msg;
	u->busy = false;
	if (u->finished) {
		return;
	}
	switch (u->step) {
	case SMPFOTA_UPDATE_PARAMS:
		if (u->sub == SUB_MODE) {
			/* Most targets answer ENOTSUP (CONFIG_MCUMGR_GRP_OS_BOOTLOADER_INFO is off by
			 * default): the mode is then inferred at CHECK. */
			uint8_t mode;
			if (err == 0 && smpfota_smp_status_ok(&rsp->status) &&
			    rsp->bootloader.has_mode) {
				u->mcuboot_mode = rsp->bootloader.mode;
				if (mode_from_mcuboot(rsp->bootloader.mode, &mode)) {
					u->mode = mode;
					u->mode_source = SMPFOTA_UPDATE_MODE_ASKED;
				}
			}
			set_step(u, SMPFOTA_UPDATE_CHECK);
			break;
		}
		/* A server without `os params` (ENOTSUP, or an old one that stays silent) gets
		 * the engine's conservative defaults. */
		if (err == 0 && smpfota_smp_status_ok(&rsp->status)) {
			u->buf_size = rsp->params.buf_size;
			u->buf_count = rsp->params.buf_count;
		}
		if (err == SMPFOTA_ERR_TIMEDOUT) {
			/* Silent: not worth another request's timeouts (and the engine's backoff);
			 * the mode is inferred from the list, if that ever answers. */
			set_step(u, SMPFOTA_UPDATE_CHECK);
		} else {
			u->sub = SUB_MODE;
		}
		break;
	case SMPFOTA_UPDATE_CHECK:
		on_check(u, err, rsp);
		break;
	case SMPFOTA_UPDATE_VERIFY:
		if (rejected(u, err, rsp)) {
			return;
		}
		if (!has_hash(find_slot(&rsp->state, u->prm.upload.image, target_slot(u)),
			      &u->img)) {
			finish(u, SMPFOTA_ERR_NOT_FOUND, NULL);
			return;
		}
		if (u->prm.upload_only) {
			done(u, SMPFOTA_UPDATE_UPLOADED);
			return;
		}
		set_step(u, has_test(u) ? SMPFOTA_UPDATE_TEST : SMPFOTA_UPDATE_RESET);
		break;
	case SMPFOTA_UPDATE_TEST:
		if (not_supported(err, rsp) && u->mode_source != SMPFOTA_UPDATE_MODE_ASKED) {
			/* Zephyr's img_mgmt in direct-xip and RAM load: no test. The highest
			 * version boots: reset. */
			infer(u, SMPFOTA_UPDATE_MODE_DIRECT_XIP);
			set_step(u, SMPFOTA_UPDATE_RESET);
		} else if (!recheck(u, err) && !rejected(u, err, rsp)) {
			set_step(u, SMPFOTA_UPDATE_RESET);
		}
		break;
	case SMPFOTA_UPDATE_RESET:
		/* A target may go down before its answer leaves: a timeout is not an error. */
		if (err == 0 && !smpfota_smp_status_ok(&rsp->status)) {
			finish(u, SMPFOTA_ERR_REJECTED, &rsp->status);
			return;
		}
		set_step(u, SMPFOTA_UPDATE_WAIT);
		u->wait_since = u->now;
		u->next_probe = u->now + FIRST_PROBE_MS;
		break;
	case SMPFOTA_UPDATE_WAIT:
		/* Any answer, an error too (serial recovery and some applications have no echo),
		 * means the target is back. */
		if (err == 0) {
			set_step(u, u->recheck ? SMPFOTA_UPDATE_CHECK : SMPFOTA_UPDATE_ACTIVE);
			u->recheck = false;
		} else if ((uint32_t)(u->now - u->wait_since) >= u->prm.reset_wait_ms) {
			finish(u, SMPFOTA_ERR_TIMEDOUT, NULL);
		} else {
			/* A probe that timed out already waited probe_ms: the next one goes now, so
			 * the target is probed every probe_ms, not every 2 x probe_ms. */
			u->next_probe = err == SMPFOTA_ERR_TIMEDOUT ? u->now
								    : u->now + u->prm.probe_ms;
		}
		break;
	case SMPFOTA_UPDATE_ACTIVE:
		if (recheck(u, err) || rejected(u, err, rsp)) {
			return;
		}
		on_active(u, rsp);
		break;
	case SMPFOTA_UPDATE_CONFIRM: {
		if (recheck(u, err) || rejected(u, err, rsp)) {
			return;
		}
		const struct smpfota_img_slot_state *run = find_active(&rsp->state,
								       u->prm.upload.image);
		if (has_hash(run, &u->img) && run->confirmed) {
			done(u, SMPFOTA_UPDATE_CONFIRMED);
		} else {
			finish(u, SMPFOTA_ERR_ROLLED_BACK, NULL);
		}
		break;
	}
	default:
		break;
	}
	if (!u->finished) {
		kick(u, u->now);
	}
}

int smpfota_update_start(struct smpfota_update *u, struct smpfota_client *c,
			 const struct smpfota_upload_source *src,
			 const struct smpfota_image_info *img,
			 const struct smpfota_update_params *prm, smpfota_update_step_fn on_step,
			 smpfota_upload_progress_fn on_progress, smpfota_update_done_fn on_done,
			 void *user, uint32_t now)
{
	if (u == NULL || c == NULL || src == NULL || img == NULL || prm == NULL || !img->has_hash) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(u, 0, sizeof(*u));
	u->c = c;
	u->src = *src;
	u->img = *img;
	u->prm = *prm;
	if (u->prm.reset_wait_ms == 0) {
		u->prm.reset_wait_ms = RESET_WAIT_MS;
	}
	if (u->prm.probe_ms == 0) {
		u->prm.probe_ms = PROBE_MS;
	}
	u->on_step = on_step;
	u->on_progress = on_progress;
	u->on_done = on_done;
	u->user = user;
	u->now = now;
	u->mcuboot_mode = SMPFOTA_MCUBOOT_MODE_UNKNOWN;
	set_step(u, SMPFOTA_UPDATE_PARAMS);
	kick(u, now);
	return 0;
}

void smpfota_update_poll(struct smpfota_update *u, uint32_t now)
{
	u->now = now;
	smpfota_client_poll(u->c, now);
	kick(u, now);
}

int32_t smpfota_update_next_deadline(const struct smpfota_update *u, uint32_t now)
{
	if (u->finished) {
		return -1;
	}
	int32_t d = smpfota_client_next_deadline(u->c, now);
	if (u->step == SMPFOTA_UPDATE_WAIT && !u->busy) {
		int32_t w = util_time_until(now, u->next_probe);
		d = (d < 0 || w < d) ? w : d;
	}
	if (!u->busy && u->step != SMPFOTA_UPDATE_WAIT) {
		d = d < 0 || d > 10 ? 10 : d; /* a request could not be sent yet: retry soon */
	}
	return d;
}
