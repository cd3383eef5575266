/*
 * SMP server: OS and image groups as Zephyr's mcumgr implements them. Decisions that a
 * client can observe (which slot is "in use", which flags `image list` shows, which error
 * code a refusal carries, how v1 requests get legacy codes) follow Zephyr's img_mgmt.c,
 * img_mgmt_state.c, zephyr_img_mgmt.c and os_mgmt.c; see shared/spec/smp.md.
 */
#include "smpfota/server.h"

#include <string.h>

#include "sha256.h"
#include "smpfota/image.h"
#include "util.h"

#define UPLOAD_MAGIC 0x55504d53U /* "SMPU": upload in progress, record complete */
#define UPLOAD_BUSY 0x42504d53U  /* "SMPB": a request is changing the record */

/* The file's SHA-256 context lives in the upload record's opaque union. */
_Static_assert(sizeof(smpfota_sha256_ctx) <= SMPFOTA_IMAGE_SHA_CTX_SIZE,
	       "raise SMPFOTA_IMAGE_SHA_CTX_SIZE for this mbedTLS");
_Static_assert(_Alignof(smpfota_sha256_ctx) <= _Alignof(uint64_t),
	       "smpfota_sha256_ctx needs more alignment than the upload record gives");

/* Zephyr's next-boot types (img_mgmt_priv.h) */
enum next_boot { NEXT_NORMAL, NEXT_TEST, NEXT_REVERT };

/* What a request handler produced. */
struct reply {
	const struct smpfota_smp_hdr *hdr;
	uint8_t *buf;
	size_t size;
	const char *rsn; /* why, for logs and verbose errors */
};

/* ---- response helpers ------------------------------------------------------------------ */

static void log_msg(struct smpfota_server *s, const char *msg)
{
	if (msg != NULL && s->cfg->log != NULL) {
		s->cfg->log(s->cfg->ctx, msg);
	}
}

static struct smpfota_str cstr(const char *p)
{
	struct smpfota_str out = {p ? p : "", p ? strlen(p) : 0};
	return out;
}

static int reply_rc(struct smpfota_server *s, struct reply *r, int32_t rc)
{
	struct smpfota_smp_status st = {.rc = rc};
	if (s->cfg->verbose_err) {
		st.rsn = cstr(r->rsn);
	}
	s->stats.errors++;
	log_msg(s, r->rsn);
	return smpfota_smp_encode_err(r->hdr, &st, r->buf, r->size);
}

/* Legacy code for a group error, for v1 requests (mg_translate_error in Zephyr). */
static int32_t translate_img(int32_t err)
{
	switch (err) {
	case SMPFOTA_IMG_MGMT_ERR_NO_IMAGE:
	case SMPFOTA_IMG_MGMT_ERR_NO_TLVS:
		return SMPFOTA_MGMT_ENOENT;
	case SMPFOTA_IMG_MGMT_ERR_NO_FREE_SLOT:
	case SMPFOTA_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER:
	case SMPFOTA_IMG_MGMT_ERR_IMAGE_ALREADY_PENDING:
		return SMPFOTA_MGMT_EBADSTATE;
	case SMPFOTA_IMG_MGMT_ERR_NO_FREE_MEMORY:
		return SMPFOTA_MGMT_ENOMEM;
	case SMPFOTA_IMG_MGMT_ERR_INVALID_SLOT:
	case SMPFOTA_IMG_MGMT_ERR_INVALID_PAGE_OFFSET:
	case SMPFOTA_IMG_MGMT_ERR_INVALID_OFFSET:
	case SMPFOTA_IMG_MGMT_ERR_INVALID_LENGTH:
	case SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_HEADER:
	case SMPFOTA_IMG_MGMT_ERR_INVALID_HASH:
	case SMPFOTA_IMG_MGMT_ERR_INVALID_FLASH_ADDRESS:
		return SMPFOTA_MGMT_EINVAL;
	default:
		return SMPFOTA_MGMT_EUNKNOWN;
	}
}

static int32_t translate_os(int32_t err)
{
	switch (err) {
	case SMPFOTA_OS_ERR_INVALID_FORMAT:
		return SMPFOTA_MGMT_EINVAL;
	case SMPFOTA_OS_ERR_QUERY_YIELDS_NO_ANSWER:
	case SMPFOTA_OS_ERR_RTC_NOT_SET:
	case SMPFOTA_OS_ERR_QUERY_RESPONSE_VALUE_NOT_VALID:
		return SMPFOTA_MGMT_ENOENT;
	default:
		return SMPFOTA_MGMT_EUNKNOWN;
	}
}

/* A group error: {"err": {group, rc}} to v2 clients, a translated {"rc"} to v1 clients. */
static int reply_err(struct smpfota_server *s, struct reply *r, int32_t err)
{
	if (r->hdr->version == SMPFOTA_SMP_V1) {
		return reply_rc(s, r,
				r->hdr->group == SMPFOTA_SMP_GROUP_IMAGE ? translate_img(err)
									 : translate_os(err));
	}
	struct smpfota_smp_status st = {.has_err = true, .err = {r->hdr->group, err}};
	s->stats.errors++;
	log_msg(s, r->rsn);
	return smpfota_smp_encode_err(r->hdr, &st, r->buf, r->size);
}

static int reply_ok(struct smpfota_server *s, struct reply *r, enum smpfota_smp_msg msg,
		    const void *body)
{
	int n = smpfota_smp_encode_rsp(msg, r->hdr, body, r->buf, r->size);
	if (n == SMPFOTA_ERR_NOSPC || n == SMPFOTA_ERR_MSGSIZE) {
		r->rsn = "response too large";
		return reply_rc(s, r, SMPFOTA_MGMT_EMSGSIZE);
	}
	return n;
}

/* ---- slots ----------------------------------------------------------------------------- */

