/*
 * MCUboot image trailer and a swap-using-move boot model (see include/smpfota/boot.h for
 * what is modelled and where it differs). The swap is written so that every flash write or
 * erase is a possible reset point: all progress that matters is on flash (trailer fields and
 * status records), written in the order MCUboot writes them, so resuming is idempotent.
 */
#include "smpfota/boot.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* BOOT_MAX_ALIGN == 8 magic (bootutil_public.c boot_img_magic). */
static const uint8_t boot_magic[SMPFOTA_BOOT_MAGIC_SIZE] = {
	0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
	0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
};

#define STATUS_MOVE_STATES 1U
#define STATUS_SWAP_STATES 2U
#define OP_MOVE 1U
#define OP_SWAP 2U
#define FALLBACK_BUF 64U

/* ---- small helpers ---------------------------------------------------------------------- */

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static bool all_erased(const uint8_t *p, size_t n, uint8_t erased)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != erased) {
			return false;
		}
	}
	return true;
}

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
static uint32_t trailer_bytes(uint16_t write_size)
{
	return SMPFOTA_BOOT_MAX_IMG_SECTORS * SMPFOTA_BOOT_STATUS_STATE_COUNT * write_size +
	       SMPFOTA_BOOT_INFO_SIZE;
}

static uint32_t trailer_pages(const struct smpfota_flash_area *a)
{
	uint32_t page = a->flash->page_size;

	return (trailer_bytes(a->flash->write_size) + page - 1U) / page;
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
	if (all_erased(magic, SMPFOTA_BOOT_MAGIC_SIZE, erased)) {
		t->magic = SMPFOTA_BOOT_MAGIC_UNSET;
	} else if (memcmp(magic, boot_magic, SMPFOTA_BOOT_MAGIC_SIZE) == 0) {
		t->magic = SMPFOTA_BOOT_MAGIC_GOOD;
	} else {
		t->magic = SMPFOTA_BOOT_MAGIC_BAD;
	}
	t->image_ok = decode_flag(raw[sizeof(raw) - SMPFOTA_BOOT_IMAGE_OK_OFF], erased);
	t->copy_done = decode_flag(raw[sizeof(raw) - SMPFOTA_BOOT_COPY_DONE_OFF], erased);
	t->swap_info = raw[sizeof(raw) - SMPFOTA_BOOT_SWAP_INFO_OFF];
	t->swap_size = get_le32(raw + sizeof(raw) - SMPFOTA_BOOT_SWAP_SIZE_OFF);
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

static int write_flag(const struct smpfota_flash_area *a, uint32_t off_from_end)
{
	const uint8_t v = SMPFOTA_BOOT_FLAG_VALUE;

	return write_field(a, off_from_end, &v, 1);
}

static int write_swap_info(const struct smpfota_flash_area *a, uint8_t type, uint8_t image)
{
	const uint8_t v = SMPFOTA_BOOT_SWAP_INFO(image, type);

	return write_field(a, SMPFOTA_BOOT_SWAP_INFO_OFF, &v, 1);
}

static int write_swap_size(const struct smpfota_flash_area *a, uint32_t size)
{
	const uint8_t v[4] = {(uint8_t)size, (uint8_t)(size >> 8), (uint8_t)(size >> 16),
			      (uint8_t)(size >> 24)};

	return write_field(a, SMPFOTA_BOOT_SWAP_SIZE_OFF, v, sizeof(v));
}

/* boot_write_magic(): 16 bytes, already a whole number of write blocks (ws <= 8). */
static int write_magic(const struct smpfota_flash_area *a)
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

static void trailer_unset(struct smpfota_boot_trailer *t)
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
		trailer_unset(&s); /* unreachable secondary = empty, as boot_swap_type_multi() */
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
	rc = write_magic(secondary);
	if (rc == 0 && permanent) {
		rc = write_flag(secondary, SMPFOTA_BOOT_IMAGE_OK_OFF);
	}
	if (rc == 0) {
		rc = write_swap_info(secondary, permanent ? SMPFOTA_BOOT_SWAP_PERM : SMPFOTA_BOOT_SWAP_TEST,
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
	return write_flag(primary, SMPFOTA_BOOT_IMAGE_OK_OFF);
}

uint32_t smpfota_boot_trailer_size(const struct smpfota_flash_area *a)
{
	if (trailer_area_check(a) != 0 || a->flash->page_size == 0) {
		return 0;
	}
	return trailer_pages(a) * a->flash->page_size;
}

/* Geometry of a pair, as boot_slots_compatible() sees it; false when no swap is possible. */
struct geometry {
	uint32_t page;
	uint32_t n_pri, n_sec; /* pages */
	uint32_t tp;           /* trailer pages */
};

static bool pair_geometry(const struct smpfota_flash_area *pri,
			  const struct smpfota_flash_area *sec, struct geometry *g)
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
	struct geometry g;
	uint32_t p, s;

	if (!pair_geometry(primary, secondary, &g)) {
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
static int image_extent(const struct smpfota_flash_area *a, struct smpfota_image_header *hdr,
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
	if (all_erased(h, sizeof(h), a->flash->erased_val)) {
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
		if (get_le16(h) != SMPFOTA_IMAGE_TLV_PROT_INFO_MAGIC ||
		    get_le16(h + 2) != hdr->protect_tlv_size) {
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
	if (get_le16(h) != SMPFOTA_IMAGE_TLV_INFO_MAGIC) {
		return SMPFOTA_ERR_TLV_CORRUPT;
	}
	*total = off + get_le16(h + 2);
	return 0;
}

/*
 * Stream [0, image end) of a through the image reader, reading buf_size bytes at a time.
 * The image must end within `limit` bytes (else SMPFOTA_ERR_TRUNCATED, as an image cut
 * off by the slot end). Returns the reader's verdict (0: hash checks) or a flash error;
 * *empty when the header is erased; *info as far as known.
 */
static int stream_image(const struct smpfota_flash_area *a, uint32_t limit, uint8_t *buf,
			size_t buf_size, struct smpfota_image_info *info, bool *empty,
			int *flash_err)
{
	struct smpfota_image_reader r;
	struct smpfota_image_header hdr;
	uint32_t total, off = 0;
	int rc;

	*flash_err = 0;
	memset(info, 0, sizeof(*info));
	if (limit > a->size) {
		limit = a->size;
	}
	rc = image_extent(a, &hdr, &total, empty, flash_err);
	if (*flash_err != 0 || *empty || rc == SMPFOTA_ERR_BAD_MAGIC ||
	    rc == SMPFOTA_ERR_BAD_HEADER) {
		return rc;
	}
	/* With a corrupt TLV info, feed the whole slot: the reader says what is wrong. */
	if (rc != 0 || total > limit) {
		total = limit;
	}
	smpfota_image_reader_init(&r);
	while (off < total) {
		size_t n = total - off < buf_size ? total - off : buf_size;

		rc = smpfota_flash_area_read(a, off, buf, n);
		if (rc != 0) {
			*flash_err = rc;
			(void)smpfota_image_reader_finish(&r, info);
			return rc;
		}
		if (smpfota_image_reader_feed(&r, buf, n) != 0) {
			break; /* sticky: finish reports it */
		}
		off += (uint32_t)n;
	}
	return smpfota_image_reader_finish(&r, info);
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
	rc = stream_image(a, a->size, buf, sizeof(buf), info, &empty, &flash_err);
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

/* ---- swap-using-move -------------------------------------------------------------------- */

/* What one image's swap works with (on the stack of smpfota_boot_go). */
struct swap {
	const struct smpfota_flash_area *pri;
	const struct smpfota_flash_area *sec;
	struct geometry g;
	uint8_t *buf;
	size_t chunk;       /* copy step: buffer size rounded down to the write size */
	uint32_t ws;
	uint32_t status_off; /* start of the status records in the primary */
	uint8_t image;
	struct smpfota_image_info *info; /* one for every check: it is a few hundred bytes */
};

/* struct boot_status: where the swap is, and what it is. */
struct status {
	uint8_t op;        /* OP_MOVE or OP_SWAP */
	uint32_t idx;      /* from 1 */
	uint8_t state;     /* from 1 */
	uint8_t swap_type;
	uint32_t swap_size;
	bool source_primary; /* status was read from the primary: its trailer is set up */
};

static void status_reset(struct status *bs)
{
	bs->op = OP_MOVE;
	bs->idx = 1;
	bs->state = 1;
	bs->swap_type = SMPFOTA_BOOT_SWAP_NONE;
	bs->swap_size = 0;
	bs->source_primary = false;
}

static bool status_is_reset(const struct status *bs)
{
	return bs->op == OP_MOVE && bs->idx == 1 && bs->state == 1;
}

/* swap_read_status(): find the last record written, if the primary holds the status. */
static int read_status(struct swap *c, const struct smpfota_boot_trailer *tp,
		       const struct smpfota_boot_trailer *ts, struct status *bs)
{
	const uint32_t entries = SMPFOTA_BOOT_MAX_IMG_SECTORS * SMPFOTA_BOOT_STATUS_STATE_COUNT;
	const uint32_t move_entries = SMPFOTA_BOOT_MAX_IMG_SECTORS * STATUS_MOVE_STATES;
	const uint32_t per_read = (uint32_t)(c->chunk / c->ws);
	uint32_t found = 0; /* 1-based index of the last written record, 0: none */

	status_reset(bs);
	if (!(tp->magic == SMPFOTA_BOOT_MAGIC_GOOD && tp->copy_done == SMPFOTA_BOOT_FLAG_UNSET &&
	      ts->magic != SMPFOTA_BOOT_MAGIC_GOOD)) {
		return 0;
	}
	bs->source_primary = true;
	bs->swap_type = smpfota_boot_trailer_swap_type(tp);
	for (uint32_t i = 0; i < entries; i += per_read) {
		uint32_t n = entries - i < per_read ? entries - i : per_read;
		int rc = smpfota_flash_area_read(c->pri, c->status_off + i * c->ws, c->buf,
					   (size_t)n * c->ws);

		if (rc != 0) {
			return rc;
		}
		for (uint32_t k = 0; k < n; k++) {
			/* Only the first byte of a record carries its state, as in MCUboot. */
			if (c->buf[(size_t)k * c->ws] != c->pri->flash->erased_val) {
				found = i + k + 1U;
			}
		}
	}
	if (found == 0) {
		return 0;
	}
	if (found < move_entries) {
		bs->op = OP_MOVE;
		bs->idx = found + 1U;
		bs->state = 1;
	} else {
		bs->op = OP_SWAP;
		bs->idx = (found - move_entries) / STATUS_SWAP_STATES + 1U;
		bs->state = (uint8_t)((found - move_entries) % STATUS_SWAP_STATES + 1U);
	}
	return 0;
}

static int write_status(struct swap *c, const struct status *bs)
{
	uint8_t rec[SMPFOTA_BOOT_MAX_ALIGN];
	uint32_t off;

	if (bs->op == OP_MOVE) {
		off = (bs->idx - 1U) * STATUS_MOVE_STATES * c->ws;
	} else {
		off = SMPFOTA_BOOT_MAX_IMG_SECTORS * STATUS_MOVE_STATES * c->ws +
		      (bs->idx - 1U) * STATUS_SWAP_STATES * c->ws + (bs->state - 1U) * c->ws;
	}
	memset(rec, c->pri->flash->erased_val, sizeof(rec));
	rec[0] = bs->state;
	return smpfota_flash_area_write(c->pri, c->status_off + off, rec, c->ws);
}

static int erase_page(const struct smpfota_flash_area *a, uint32_t page_size, uint32_t idx)
{
	return smpfota_flash_area_erase(a, idx * page_size, page_size);
}

/* swap_erase_trailer_sectors(): from the last page down, one erase each. */
static int erase_trailer(struct swap *c, const struct smpfota_flash_area *a)
{
	uint32_t n = a->size / c->g.page;

	for (uint32_t k = 1; k <= c->g.tp; k++) {
		int rc = erase_page(a, c->g.page, n - k);

		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int copy_region(struct swap *c, const struct smpfota_flash_area *src, uint32_t src_off,
		       const struct smpfota_flash_area *dst, uint32_t dst_off, uint32_t len)
{
	while (len > 0) {
		uint32_t n = len < c->chunk ? len : (uint32_t)c->chunk;
		int rc = smpfota_flash_area_read(src, src_off, c->buf, n);

		if (rc == 0) {
			rc = smpfota_flash_area_write(dst, dst_off, c->buf, n);
		}
		if (rc != 0) {
			return rc;
		}
		src_off += n;
		dst_off += n;
		len -= n;
	}
	return 0;
}

/* swap_status_init(): the primary trailer that lets a reset resume the swap. */
static int status_init(struct swap *c, const struct status *bs)
{
	struct smpfota_boot_trailer ts;
	int rc = smpfota_boot_read_trailer(c->sec, &ts);

	if (rc == 0 && bs->swap_type != SMPFOTA_BOOT_SWAP_NONE) {
		rc = write_swap_info(c->pri, bs->swap_type, c->image);
	}
	if (rc == 0 && ts.image_ok == SMPFOTA_BOOT_FLAG_SET) {
		rc = write_flag(c->pri, SMPFOTA_BOOT_IMAGE_OK_OFF);
	}
	if (rc == 0) {
		rc = write_swap_size(c->pri, bs->swap_size);
	}
	if (rc == 0) {
		rc = write_magic(c->pri); /* last: the trailer counts only once complete */
	}
	return rc;
}

/* boot_move_sector_up(): primary page idx-1 -> idx. */
static int move_sector_up(struct swap *c, struct status *bs, uint32_t idx)
{
	int rc;

	if (bs->idx == 1) {
		if (!bs->source_primary) {
			rc = erase_trailer(c, c->pri);
			if (rc == 0) {
				rc = status_init(c, bs);
			}
			if (rc != 0) {
				return rc;
			}
		}
		rc = erase_trailer(c, c->sec);
		if (rc != 0) {
			return rc;
		}
	}
	rc = erase_page(c->pri, c->g.page, idx);
	if (rc == 0) {
		rc = copy_region(c, c->pri, (idx - 1U) * c->g.page, c->pri, idx * c->g.page,
				 c->g.page);
	}
	if (rc == 0) {
		rc = write_status(c, bs);
	}
	if (rc == 0) {
		bs->idx++;
	}
	return rc;
}

/* boot_swap_sectors(): secondary[idx-1] -> primary[idx-1], then primary[idx] ->
 * secondary[idx-1] (the old page idx-1, moved up during the move phase). */
static int swap_sectors(struct swap *c, struct status *bs, uint32_t idx)
{
	uint32_t p = c->g.page;
	int rc;

	if (bs->state == 1) {
		rc = erase_page(c->pri, p, idx - 1U);
		if (rc == 0) {
			rc = copy_region(c, c->sec, (idx - 1U) * p, c->pri, (idx - 1U) * p, p);
		}
		if (rc == 0) {
			rc = write_status(c, bs);
		}
		if (rc != 0) {
			return rc;
		}
		bs->state = 2;
	}
	rc = erase_page(c->sec, p, idx - 1U);
	if (rc == 0) {
		rc = copy_region(c, c->pri, idx * p, c->sec, (idx - 1U) * p, p);
	}
	if (rc == 0) {
		rc = write_status(c, bs);
	}
	if (rc != 0) {
		return rc;
	}
	bs->idx++;
	bs->state = 1;
	return 0;
}

/* fixup_revert(): make a revert that has not started look like a permanent request, so a
 * reset between re-initialising the primary trailer and the first record cannot lose it. */
static int fixup_revert(struct swap *c, const struct status *bs)
{
	struct smpfota_boot_trailer ts;
	int rc;

	if (bs->swap_type != SMPFOTA_BOOT_SWAP_REVERT || !status_is_reset(bs)) {
		return 0;
	}
	rc = smpfota_boot_read_trailer(c->sec, &ts);
	if (rc != 0 || ts.magic != SMPFOTA_BOOT_MAGIC_UNSET) {
		return rc;
	}
	rc = erase_trailer(c, c->sec);
	if (rc == 0) {
		rc = write_flag(c->sec, SMPFOTA_BOOT_IMAGE_OK_OFF);
	}
	if (rc == 0) {
		rc = write_swap_size(c->sec, bs->swap_size);
	}
	if (rc == 0) {
		rc = write_magic(c->sec);
	}
	return rc;
}

/* find_last_idx(): pages the swap covers (at least one). */
static uint32_t last_idx_for(const struct swap *c, uint32_t swap_size)
{
	uint32_t n = swap_size / c->g.page + (swap_size % c->g.page != 0 ? 1U : 0U);

	return n == 0 ? 1U : n;
}

/* Does a swap of last_idx pages fit: the move needs primary page last_idx below the
 * trailer, and the secondary's pages [0, last_idx) must be below its trailer. */
static bool swap_fits(const struct swap *c, uint32_t last_idx)
{
	return last_idx < c->g.n_pri - c->g.tp && last_idx <= c->g.n_sec - c->g.tp;
}

enum { RUN_DONE = 0, RUN_NO_SPACE = 1, RUN_PANIC = 2 };

/* swap_run(): from wherever *bs says, to the end. <0: flash error (reset). */
static int swap_run(struct swap *c, struct status *bs)
{
	uint32_t last_idx = last_idx_for(c, bs->swap_size);
	int rc;

	if (!swap_fits(c, last_idx)) {
		return status_is_reset(bs) ? RUN_NO_SPACE : RUN_PANIC;
	}
	/* Records beyond the swap can only come from a corrupt status area. */
	if (bs->idx > last_idx + 1U) {
		return RUN_PANIC;
	}
	rc = fixup_revert(c, bs);
	if (rc != 0) {
		return rc;
	}
	if (bs->op == OP_MOVE) {
		for (uint32_t idx = last_idx; idx > 0; idx--) {
			if (idx <= last_idx - bs->idx + 1U) {
				rc = move_sector_up(c, bs, idx);
				if (rc != 0) {
					return rc;
				}
			}
		}
		bs->idx = 1;
	}
	bs->op = OP_SWAP;
	for (uint32_t idx = 1; idx <= last_idx; idx++) {
		if (idx >= bs->idx) {
			rc = swap_sectors(c, bs, idx);
			if (rc != 0) {
				return rc;
			}
		}
	}
	return RUN_DONE;
}

/* After the last record: image_ok for PERM/REVERT (so no revert follows), then copy_done. */
static int swap_finish(struct swap *c, uint8_t type)
{
	struct smpfota_boot_trailer tp;
	int rc;

	if (type == SMPFOTA_BOOT_SWAP_PERM || type == SMPFOTA_BOOT_SWAP_REVERT) {
		rc = smpfota_boot_read_trailer(c->pri, &tp);
		if (rc == 0 && tp.image_ok == SMPFOTA_BOOT_FLAG_UNSET) {
			rc = write_flag(c->pri, SMPFOTA_BOOT_IMAGE_OK_OFF);
		}
		if (rc != 0) {
			return rc;
		}
	}
	return write_flag(c->pri, SMPFOTA_BOOT_COPY_DONE_OFF);
}

/* swap_set_image_ok() for a FAIL: the primary stays and must not be reverted. */
static int set_primary_ok(struct swap *c)
{
	struct smpfota_boot_trailer tp;
	int rc = smpfota_boot_read_trailer(c->pri, &tp);

	if (rc == 0 && tp.image_ok == SMPFOTA_BOOT_FLAG_UNSET) {
		rc = write_flag(c->pri, SMPFOTA_BOOT_IMAGE_OK_OFF);
	}
	return rc;
}

/*
 * boot_validate_slot(secondary): 0 valid; 1 no bootable image there (left alone); 2 invalid
 * (erased); <0 flash error.
 */
static int validate_secondary(struct swap *c, struct smpfota_boot_image_result *r,
			      uint32_t *size)
{
	const struct smpfota_image_info *info = c->info;
	bool empty;
	int flash_err;
	int rc = stream_image(c->sec, smpfota_boot_max_image_size(c->pri, c->sec), c->buf,
			      c->chunk, c->info, &empty, &flash_err);

	if (flash_err != 0) {
		return flash_err;
	}
	if (empty) {
		return 1;
	}
	if (rc == 0 && (info->hdr.flags & SMPFOTA_IMAGE_F_NON_BOOTABLE) != 0) {
		return 1;
	}
	if (rc == 0) {
		*size = info->image_size;
		return 0;
	}
	r->secondary_err = rc;
	rc = smpfota_flash_area_erase(c->sec, 0, c->sec->size);
	if (rc != 0) {
		return rc;
	}
	r->secondary_erased = true;
	return 2;
}

/* Size of the image in the primary, for swap_size: 0 when there is none to preserve. */
static int primary_extent(struct swap *c, uint32_t *size)
{
	struct smpfota_image_header hdr;
	bool empty;
	int flash_err;
	int rc = image_extent(c->pri, &hdr, size, &empty, &flash_err);

	if (flash_err != 0) {
		return flash_err;
	}
	if (rc != 0 || *size > c->pri->size) {
		*size = 0; /* MCUboot would assert on an unreadable primary TLV area */
	}
	return 0;
}

static int start_swap(struct swap *c, struct status *bs, uint8_t type, uint32_t sec_size,
		      struct smpfota_boot_image_result *r)
{
	uint32_t pri_size;
	int rc = primary_extent(c, &pri_size);

	if (rc != 0) {
		return rc;
	}
	bs->swap_type = type;
	bs->swap_size = pri_size > sec_size ? pri_size : sec_size;
	rc = swap_run(c, bs);
	if (rc < 0) {
		return rc;
	}
	if (rc == RUN_NO_SPACE || rc == RUN_PANIC) {
		r->swap_type = rc == RUN_NO_SPACE ? SMPFOTA_BOOT_SWAP_NONE : SMPFOTA_BOOT_SWAP_PANIC;
		return 0;
	}
	rc = swap_finish(c, type);
	if (rc == 0) {
		r->swap_type = type;
	}
	return rc;
}

static int upgrade_image(struct swap *c, struct smpfota_boot_image_result *r)
{
	struct smpfota_boot_trailer tp, ts;
	struct status bs;
	uint32_t sec_size = 0;
	int type;
	int rc = smpfota_boot_read_trailer(c->pri, &tp);

	if (rc != 0) {
		return rc;
	}
	if (smpfota_boot_read_trailer(c->sec, &ts) != 0) {
		trailer_unset(&ts);
	}
	rc = read_status(c, &tp, &ts, &bs);
	if (rc != 0) {
		return rc;
	}
	if (!status_is_reset(&bs)) {
		/* Interrupted swap: finish it with what the primary trailer recorded. */
		bs.swap_size = tp.swap_size;
		r->resumed = true;
		rc = swap_run(c, &bs);
		if (rc < 0) {
			return rc;
		}
		if (rc != RUN_DONE || bs.swap_type == SMPFOTA_BOOT_SWAP_NONE) {
			r->swap_type = SMPFOTA_BOOT_SWAP_PANIC;
			return 0;
		}
		rc = swap_finish(c, bs.swap_type);
		if (rc == 0) {
			r->swap_type = bs.swap_type;
		}
		return rc;
	}
	if (bs.swap_type != SMPFOTA_BOOT_SWAP_NONE) {
		/* Primary trailer set up, no record yet: restart that swap if the image is good. */
		rc = validate_secondary(c, r, &sec_size);
		if (rc < 0) {
			return rc;
		}
		type = rc == 0 ? bs.swap_type : SMPFOTA_BOOT_SWAP_FAIL;
	} else {
		type = smpfota_boot_decide_swap(&tp, &ts);
		if (type == SMPFOTA_BOOT_SWAP_TEST || type == SMPFOTA_BOOT_SWAP_PERM ||
		    type == SMPFOTA_BOOT_SWAP_REVERT) {
			rc = validate_secondary(c, r, &sec_size);
			if (rc < 0) {
				return rc;
			}
			if (rc != 0) {
				type = SMPFOTA_BOOT_SWAP_NONE;
			}
		}
	}
	switch (type) {
	case SMPFOTA_BOOT_SWAP_TEST:
	case SMPFOTA_BOOT_SWAP_PERM:
	case SMPFOTA_BOOT_SWAP_REVERT:
		return start_swap(c, &bs, (uint8_t)type, sec_size, r);
	case SMPFOTA_BOOT_SWAP_FAIL:
		r->swap_type = SMPFOTA_BOOT_SWAP_FAIL;
		return set_primary_ok(c);
	default:
		r->swap_type = SMPFOTA_BOOT_SWAP_NONE;
		return 0;
	}
}

static int check_primary(struct swap *c, bool compatible, struct smpfota_boot_image_result *r)
{
	const struct smpfota_image_info *info = c->info;
	uint32_t limit = c->pri->size;
	bool empty;
	int flash_err;
	int rc;

	if (compatible) {
		limit -= c->g.tp * c->g.page; /* an image may not reach into its trailer */
	}
	rc = stream_image(c->pri, limit, c->buf, c->chunk, c->info, &empty, &flash_err);
	if (flash_err != 0) {
		return flash_err;
	}
	r->bootable = rc == 0 && (info->hdr.flags & SMPFOTA_IMAGE_F_NON_BOOTABLE) == 0;
	r->primary_err = r->bootable ? 0 : (rc != 0 ? rc : SMPFOTA_ERR_UNSUPPORTED);
	r->has_header = info->header_valid;
	if (info->header_valid) {
		r->version = info->hdr.version;
		r->image_size = info->image_size;
		if (info->has_hash) {
			memcpy(r->hash, info->hash, sizeof(r->hash));
		}
	}
	return 0;
}

int smpfota_boot_go(struct smpfota_boot *b, struct smpfota_boot_result *res)
{
	uint8_t fallback[FALLBACK_BUF];
	struct smpfota_boot_result scratch;
	struct smpfota_image_info info;
	int rc;

	if (b == NULL || b->images == NULL || b->n_images == 0 ||
	    b->n_images > SMPFOTA_BOOT_MAX_IMAGES ||
	    (b->buf != NULL && b->buf_size < SMPFOTA_BOOT_MAX_ALIGN)) {
		return SMPFOTA_ERR_INVAL;
	}
	if (res == NULL) {
		res = &scratch;
	}
	memset(res, 0, sizeof(*res));
	res->n_images = b->n_images;
	for (size_t i = 0; i < b->n_images; i++) {
		struct smpfota_boot_image_result *r = &res->image[i];
		struct swap c;
		bool compatible;

		memset(&c, 0, sizeof(c));
		c.pri = &b->images[i].primary;
		c.sec = &b->images[i].secondary;
		c.image = (uint8_t)i;
		c.info = &info;
		c.buf = b->buf != NULL ? b->buf : fallback;
		c.chunk = b->buf != NULL ? b->buf_size : sizeof(fallback);
		r->swap_type = SMPFOTA_BOOT_SWAP_NONE;
		compatible = pair_geometry(c.pri, c.sec, &c.g);
		if (compatible) {
			c.ws = c.pri->flash->write_size;
			c.chunk -= c.chunk % c.ws;
			c.status_off = c.pri->size - trailer_bytes(c.pri->flash->write_size);
			rc = upgrade_image(&c, r);
			if (rc != 0) {
				return rc;
			}
		} else if (c.pri == NULL || c.pri->flash == NULL) {
			return SMPFOTA_ERR_INVAL;
		}
		rc = check_primary(&c, compatible, r);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
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
