/*
 * MCUboot image trailer and a swap-using-move boot model (see include/smpfota/boot.h for
 * what is modelled and where it differs). The swap is written so that every flash write or
 * erase is a possible reset point: all progress that matters is on flash (trailer fields and
 * status records), written in the order MCUboot writes them, so resuming is idempotent.
 */
#include "boot_priv.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* BOOT_MAX_ALIGN == 8 magic (bootutil_public.c boot_img_magic). */
static const uint8_t boot_magic[SMPFOTA_BOOT_MAGIC_SIZE] = {
	0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
	0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
};

#define FALLBACK_BUF 64U

/* ---- small helpers ---------------------------------------------------------------------- */

/* A trailer needs the 48 info bytes and a write size boot_write_trailer() can pad to 8. */
static int trailer_area_check(const struct smpfota_flash_area *a)
{
	uint16_t ws;

	if (a == NULL || a->flash == NULL || a->size < SMPFOTA_BOOT_INFO_SIZE) {
		return SMPFOTA_ERR_INVAL;
	}
	ws = a->flash->write_size;
	if (ws == 0 || ws > SMPFOTA_BOOT_MAX_ALIGN || (ws & (ws - 1U)) != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	return 0;
}

/* boot_trailer_sz(): status records + info, not rounded. */
uint32_t smpfota_boot_trailer_bytes(uint16_t write_size)
{
	return SMPFOTA_BOOT_MAX_IMG_SECTORS * SMPFOTA_BOOT_STATUS_STATE_COUNT * write_size +
	       SMPFOTA_BOOT_INFO_SIZE;
}

static uint32_t trailer_pages(const struct smpfota_flash_area *a)
{
	uint32_t page = a->flash->page_size;

	return (smpfota_boot_trailer_bytes(a->flash->write_size) + page - 1U) / page;
}

/* ---- trailer ---------------------------------------------------------------------------- */

static uint8_t decode_flag(uint8_t v, uint8_t erased)
{
	if (v == erased) {
		return SMPFOTA_BOOT_FLAG_UNSET;
	}
	return v == SMPFOTA_BOOT_FLAG_VALUE ? SMPFOTA_BOOT_FLAG_SET : SMPFOTA_BOOT_FLAG_BAD;
}

int smpfota_boot_read_trailer(const struct smpfota_flash_area *a, struct smpfota_boot_trailer *t)
{
	uint8_t raw[SMPFOTA_BOOT_INFO_SIZE]; /* swap_size .. magic in one read */
	uint8_t erased;
	int rc = trailer_area_check(a);

	if (rc != 0 || t == NULL) {
		return rc != 0 ? rc : SMPFOTA_ERR_INVAL;
	}
	rc = smpfota_flash_area_read(a, a->size - SMPFOTA_BOOT_INFO_SIZE, raw, sizeof(raw));
	if (rc != 0) {
		return rc;
	}
	erased = a->flash->erased_val;
	const uint8_t *magic = raw + sizeof(raw) - SMPFOTA_BOOT_MAGIC_OFF;
	if (util_all_equal(magic, SMPFOTA_BOOT_MAGIC_SIZE, erased)) {
		t->magic = SMPFOTA_BOOT_MAGIC_UNSET;
	} else if (memcmp(magic, boot_magic, SMPFOTA_BOOT_MAGIC_SIZE) == 0) {
		t->magic = SMPFOTA_BOOT_MAGIC_GOOD;
	} else {
		t->magic = SMPFOTA_BOOT_MAGIC_BAD;
	}
	t->image_ok = decode_flag(raw[sizeof(raw) - SMPFOTA_BOOT_IMAGE_OK_OFF], erased);
	t->copy_done = decode_flag(raw[sizeof(raw) - SMPFOTA_BOOT_COPY_DONE_OFF], erased);
	t->swap_info = raw[sizeof(raw) - SMPFOTA_BOOT_SWAP_INFO_OFF];
	t->swap_size = util_get_le32(raw + sizeof(raw) - SMPFOTA_BOOT_SWAP_SIZE_OFF);
	return 0;
}

uint8_t smpfota_boot_trailer_swap_type(const struct smpfota_boot_trailer *t)
{
	uint8_t type = SMPFOTA_BOOT_SWAP_INFO_TYPE(t->swap_info);

	/* An erased byte decodes to type 15 (0xff parts) or 0 (0x00 parts): both are NONE. */
	if (type < SMPFOTA_BOOT_SWAP_NONE || type > SMPFOTA_BOOT_SWAP_REVERT) {
		return SMPFOTA_BOOT_SWAP_NONE;
	}
	return type;
}

/* boot_write_trailer(): one field, padded with the erased value to the write size. */
static int write_field(const struct smpfota_flash_area *a, uint32_t off_from_end,
		       const uint8_t *data, size_t len)
{
	uint8_t buf[SMPFOTA_BOOT_MAX_ALIGN];
	size_t ws = a->flash->write_size;
	size_t n = (len + ws - 1U) / ws * ws;

	memset(buf, a->flash->erased_val, sizeof(buf));
	memcpy(buf, data, len);
	return smpfota_flash_area_write(a, a->size - off_from_end, buf, n);
}

int smpfota_boot_write_flag(const struct smpfota_flash_area *a, uint32_t off_from_end)
{
	const uint8_t v = SMPFOTA_BOOT_FLAG_VALUE;

	return write_field(a, off_from_end, &v, 1);
}

int smpfota_boot_write_swap_info(const struct smpfota_flash_area *a, uint8_t type, uint8_t image)
{
	const uint8_t v = SMPFOTA_BOOT_SWAP_INFO(image, type);

	return write_field(a, SMPFOTA_BOOT_SWAP_INFO_OFF, &v, 1);
}

int smpfota_boot_write_swap_size(const struct smpfota_flash_area *a, uint32_t size)
{
	uint8_t v[4];

	util_put_le32(v, size);

	return write_field(a, SMPFOTA_BOOT_SWAP_SIZE_OFF, v, sizeof(v));
}

/* boot_write_magic(): 16 bytes, already a whole number of write blocks (ws <= 8). */
int smpfota_boot_write_magic(const struct smpfota_flash_area *a)
{
	return smpfota_flash_area_write(a, a->size - SMPFOTA_BOOT_MAGIC_OFF, boot_magic,
					SMPFOTA_BOOT_MAGIC_SIZE);
}

/* ---- decision table --------------------------------------------------------------------- */

int smpfota_boot_decide_swap(const struct smpfota_boot_trailer *primary,
			     const struct smpfota_boot_trailer *secondary)
{
	if (secondary->magic == SMPFOTA_BOOT_MAGIC_GOOD) {
		if (secondary->image_ok == SMPFOTA_BOOT_FLAG_UNSET) {
			return SMPFOTA_BOOT_SWAP_TEST;
		}
		if (secondary->image_ok == SMPFOTA_BOOT_FLAG_SET) {
			return SMPFOTA_BOOT_SWAP_PERM;
		}
	}
	/* Secondary magic ANY (MCUboot PR #2100): a magic torn by a reset in fixup_revert()
	 * must not cancel the revert (issue #1966). */
	if (primary->magic == SMPFOTA_BOOT_MAGIC_GOOD &&
	    primary->image_ok == SMPFOTA_BOOT_FLAG_UNSET &&
	    primary->copy_done == SMPFOTA_BOOT_FLAG_SET) {
		return SMPFOTA_BOOT_SWAP_REVERT;
	}
	return SMPFOTA_BOOT_SWAP_NONE;
}

void smpfota_boot_trailer_unset(struct smpfota_boot_trailer *t)
{
	t->magic = SMPFOTA_BOOT_MAGIC_UNSET;
	t->image_ok = SMPFOTA_BOOT_FLAG_UNSET;
	t->copy_done = SMPFOTA_BOOT_FLAG_UNSET;
	t->swap_info = 0xff;
	t->swap_size = 0xffffffffU;
}

int smpfota_boot_read_swap_type(const struct smpfota_flash_area *primary,
				const struct smpfota_flash_area *secondary)
{
	struct smpfota_boot_trailer p, s;
	int rc = smpfota_boot_read_trailer(primary, &p);

	if (rc != 0) {
		return rc;
	}
	if (smpfota_boot_read_trailer(secondary, &s) != 0) {
		smpfota_boot_trailer_unset(
			&s); /* unreachable secondary = empty, as boot_swap_type_multi() */
	}
	return smpfota_boot_decide_swap(&p, &s);
}

/* ---- application side ------------------------------------------------------------------- */

int smpfota_boot_set_pending(const struct smpfota_flash_area *secondary, uint8_t image,
			     bool permanent)
{
	struct smpfota_boot_trailer t;
	int rc;

	if (image > 0x0fU) {
		return SMPFOTA_ERR_INVAL;
	}
	rc = smpfota_boot_read_trailer(secondary, &t);
	if (rc != 0) {
		return rc;
	}
	switch (t.magic) {
	case SMPFOTA_BOOT_MAGIC_GOOD:
		return 0; /* already scheduled */
	case SMPFOTA_BOOT_MAGIC_UNSET:
		break;
	default:
		/* As boot_set_next(): the slot is corrupt and cannot be repaired, so it is erased
		 * to allow future upgrades (BOOT_EBADIMAGE). */
		rc = smpfota_flash_area_erase(secondary, 0, secondary->size);
		return rc != 0 ? rc : SMPFOTA_ERR_BAD_MAGIC;
	}
	/* MCUboot's order: magic first, so a reset in between leaves a TEST request at worst. */
	rc = smpfota_boot_write_magic(secondary);
	if (rc == 0 && permanent) {
		rc = smpfota_boot_write_flag(secondary, SMPFOTA_BOOT_IMAGE_OK_OFF);
	}
	if (rc == 0) {
		rc = smpfota_boot_write_swap_info(
			secondary, permanent ? SMPFOTA_BOOT_SWAP_PERM : SMPFOTA_BOOT_SWAP_TEST,
			image);
	}
	return rc;
}

int smpfota_boot_set_confirmed(const struct smpfota_flash_area *primary)
{
	struct smpfota_boot_trailer t;
	int rc = smpfota_boot_read_trailer(primary, &t);

	if (rc != 0) {
		return rc;
	}
	switch (t.magic) {
	case SMPFOTA_BOOT_MAGIC_GOOD:
		break;
	case SMPFOTA_BOOT_MAGIC_UNSET:
		return 0;
	default:
		return SMPFOTA_ERR_BAD_MAGIC;
	}
	if (t.image_ok != SMPFOTA_BOOT_FLAG_UNSET) {
		return 0;
	}
	return smpfota_boot_write_flag(primary, SMPFOTA_BOOT_IMAGE_OK_OFF);
}

uint32_t smpfota_boot_trailer_size(const struct smpfota_flash_area *a)
{
	if (trailer_area_check(a) != 0 || a->flash->page_size == 0) {
		return 0;
	}
	return trailer_pages(a) * a->flash->page_size;
}

bool smpfota_boot_pair_geometry(const struct smpfota_flash_area *pri,
				const struct smpfota_flash_area *sec,
				struct smpfota_boot_geometry *g)
{
	if (trailer_area_check(pri) != 0 || trailer_area_check(sec) != 0) {
		return false;
	}
	g->page = pri->flash->page_size;
	if (g->page == 0 || sec->flash->page_size != g->page ||
	    sec->flash->write_size != pri->flash->write_size ||
	    sec->flash->erased_val != pri->flash->erased_val || pri->size % g->page != 0 ||
	    sec->size % g->page != 0 || pri->off % g->page != 0 || sec->off % g->page != 0 ||
	    g->page % pri->flash->write_size != 0) {
		return false;
	}
	/* Slots on one device must not overlap: the swap would eat its own source. */
	if (pri->flash == sec->flash && pri->off < sec->off + sec->size &&
	    sec->off < pri->off + pri->size) {
		return false;
	}
	g->n_pri = pri->size / g->page;
	g->n_sec = sec->size / g->page;
	g->tp = trailer_pages(pri);
	if ((g->n_pri != g->n_sec && g->n_pri != g->n_sec + 1U) ||
	    g->n_pri > SMPFOTA_BOOT_MAX_IMG_SECTORS || g->n_sec < g->tp + 1U ||
	    g->n_pri < g->tp + 2U) {
		return false;
	}
	return true;
}

uint32_t smpfota_boot_max_image_size(const struct smpfota_flash_area *primary,
				     const struct smpfota_flash_area *secondary)
{
	struct smpfota_boot_geometry g;
	uint32_t p, s;

	if (!smpfota_boot_pair_geometry(primary, secondary, &g)) {
		return 0;
	}
	p = (g.n_pri - 1U - g.tp) * g.page;
	s = (g.n_sec - g.tp) * g.page;
	return p < s ? p : s;
}

/* ---- images on flash -------------------------------------------------------------------- */

/*
 * Where the image at the start of a ends, from its header and TLV info headers (as
 * boot_read_image_size()), without hashing. *empty tells an erased header apart.
 */
int smpfota_boot_image_extent(const struct smpfota_flash_area *a, struct smpfota_image_header *hdr,
			      uint32_t *total, bool *empty, int *flash_err)
{
	uint8_t h[SMPFOTA_IMAGE_HEADER_SIZE];
	uint32_t off;
	int rc;

	*empty = false;
	*total = 0;
	*flash_err = 0;
	rc = smpfota_flash_area_read(a, 0, h, a->size < sizeof(h) ? a->size : sizeof(h));
	if (rc != 0) {
		*flash_err = rc;
		return rc;
	}
	if (a->size < sizeof(h)) {
		return SMPFOTA_ERR_BAD_MAGIC;
	}
	if (util_all_equal(h, sizeof(h), a->flash->erased_val)) {
		*empty = true;
		return SMPFOTA_ERR_BAD_MAGIC;
	}
	rc = smpfota_image_header_parse(h, sizeof(h), hdr);
	if (rc != 0) {
		return rc;
	}
	/* header_parse guarantees hdr + img + prot + 0xffff fits in 32 bits. */
	off = (uint32_t)hdr->hdr_size + hdr->img_size;
	if (hdr->protect_tlv_size != 0) {
		if (off > a->size || a->size - off < 4U) {
			return SMPFOTA_ERR_TRUNCATED;
		}
		rc = smpfota_flash_area_read(a, off, h, 4);
		if (rc != 0) {
			*flash_err = rc;
			return rc;
		}
		if (util_get_le16(h) != SMPFOTA_IMAGE_TLV_PROT_INFO_MAGIC ||
		    util_get_le16(h + 2) != hdr->protect_tlv_size) {
			return SMPFOTA_ERR_TLV_CORRUPT;
		}
		off += hdr->protect_tlv_size;
	}
	if (off > a->size || a->size - off < 4U) {
		return SMPFOTA_ERR_TRUNCATED;
	}
	rc = smpfota_flash_area_read(a, off, h, 4);
	if (rc != 0) {
		*flash_err = rc;
		return rc;
	}
	if (util_get_le16(h) != SMPFOTA_IMAGE_TLV_INFO_MAGIC) {
		return SMPFOTA_ERR_TLV_CORRUPT;
	}
	*total = off + util_get_le16(h + 2);
	return 0;
}

/*
 * Stream [0, image end) of a through the image reader, reading buf_size bytes at a time.
 * The image must end within `limit` bytes (else SMPFOTA_ERR_TRUNCATED, as an image cut
 * off by the slot end). Returns the reader's verdict (0: hash checks) or a flash error;
 * *empty when the header is erased; *info as far as known.
 */
struct area_src {
	const struct smpfota_flash_area *a;
	int err; /* the first flash error: the caller must tell it from a verdict */
};

static int area_src_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	struct area_src *src = ctx;
	int rc = smpfota_flash_area_read(src->a, off, buf, len);
	if (rc != 0 && src->err == 0) {
		src->err = rc;
	}
	return rc;
}