static const struct smpfota_flash_area *slot_area(const struct smpfota_server *s, uint32_t slot)
{
	uint32_t image = slot / 2;
	if (image >= s->cfg->n_images) {
		return NULL;
	}
	return (slot % 2) ? &s->cfg->images[image].secondary : &s->cfg->images[image].primary;
}

/* Direct-xip and RAM load: each slot runs in place, no test/confirm. */
static bool xip(const struct smpfota_server *s)
{
	return s->cfg->mode == SMPFOTA_SERVER_DIRECT_XIP || s->cfg->mode == SMPFOTA_SERVER_RAM_LOAD;
}

static bool recovery(const struct smpfota_server *s)
{
	return s->cfg->mode == SMPFOTA_SERVER_SERIAL_RECOVERY;
}

/* The slot an upload of this image goes to: the secondary; in direct-xip the one not
 * running; in serial recovery the primary (MCUboot's default, no application runs). */
static uint32_t upload_slot(const struct smpfota_server *s, uint32_t image)
{
	if (xip(s)) {
		return 2 * image + 1U - s->run_slot[image];
	}
	return recovery(s) ? 2 * image : 2 * image + 1;
}

static int area_read_fn(void *ctx, uint32_t off, void *buf, size_t len)
{
	return smpfota_flash_area_read(ctx, off, buf, len);
}

/* Version, hash and flags of the image in a slot, as img_mgmt_read_info(): 0 when the slot
 * holds an image header and a SHA-256 TLV (its hash is not verified here). */
static int slot_info(const struct smpfota_server *s, uint32_t slot, struct smpfota_image_info *info)
{
	const struct smpfota_flash_area *a = slot_area(s, slot);
	if (a == NULL) {
		return SMPFOTA_ERR_RANGE;
	}
	return smpfota_image_read_info(area_read_fn, (void *)a, a->size, info);
}

/* img_mgmt_get_next_boot_slot() for swap modes. */
static uint32_t next_boot_slot(const struct smpfota_server *s, uint32_t image, enum next_boot *type)
{
	const struct smpfota_boot_image *im = &s->cfg->images[image];
	uint32_t active = 2 * image;
	int swap = smpfota_boot_read_swap_type(&im->primary, &im->secondary);

	*type = NEXT_NORMAL;
	switch (swap) {
	case SMPFOTA_BOOT_SWAP_PERM:
		return active + 1;
	case SMPFOTA_BOOT_SWAP_REVERT:
		*type = NEXT_REVERT;
		return active + 1;
	case SMPFOTA_BOOT_SWAP_TEST:
		*type = NEXT_TEST;
		return active + 1;
	default:
		return active;
	}
}

/* img_mgmt_slot_in_use(): may this slot be overwritten or erased? */
static bool slot_in_use(const struct smpfota_server *s, uint32_t slot)
{
	uint32_t image = slot / 2;
	if (xip(s)) {
		return slot == 2 * image + s->run_slot[image];
	}
	if (recovery(s)) {
		return false; /* nothing runs */
	}
	uint32_t active = 2 * image;
	enum next_boot type;
	uint32_t nbs = next_boot_slot(s, image, &type);

	if (slot == nbs && type == NEXT_REVERT) {
		return true;
	}
	if ((slot == nbs && type == NEXT_TEST) || (active != nbs && type == NEXT_NORMAL)) {
		return true;
	}
	return slot == active;
}

static int vercmp(const struct smpfota_image_version *a, const struct smpfota_image_version *b)
{
	/* Zephyr compares major.minor.revision only (no _VERSION_CMP_USE_BUILD_NUMBER). */
	if (a->major != b->major) {
		return a->major < b->major ? -1 : 1;
	}
	if (a->minor != b->minor) {
		return a->minor < b->minor ? -1 : 1;
	}
	if (a->revision != b->revision) {
		return a->revision < b->revision ? -1 : 1;
	}
	return 0;
}

/* ---- image group ----------------------------------------------------------------------- */

#define REPORT_ACTIVE 0x1U
#define REPORT_PENDING 0x2U
#define REPORT_CONFIRMED 0x4U
#define REPORT_PERMANENT 0x8U

struct state_scratch {
	char ver[SMPFOTA_SMP_MAX_IMAGES][SMPFOTA_IMAGE_VERSION_STR_MAX];
	uint8_t hash[SMPFOTA_SMP_MAX_IMAGES][SMPFOTA_IMAGE_HASH_MAX];
};

static void add_slot(const struct smpfota_server *s, struct smpfota_img_state_rsp *rsp,
		     struct state_scratch *sc, uint32_t slot, unsigned flags)
{
	struct smpfota_image_info info;
	if (rsp->images_count >= SMPFOTA_SMP_MAX_IMAGES || slot_info(s, slot, &info) != 0) {
		return; /* as Zephyr: a slot without a readable image is not listed */
	}
	size_t i = rsp->images_count++;
	struct smpfota_img_slot_state *e = &rsp->images[i];
	memcpy(sc->hash[i], info.hash, info.hash_len);
	e->has_image = s->cfg->n_images > 1;
	e->image = slot / 2;
	e->slot = slot % 2;
	e->version.ptr = sc->ver[i];
	e->version.len = (size_t)smpfota_image_version_wire_str(&info.hdr.version, sc->ver[i],
								sizeof(sc->ver[i]));
	e->has_hash = true;
	e->hash.ptr = sc->hash[i];
	e->hash.len = info.hash_len; /* Zephyr: 32, or 64 with SHA-512; ours: the image's */
	e->bootable = !(info.hdr.flags & SMPFOTA_IMAGE_F_NON_BOOTABLE);
	e->pending = flags & REPORT_PENDING;
	e->confirmed = flags & REPORT_CONFIRMED;
	e->active = flags & REPORT_ACTIVE;
	e->permanent = flags & REPORT_PERMANENT;
}

static int reply_state(struct smpfota_server *s, struct reply *r, enum smpfota_smp_msg msg)
{
	struct smpfota_img_state_rsp rsp;
	struct state_scratch sc;

	memset(&rsp, 0, sizeof(rsp));
	for (uint32_t image = 0; image < s->cfg->n_images && (xip(s) || recovery(s)); image++) {
		/* Direct-xip: the running slot is active and confirmed, nothing is pending (the
		 * highest version boots). Serial recovery (boot_serial.c without image state):
		 * no flags at all, nothing runs. */
		uint32_t run = xip(s) ? 2 * image + s->run_slot[image] : UINT32_MAX;
		for (uint32_t slot = 2 * image; slot < 2 * image + 2; slot++) {
			add_slot(s, &rsp, &sc, slot,
				 slot == run ? REPORT_ACTIVE | REPORT_CONFIRMED : 0);
		}
	}
	for (uint32_t image = 0; image < s->cfg->n_images && !xip(s) && !recovery(s); image++) {
		enum next_boot type;
		uint32_t nbs = next_boot_slot(s, image, &type);
		uint32_t slot_a = 2 * image;
		unsigned flags_a = REPORT_ACTIVE;
		unsigned flags_o = 0;

		if (type != NEXT_REVERT) {
			flags_a |= REPORT_CONFIRMED;
		}
		if (nbs != slot_a) {
			flags_o = type == NEXT_NORMAL   ? REPORT_PENDING | REPORT_PERMANENT
				  : type == NEXT_REVERT ? REPORT_CONFIRMED
							: REPORT_PENDING;
		}
		add_slot(s, &rsp, &sc, slot_a, flags_a);
		add_slot(s, &rsp, &sc, slot_a + 1, flags_o);
	}
	rsp.has_split_status = true; /* non-frugal lists send splitStatus: 0 */
	return reply_ok(s, r, msg, &rsp);
}

static int boot_err_to_img(int rc)
{
	return rc == SMPFOTA_ERR_IO ? SMPFOTA_IMG_MGMT_ERR_FLASH_WRITE_FAILED
				    : SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC;
}

/* img_mgmt_set_next_boot_slot(): returns 0 or an image group error. */
static int set_next_boot_slot(struct smpfota_server *s, uint32_t slot, bool confirm,
			      const char **why)
{
	uint32_t image = slot / 2;
	uint32_t active = 2 * image;
	enum next_boot type;
	uint32_t nbs = next_boot_slot(s, image, &type);

	if (confirm && image != s->cfg->active_image &&
	    (!s->cfg->allow_confirm_secondary || slot == active)) {
		*why = "confirming a non-active image";
		return SMPFOTA_IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED;
	}
	if (!confirm && slot == active) {
		*why = "test of the active slot";
		return SMPFOTA_IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED;
	}
	*why = "another image is already pending";
	if (type == NEXT_TEST) {
		return (!confirm && slot == nbs) ? 0 : SMPFOTA_IMG_MGMT_ERR_IMAGE_ALREADY_PENDING;
	}
	if (type == NEXT_NORMAL) {
		if (confirm && slot == nbs) {
			return 0;
		}
		if ((slot == active && active != nbs) ||
		    (!confirm && slot != active && slot == nbs)) {
			return SMPFOTA_IMG_MGMT_ERR_IMAGE_ALREADY_PENDING;
		}
	}
	if (type == NEXT_REVERT) {
		if (confirm && slot == nbs) {
			return 0;
		}
		if (!confirm) {
			return SMPFOTA_IMG_MGMT_ERR_IMAGE_ALREADY_PENDING;
		}
	}
	const struct smpfota_flash_area *a = slot_area(s, slot);
	if (slot != active) {
		/* Stricter than Zephyr: only an image whose hash checks may be marked, so a
		 * half-uploaded or damaged slot never becomes pending. */
		struct smpfota_image_info info;
		int vrc = smpfota_boot_slot_image(a, &info);
		if (vrc != 0 || !info.hash_valid) {
			*why = "image in slot does not verify";
			return SMPFOTA_IMG_MGMT_ERR_INVALID_HASH;
		}
	}
	int rc = (slot == active) ? smpfota_boot_set_confirmed(a)
				  : smpfota_boot_set_pending(a, (uint8_t)image, confirm);
	*why = "trailer write failed";
	return rc == 0 ? 0 : boot_err_to_img(rc);
}

static int find_by_hash(const struct smpfota_server *s, struct smpfota_bytes hash)
{
	for (uint32_t slot = 0; slot < 2 * s->cfg->n_images; slot++) {
		struct smpfota_image_info info;
		if (slot_info(s, slot, &info) == 0 && info.hash_len == hash.len &&
		    memcmp(info.hash, hash.ptr, hash.len) == 0) {
			return (int)slot;
		}
	}
	return -1;
}

static int img_state_write(struct smpfota_server *s, struct reply *r,
			   const struct smpfota_img_state_write_req *q)
{
	int slot;
	if (xip(s) || recovery(s)) {
		/* Zephyr's img_mgmt in direct-xip (without revert) and RAM load; boot_serial.c
		 * without MCUBOOT_SERIAL_IMG_GRP_IMAGE_STATE. */
		r->rsn = "no test or confirm in this MCUboot mode";
		return reply_rc(s, r, SMPFOTA_MGMT_ENOTSUP);
	}
	if (!q->has_hash || q->hash.len == 0) {
		if (!q->confirm) {
			r->rsn = "test without a hash";
			return reply_err(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_HASH);
		}
		slot = 2 * s->cfg->active_image;
	} else if (q->hash.len != 32 && q->hash.len != 48 && q->hash.len != 64) {
		r->rsn = "hash is not 32, 48 or 64 bytes";
		return reply_err(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_HASH);
	} else if ((slot = find_by_hash(s, q->hash)) < 0) {
		r->rsn = "no image with this hash";
		return reply_err(s, r, SMPFOTA_IMG_MGMT_ERR_HASH_NOT_FOUND);
	}
	int err = set_next_boot_slot(s, (uint32_t)slot, q->confirm, &r->rsn);
	if (err != 0) {
		return reply_err(s, r, err);
	}
	return reply_state(s, r, SMPFOTA_MSG_IMG_STATE_WRITE);
}