int smpfota_boot_stream_image(const struct smpfota_flash_area *a, uint32_t limit, uint8_t *buf,
			      size_t buf_size, struct smpfota_image_info *info, bool *empty,
			      int *flash_err)
{
	struct smpfota_image_header hdr;
	uint32_t total;
	int rc;

	*flash_err = 0;
	memset(info, 0, sizeof(*info));
	if (limit > a->size) {
		limit = a->size;
	}
	rc = smpfota_boot_image_extent(a, &hdr, &total, empty, flash_err);
	if (*flash_err != 0 || *empty || rc == SMPFOTA_ERR_BAD_MAGIC ||
	    rc == SMPFOTA_ERR_BAD_HEADER) {
		return rc;
	}
	/* With a corrupt TLV info, feed the whole slot: the reader says what is wrong. */
	if (rc != 0 || total > limit) {
		total = limit;
	}
	/* Hashed with the image's own algorithm (a second pass for SHA-384/512 images). */
	struct area_src src = {a, 0};
	rc = smpfota_image_check(area_src_read, &src, total, 0, buf, buf_size, info);
	*flash_err = src.err;
	return rc;
}

int smpfota_boot_slot_image(const struct smpfota_flash_area *a, struct smpfota_image_info *info)
{
	uint8_t buf[FALLBACK_BUF];
	bool empty;
	int flash_err;
	int rc;

	if (info == NULL || a == NULL || a->flash == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	rc = smpfota_boot_stream_image(a, a->size, buf, sizeof(buf), info, &empty, &flash_err);
	if (flash_err != 0) {
		return flash_err;
	}
	if (empty || rc == SMPFOTA_ERR_BAD_MAGIC) {
		return SMPFOTA_ERR_BAD_MAGIC;
	}
	if (!info->header_valid) {
		return rc != 0 ? rc : SMPFOTA_ERR_BAD_HEADER;
	}
	return 0;
}

static uint64_t version_key(const struct smpfota_image_version *v)
{
	return ((uint64_t)v->major << 56) | ((uint64_t)v->minor << 48) |
	       ((uint64_t)v->revision << 32) | v->build;
}

int smpfota_boot_xip_slot(const struct smpfota_boot_image *im, struct smpfota_image_info *info)
{
	struct smpfota_image_info in[2];
	int best = -1;

	if (im == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	for (int slot = 0; slot < 2; slot++) {
		const struct smpfota_flash_area *a = slot ? &im->secondary : &im->primary;
		int rc = smpfota_boot_slot_image(a, &in[slot]);
		/* The reader's verdicts are SMPFOTA_ERR_BAD_MAGIC .. _BAD_HEADER; anything else
		 * is the flash failing. */
		if (rc != 0 && (rc > SMPFOTA_ERR_BAD_MAGIC || rc < SMPFOTA_ERR_BAD_HEADER)) {
			return rc;
		}
		if (rc == 0 && in[slot].hash_valid &&
		    (best < 0 ||
		     version_key(&in[slot].hdr.version) > version_key(&in[best].hdr.version))) {
			best = slot;
		}
	}
	if (best >= 0 && info != NULL) {
		*info = in[best];
	}
	return best;
}

const char *smpfota_boot_swap_type_name(int swap_type)
{
	switch (swap_type) {
	case SMPFOTA_BOOT_SWAP_NONE:
		return "none";
	case SMPFOTA_BOOT_SWAP_TEST:
		return "test";
	case SMPFOTA_BOOT_SWAP_PERM:
		return "perm";
	case SMPFOTA_BOOT_SWAP_REVERT:
		return "revert";
	case SMPFOTA_BOOT_SWAP_FAIL:
		return "fail";
	case SMPFOTA_BOOT_SWAP_PANIC:
		return "panic";
	default:
		return "?";
	}
}