/* Erase [off, off + len) unless it already reads erased: pre-erased flash pays no erase
 * and no wear. Returns 0 or the flash error. */
static int erase_if_needed(struct smpfota_server *s, const struct smpfota_flash_area *a,
			   uint32_t off, uint32_t len)
{
	int rc = smpfota_flash_area_is_erased(a, off, len);
	if (rc == 0) {
		rc = smpfota_flash_area_erase(a, off, len);
		s->stats.pages_erased += len / a->flash->page_size;
	}
	return rc < 0 ? rc : 0;
}

static void upload_reset(struct smpfota_server *s);

static int img_erase(struct smpfota_server *s, struct reply *r,
		     const struct smpfota_img_erase_req *q)
{
	/* Default: the slot opposite the running one (img_mgmt_get_other_slot). */
	uint32_t slot = q->has_slot ? q->slot : upload_slot(s, s->cfg->active_image);
	const struct smpfota_flash_area *a = slot_area(s, slot);
	struct smpfota_image_info info;

	if (a == NULL) {
		r->rsn = "no such slot";
		return reply_err(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_SLOT);
	}
	if (slot_info(s, slot, &info) == 0 && slot_in_use(s, slot)) {
		r->rsn = "slot in use";
		return reply_err(s, r, SMPFOTA_IMG_MGMT_ERR_NO_FREE_SLOT);
	}
	int rc = erase_if_needed(s, a, 0, a->size);
	upload_reset(s);
	if (rc < 0) {
		r->rsn = "erase failed";
		return reply_err(s, r, SMPFOTA_IMG_MGMT_ERR_FLASH_ERASE_FAILED);
	}
	struct smpfota_img_erase_rsp rsp = {0};
	return reply_ok(s, r, SMPFOTA_MSG_IMG_ERASE, &rsp);
}

static int img_slot_info(struct smpfota_server *s, struct reply *r)
{
	struct smpfota_img_slot_info_rsp rsp;
	memset(&rsp, 0, sizeof(rsp));
	for (size_t i = 0; i < s->cfg->n_images && i < SMPFOTA_SMP_MAX_IMAGES; i++) {
		const struct smpfota_boot_image *im = &s->cfg->images[i];
		struct smpfota_img_slot_info_image *e = &rsp.images[rsp.images_count++];
		e->image = (uint32_t)i;
		e->slots_count = 2;
		e->slots[0].slot = 0;
		e->slots[0].size = im->primary.size;
		e->slots[1].slot = 1;
		e->slots[1].size = im->secondary.size;
		e->has_max_image_size = true;
		e->max_image_size = smpfota_boot_max_image_size(&im->primary, &im->secondary);
	}
	return reply_ok(s, r, SMPFOTA_MSG_IMG_SLOT_INFO, &rsp);
}

/* ---- upload ---------------------------------------------------------------------------- */

static uint32_t upload_crc(const struct smpfota_server_upload *u)
{
	/* FNV-1a over the record: enough to tell a retained record from RAM noise. */
	const uint8_t *p = (const uint8_t *)u;
	uint32_t h = 2166136261U;
	for (size_t i = 0; i < offsetof(struct smpfota_server_upload, crc); i++) {
		h = (h ^ p[i]) * 16777619U;
	}
	return h;
}

static smpfota_sha256_ctx *file_sha(struct smpfota_server *s)
{
	return (smpfota_sha256_ctx *)(void *)&s->up.file_sha;
}

/* Forget the upload (releasing its hash contexts). */
static void upload_reset(struct smpfota_server *s)
{
	if (s->up.magic == UPLOAD_MAGIC || s->up.magic == UPLOAD_BUSY) {
		smpfota_sha256_free(file_sha(s));
		(void)smpfota_image_reader_finish(&s->up.reader, NULL);
	}
	memset(&s->up, 0, sizeof(s->up));
}

static bool upload_active(const struct smpfota_server *s)
{
	return s->up.magic == UPLOAD_MAGIC;
}

/* The record is about to change (flash writes, hash contexts): until upload_commit(), a reset
 * must not resume from it, since the flash may already be ahead of what it says. */
static void upload_busy(struct smpfota_server *s)
{
	s->up.magic = UPLOAD_BUSY;
}

/* The request is done and the record matches the flash again: resumable. */
static void upload_commit(struct smpfota_server *s)
{
	s->up.magic = UPLOAD_MAGIC;
	s->up.crc = upload_crc(&s->up);
}

/* Start a new upload's streaming checks. 0, or -1 when the hash engine fails. */
static int upload_stream_start(struct smpfota_server *s)
{
	smpfota_image_reader_init(&s->up.reader);
	smpfota_sha256_init(file_sha(s));
	return smpfota_sha256_starts(file_sha(s)) == 0 ? 0 : -1;
}

/* Accepted bytes, in file order, into the file hash and the image reader. 0, or -1 when the
 * hash engine fails. A format error stays in the reader (sticky) and is answered once the
 * file is complete, as the check from flash used to. */
static int upload_stream(struct smpfota_server *s, const uint8_t *p, size_t n)
{
	if (n == 0) {
		return 0;
	}
	if (smpfota_sha256_update(file_sha(s), p, n) != 0) {
		return -1;
	}
	/* SMPFOTA_ERR_IO is the reader's only non-format error: its own SHA-256 failed. */
	return smpfota_image_reader_feed(&s->up.reader, p, n) == SMPFOTA_ERR_IO ? -1 : 0;
}

/* Erase what an old trailer left in the slot (e.g. after a revert), so that the new image can
 * neither look pending nor inherit image_ok. Done when an upload starts, where reading the
 * slot is fine: the image never reaches the trailer pages (smpfota_boot_max_image_size), so
 * they stay erased and the last chunk has nothing to check. */
static int clear_trailer(struct smpfota_server *s, const struct smpfota_flash_area *a)
{
	uint32_t page = a->flash->page_size;
	uint32_t tstart = (a->size - smpfota_boot_trailer_size(a)) / page * page;
	for (uint32_t off = tstart; off < a->size; off += page) {
		int rc = erase_if_needed(s, a, off, page);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* What a complete file gets, from the reader's verdict on it: 0 when MCUboot would take the
 * image, else INVALID_TLV (no usable header) or INVALID_HASH (anything wrong after it).
 * The stream is hashed with SHA-256: an image whose hash TLV is SHA-384 or SHA-512 is hashed
 * again from the slot, now that it is all there, with its own algorithm. */
static int image_verdict(const struct smpfota_flash_area *a, int rc,
			 struct smpfota_image_info *info, const char **why)
{
	if (info->has_hash && info->hash_type != info->computed_type) {
		uint8_t buf[64];
		rc = smpfota_image_check(area_read_fn, (void *)a, info->image_size, info->hash_type,
					 buf, sizeof(buf), info);
	}
	if (rc == 0) {
		return 0;
	}
	if (!info->header_valid) {
		*why = "invalid image";
		return SMPFOTA_IMG_MGMT_ERR_INVALID_TLV;
	}
	*why = "image hash mismatch";
	return SMPFOTA_IMG_MGMT_ERR_INVALID_HASH;
}

/* Erase (progressively, as CONFIG_IMG_ERASE_PROGRESSIVELY) every page below `end`; a whole
 * block of the part's larger erase unit at once where the image covers all of it (one 64 KB
 * erase of the MX25R64 takes 480 ms, its 16 sectors 768 ms). */
static int ensure_erased(struct smpfota_server *s, const struct smpfota_flash_area *a, uint32_t end)
{
	uint32_t page = a->flash->page_size;
	uint32_t block = a->flash->block_size;
	while (s->up.erased < end) {
		uint32_t n = page;
		if (block > page && block % page == 0 && (a->off + s->up.erased) % block == 0 &&
		    s->up.size >= block && s->up.erased <= s->up.size - block) {
			n = block;
		}
		int rc = erase_if_needed(s, a, s->up.erased, n);
		if (rc < 0) {
			return rc;
		}
		s->up.erased += n;
	}
	return 0;
}

static int write_blocks(struct smpfota_server *s, const struct smpfota_flash_area *a,
			const uint8_t *data, size_t len)
{
	int rc = ensure_erased(s, a, s->up.written + (uint32_t)len);
	if (rc == 0) {
		rc = smpfota_flash_area_write(a, s->up.written, data, len);
	}
	if (rc == 0) {
		s->up.written += (uint32_t)len;
		s->stats.bytes_written += (uint32_t)len;
	}
	return rc;
}

/* Append chunk bytes; whole write blocks go straight from the request buffer to flash,
 * only the unaligned remainder waits in wbuf. */
static int upload_write(struct smpfota_server *s, const struct smpfota_flash_area *a,
			const uint8_t *data, size_t len)
{
	size_t ws = a->flash->write_size;
	while (len > 0) {
		if (s->up.wbuf_len > 0 || len < ws) {
			size_t take = ws - s->up.wbuf_len;
			take = take < len ? take : len;
			memcpy(s->up.wbuf + s->up.wbuf_len, data, take);
			s->up.wbuf_len = (uint8_t)(s->up.wbuf_len + take);
			data += take;
			len -= take;
			if (s->up.wbuf_len == ws) {
				int rc = write_blocks(s, a, s->up.wbuf, ws);
				if (rc < 0) {
					return rc;
				}
				s->up.wbuf_len = 0;
			}
		} else {
			size_t n = len - len % ws;
			int rc = write_blocks(s, a, data, n);
			if (rc < 0) {
				return rc;
			}
			data += n;
			len -= n;
		}
	}
	return 0;
}

/*
 * CONFIG_IMG_ENABLE_IMAGE_CHECK: does the slot already hold this very file (same header, same
 * SHA-256 over len bytes), e.g. because the final answer of an upload was lost? Reads the slot
 * once (only ever at the start of an upload), through the upload record's hash contexts used as
 * scratch (the caller has reset it), and also runs the image reader over it, so that the answer
 * can be what the end of an upload would have answered: *img_err gets 0 or that error.
 */
static bool slot_has_file(struct smpfota_server *s, const struct smpfota_flash_area *a,
			  const struct smpfota_img_upload_req *q, int *img_err, const char **why)
{
	uint8_t buf[64];
	uint8_t digest[32];
	struct smpfota_image_info info;
	int rc;

	if (!q->has_sha || q->sha.len != sizeof(digest) || q->len > a->size ||
	    smpfota_flash_area_read(a, 0, buf, SMPFOTA_IMAGE_HEADER_SIZE) != 0 ||
	    memcmp(buf, q->data.ptr, SMPFOTA_IMAGE_HEADER_SIZE) != 0) {
		return false;
	}
	s->up.magic = UPLOAD_BUSY; /* contexts in use: upload_reset() releases them */
	rc = upload_stream_start(s);
	for (uint32_t off = 0; rc == 0 && off < q->len; off += sizeof(buf)) {
		size_t n = q->len - off < sizeof(buf) ? q->len - off : sizeof(buf);
		rc = smpfota_flash_area_read(a, off, buf, n);
		if (rc == 0) {
			rc = upload_stream(s, buf, n);
		}
	}
	bool same = rc == 0 && smpfota_sha256_finish(file_sha(s), digest) == 0 &&
		    memcmp(digest, q->sha.ptr, sizeof(digest)) == 0;
	if (same) {
		*img_err = image_verdict(a, smpfota_image_reader_finish(&s->up.reader, &info),
					 &info, why);
	}
	upload_reset(s);
	return same;
}

/* Last chunk: flush the tail and take the verdicts the stream has been building. Nothing is
 * read back: the trailer pages were cleared when the upload started, and the file hash and the
 * image check ran over every byte as it was accepted (MCUboot checks the image from flash
 * again before it swaps, and `image test`/`confirm` before marking it). */
static int upload_finish(struct smpfota_server *s, const struct smpfota_flash_area *a, bool *match,
			 const char **why)
{
	size_t ws = a->flash->write_size;
	uint8_t digest[32];
	struct smpfota_image_info info;

	if (s->up.wbuf_len > 0) {
		memset(s->up.wbuf + s->up.wbuf_len, a->flash->erased_val, ws - s->up.wbuf_len);
		if (write_blocks(s, a, s->up.wbuf, ws) < 0) {
			*why = "flash write failed";
			return SMPFOTA_IMG_MGMT_ERR_FLASH_WRITE_FAILED;
		}
		s->up.wbuf_len = 0;
	}

	/* The file's SHA-256 against the "sha" the client sent (CONFIG_IMG_ENABLE_IMAGE_CHECK). */
	if (smpfota_sha256_finish(file_sha(s), digest) != 0) {
		*why = "hash engine failed";
		return SMPFOTA_IMG_MGMT_ERR_UNKNOWN;
	}
	*match = s->up.sha_len == SMPFOTA_IMAGE_HASH_SIZE &&
		 memcmp(digest, s->up.sha, sizeof(digest)) == 0;

	/* An image MCUboot would refuse is scrambled now, so it can never be marked. */
	int err = image_verdict(a, smpfota_image_reader_finish(&s->up.reader, &info), &info, why);
	if (err != 0) {
		(void)smpfota_flash_area_erase(a, 0, a->flash->page_size);
	}
	return err;
}

static int reply_upload_off(struct smpfota_server *s, struct reply *r, uint32_t off, bool has_match,
			    bool match)
{
	struct smpfota_img_upload_rsp rsp = {
		.has_off = true, .off = off, .has_match = has_match, .match = match};
	return reply_ok(s, r, SMPFOTA_MSG_IMG_UPLOAD, &rsp);
}

static int upload_fail(struct smpfota_server *s, struct reply *r, int err, const char *why)
{
	/* As Zephyr: any refused chunk ends the upload in progress. */
	upload_reset(s);
	r->rsn = why;
	return reply_err(s, r, err);
}

static int img_upload(struct smpfota_server *s, struct reply *r,
		      const struct smpfota_img_upload_req *q)
{
	const struct smpfota_flash_area *a;

	if (q->off == 0) {
		const uint8_t *d = q->data.ptr;
		if (q->data.len < SMPFOTA_IMAGE_HEADER_SIZE) {
			return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_HEADER,
					   "header malformed");
		}
		if (!q->has_len) {
			return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_LENGTH,
					   "header malformed");
		}
		struct smpfota_image_header hdr;
		if (smpfota_image_header_parse(d, q->data.len, &hdr) == SMPFOTA_ERR_BAD_MAGIC) {
			return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC,
					   "magic mismatch");
		}
		if (q->has_sha && q->sha.len > sizeof(s->up.sha)) {
			return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_HASH, "sha too long");
		}
		/* Same session (same sha) already in progress: resume, write nothing. */
		if (q->has_sha && q->sha.len > 0 && upload_active(s) &&
		    s->up.sha_len == q->sha.len && memcmp(s->up.sha, q->sha.ptr, q->sha.len) == 0) {
			return reply_upload_off(s, r, s->up.off, false, false);
		}
		uint32_t image = q->has_image ? q->image : 0;
		uint32_t slot = image < s->cfg->n_images ? upload_slot(s, image) : 2 * image + 1;
		a = slot_area(s, slot);
		if (a == NULL || slot_in_use(s, slot)) {
			return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_NO_FREE_SLOT, "no slot");
		}
		const struct smpfota_boot_image *im = &s->cfg->images[image];
		if (q->len > smpfota_boot_max_image_size(&im->primary, &im->secondary)) {
			return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE,
					   "img too large");
		}
		if (q->has_upgrade && q->upgrade) {
			struct smpfota_image_info cur;
			if (slot_info(s, 2 * image + (xip(s) ? s->run_slot[image] : 0U), &cur) !=
			    0) {
				return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_VERSION_GET_FAILED,
						   "version get failed");
			}
			if (vercmp(&cur.hdr.version, &hdr.version) >= 0) {
				return upload_fail(s, r,
						   SMPFOTA_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER,
						   "downgrade");
			}
		}
		upload_reset(s);
		if (s->cfg->image_check) {
			int img_err = 0;
			const char *why = NULL;
			if (slot_has_file(s, a, q, &img_err, &why)) {
				/* Answered as the end of an upload: the same trailer and image checks. */
				if (clear_trailer(s, a) < 0) {
					return upload_fail(s, r,
							   SMPFOTA_IMG_MGMT_ERR_FLASH_ERASE_FAILED,
							   "trailer erase failed");
				}
				if (img_err != 0) {
					(void)smpfota_flash_area_erase(a, 0, a->flash->page_size);
					return upload_fail(s, r, img_err, why);
				}
				return reply_upload_off(s, r, q->len, true, true);
			}
		}
		upload_busy(s);
		s->up.image = (uint8_t)image;
		s->up.size = q->len;
		if (q->has_sha) {
			s->up.sha_len = (uint8_t)q->sha.len;
			memcpy(s->up.sha, q->sha.ptr, q->sha.len);
		}
		if (upload_stream_start(s) != 0) {
			return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_UNKNOWN,
					   "hash engine failed");
		}
		if (clear_trailer(s, a) < 0) {
			return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_FLASH_ERASE_FAILED,
					   "trailer erase failed");
		}
	} else {
		if (!upload_active(s) || q->off != s->up.off) {
			/* Wrong offset: drop the data and say where to continue (0 when idle). */
			return reply_upload_off(s, r, upload_active(s) ? s->up.off : 0, false,
						false);
		}
		if ((uint64_t)q->off + q->data.len > s->up.size) {
			return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN,
					   "data overrun");
		}
		upload_busy(s);
	}
	a = slot_area(s, upload_slot(s, s->up.image));
	if ((uint64_t)s->up.off + q->data.len > s->up.size) {
		return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN,
				   "data overrun");
	}
	if (upload_write(s, a, q->data.ptr, q->data.len) < 0) {
		return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_FLASH_WRITE_FAILED, "fa write fail");
	}
	if (upload_stream(s, q->data.ptr, q->data.len) != 0) {
		return upload_fail(s, r, SMPFOTA_IMG_MGMT_ERR_UNKNOWN, "hash engine failed");
	}
	s->up.off += (uint32_t)q->data.len;
	if (s->up.off < s->up.size) {
		upload_commit(s);
		return reply_upload_off(s, r, s->up.off, false, false);
	}
	/* Complete: the record stays busy until it is reset, so a reset during the checks below
	 * starts over rather than resuming a finished file. */
	bool match = false;
	const char *why = NULL;
	int err = upload_finish(s, a, &match, &why);
	uint32_t done = s->up.off;
	if (err != 0) {
		return upload_fail(s, r, err, why);
	}
	upload_reset(s);
	return reply_upload_off(s, r, done, s->cfg->image_check, match);
}

/* ---- OS group -------------------------------------------------------------------------- */

static int os_info(struct smpfota_server *s, struct reply *r, const struct smpfota_os_info_req *q)
{
	static const char letters[] = "snrvbmpio";
	const struct smpfota_server_info *in = &s->cfg->info;
	const char *fields[] = {in->kernel,  in->node,      in->release,  in->version, in->build,
				in->machine, in->processor, in->platform, in->os};
	unsigned want = 0;
	struct smpfota_str fmt = q->has_format ? q->format : cstr("s");

	for (size_t i = 0; i < fmt.len; i++) {
		const char *p = fmt.ptr[i] == 'a'
					? NULL
					: memchr(letters, fmt.ptr[i], sizeof(letters) - 1);
		if (fmt.ptr[i] == 'a') {
			want = (1U << (sizeof(letters) - 1)) - 1;
		} else if (p == NULL) {
			r->rsn = "invalid format";
			return reply_err(s, r, SMPFOTA_OS_ERR_INVALID_FORMAT);
		} else {
			want |= 1U << (p - letters);
		}
	}
	char out[256];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(letters) - 1; i++) {
		if (!(want & (1U << i))) {
			continue;
		}
		const char *v = fields[i] ? fields[i] : "unknown";
		size_t vl = strlen(v);
		if (n + vl + 1 > sizeof(out)) {
			r->rsn = "info too long";
			return reply_rc(s, r, SMPFOTA_MGMT_EMSGSIZE);
		}
		if (n) {
			out[n++] = ' ';
		}
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): (ptr, len), no NUL */
		memcpy(out + n, v, vl);
		n += vl;
	}
	struct smpfota_os_info_rsp rsp = {.output = {out, n}};
	return reply_ok(s, r, SMPFOTA_MSG_OS_INFO, &rsp);
}

static int os_bootloader(struct smpfota_server *s, struct reply *r,
			 const struct smpfota_os_bootloader_req *q)
{
	struct smpfota_os_bootloader_rsp rsp = {0};
	/* MCUboot's numbers (enum smpfota_mcuboot_mode) for the modes the server plays. */
	static const uint8_t modes[] = {
		[SMPFOTA_SERVER_SWAP] = SMPFOTA_MCUBOOT_MODE_SWAP_USING_MOVE,
		[SMPFOTA_SERVER_OVERWRITE] = SMPFOTA_MCUBOOT_MODE_UPGRADE_ONLY,
		[SMPFOTA_SERVER_DIRECT_XIP] = SMPFOTA_MCUBOOT_MODE_DIRECT_XIP,
		[SMPFOTA_SERVER_RAM_LOAD] = SMPFOTA_MCUBOOT_MODE_RAM_LOAD,
	};
	if (s->cfg->no_bootloader_info || s->cfg->mode >= sizeof(modes)) {
		r->rsn = "unknown group or command"; /* CONFIG_MCUMGR_GRP_OS_BOOTLOADER_INFO=n */
		return reply_rc(s, r, SMPFOTA_MGMT_ENOTSUP);
	}
	if (!q->has_query) {
		rsp.has_bootloader = true;
		rsp.bootloader = cstr("MCUboot");
	} else if (q->query.len == 4 && memcmp(q->query.ptr, "mode", 4) == 0) {
		rsp.has_mode = true;
		rsp.mode = modes[s->cfg->mode];
	} else {
		r->rsn = "unknown query";
		return reply_err(s, r, SMPFOTA_OS_ERR_QUERY_YIELDS_NO_ANSWER);
	}
	return reply_ok(s, r, SMPFOTA_MSG_OS_BOOTLOADER, &rsp);
}

static int os_reset(struct smpfota_server *s, struct reply *r, const struct smpfota_os_reset_req *q)
{
	bool force = q->has_force && q->force;
	if (s->cfg->reset != NULL && s->cfg->reset(s->cfg->ctx, force) != 0 && !force) {
		r->rsn = "reset refused";
		return reply_rc(s, r, SMPFOTA_MGMT_EBUSY);
	}
	s->reset_requested = true;
	struct smpfota_os_reset_rsp rsp = {0};
	return reply_ok(s, r, SMPFOTA_MSG_OS_RESET, &rsp);
}

/* ---- dispatch -------------------------------------------------------------------------- */

int smpfota_server_init(struct smpfota_server *s, const struct smpfota_server_config *cfg,
			bool resume)
{
	if (s == NULL || cfg == NULL || cfg->images == NULL || cfg->n_images == 0 ||
	    cfg->n_images > SMPFOTA_SMP_MAX_IMAGES / 2 || cfg->active_image >= cfg->n_images) {
		return SMPFOTA_ERR_INVAL;
	}
	for (size_t i = 0; i < cfg->n_images; i++) {
		if (cfg->images[i].secondary.flash->write_size > SMPFOTA_SERVER_MAX_WRITE_SIZE) {
			return SMPFOTA_ERR_INVAL;
		}
	}
	if (cfg->mode > SMPFOTA_SERVER_SERIAL_RECOVERY) {
		return SMPFOTA_ERR_INVAL;
	}
	bool keep = resume && s->up.magic == UPLOAD_MAGIC && s->up.crc == upload_crc(&s->up) &&
		    s->up.image < cfg->n_images;
	struct smpfota_server_upload up = s->up;
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	if (keep) {
		s->up = up;
	}
	for (size_t i = 0; i < cfg->n_images && xip(s); i++) {
		/* The slot MCUboot chose at this boot runs until the next one. */
		int slot = smpfota_boot_xip_slot(&cfg->images[i], NULL);
		s->run_slot[i] = slot == 1 ? 1U : 0U;
	}
	return 0;
}

int smpfota_server_handle(struct smpfota_server *s, const uint8_t *req, size_t req_len,
			  uint8_t *rsp, size_t rsp_size)
{
	struct smpfota_smp_hdr h;
	union smpfota_smp_req q;
	struct reply r = {.hdr = &h, .buf = rsp, .size = rsp_size};

	s->stats.requests++;
	if (req_len < SMPFOTA_SMP_HDR_SIZE) {
		s->stats.malformed++;
		return 0;
	}
	int frame_len = smpfota_smp_hdr_decode(req, req_len, &h);
	if (frame_len < 0) {
		/* Header unusable (length past the data): answer as Zephyr, with ECORRUPT. */
		s->stats.malformed++;
		h.op = req[0] & 0x7U;
		h.version = (req[0] >> 3) & 0x3U;
		h.group = util_get_be16(req + 4);
		h.seq = req[6];
		h.id = req[7];
		if ((h.op & 1U) || h.op > SMPFOTA_SMP_OP_WRITE || (req[0] & 0xe0U)) {
			return 0; /* not a request we can answer in kind */
		}
		r.rsn = "corrupt header";
		return reply_rc(s, &r, SMPFOTA_MGMT_ECORRUPT);
	}
	if (h.op & 1U) {
		return 0; /* a response: not for a server */
	}
	if (h.version > SMPFOTA_SMP_V2) {
		r.rsn = "SMP version too new";
		return reply_rc(s, &r, SMPFOTA_MGMT_UNSUPPORTED_TOO_NEW);
	}
	int msg = smpfota_smp_msg_lookup(&h);
	if (msg < 0) {
		r.rsn = "unknown group or command";
		return reply_rc(s, &r, SMPFOTA_MGMT_ENOTSUP);
	}
	if (smpfota_smp_decode_req((enum smpfota_smp_msg)msg, req + SMPFOTA_SMP_HDR_SIZE, h.len,
				   &q) != 0) {
		s->stats.malformed++;
		r.rsn = "malformed request";
		return reply_rc(s, &r, SMPFOTA_MGMT_EINVAL);
	}

	if (recovery(s) && msg != SMPFOTA_MSG_IMG_STATE_READ && msg != SMPFOTA_MSG_IMG_UPLOAD &&
	    msg != SMPFOTA_MSG_OS_RESET) {
		/* MCUboot's serial recovery knows image list, upload and reset (echo only with
		 * MCUBOOT_BOOT_MGMT_ECHO, which is off by default). */
		r.rsn = "not in serial recovery";
		return reply_rc(s, &r, SMPFOTA_MGMT_ENOTSUP);
	}
	switch (msg) {
	case SMPFOTA_MSG_OS_ECHO: {
		struct smpfota_os_echo_rsp e = {.r = q.echo.d};
		return reply_ok(s, &r, SMPFOTA_MSG_OS_ECHO, &e);
	}
	case SMPFOTA_MSG_OS_RESET:
		return os_reset(s, &r, &q.reset);
	case SMPFOTA_MSG_OS_PARAMS: {
		struct smpfota_os_params_rsp p = {.buf_size = s->cfg->buf_size,
						  .buf_count = s->cfg->buf_count};
		return reply_ok(s, &r, SMPFOTA_MSG_OS_PARAMS, &p);
	}
	case SMPFOTA_MSG_OS_INFO:
		return os_info(s, &r, &q.info);
	case SMPFOTA_MSG_OS_BOOTLOADER:
		return os_bootloader(s, &r, &q.bootloader);
	case SMPFOTA_MSG_IMG_STATE_READ:
		return reply_state(s, &r, SMPFOTA_MSG_IMG_STATE_READ);
	case SMPFOTA_MSG_IMG_STATE_WRITE:
		return img_state_write(s, &r, &q.state_write);
	case SMPFOTA_MSG_IMG_UPLOAD:
		return img_upload(s, &r, &q.upload);
	case SMPFOTA_MSG_IMG_ERASE:
		return img_erase(s, &r, &q.erase);
	case SMPFOTA_MSG_IMG_SLOT_INFO:
		return img_slot_info(s, &r);
	default:
		r.rsn = "unknown command";
		return reply_rc(s, &r, SMPFOTA_MGMT_ENOTSUP);
	}
}
