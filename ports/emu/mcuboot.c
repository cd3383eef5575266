/*
 * The MCUboot model: swap-using-move (see mcuboot.h for what is modelled and where it
 * differs). Every flash write or erase is a possible reset point: all progress that matters
 * is on flash (trailer fields and status records), written in the order MCUboot writes them,
 * so resuming is idempotent.
 */
#include "emu/mcuboot.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boot_priv.h"

#define STATUS_MOVE_STATES 1U
#define STATUS_SWAP_STATES 2U
#define OP_MOVE 1U
#define OP_SWAP 2U
#define FALLBACK_BUF 64U

/* ---- swap-using-move -------------------------------------------------------------------- */

/* What one image's swap works with (on the stack of smpfota_boot_go). */
struct swap {
	const struct smpfota_flash_area *pri;
	const struct smpfota_flash_area *sec;
	struct smpfota_boot_geometry g;
	uint8_t *buf;
	size_t chunk; /* copy step: buffer size rounded down to the write size */
	uint32_t ws;
	uint32_t status_off; /* start of the status records in the primary */
	uint8_t image;
	struct smpfota_image_info *info; /* one for every check: it is a few hundred bytes */
};

/* struct boot_status: where the swap is, and what it is. */
struct status {
	uint8_t op;    /* OP_MOVE or OP_SWAP */
	uint32_t idx;  /* from 1 */
	uint8_t state; /* from 1 */
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
		rc = smpfota_boot_write_swap_info(c->pri, bs->swap_type, c->image);
	}
	if (rc == 0 && ts.image_ok == SMPFOTA_BOOT_FLAG_SET) {
		rc = smpfota_boot_write_flag(c->pri, SMPFOTA_BOOT_IMAGE_OK_OFF);
	}
	if (rc == 0) {
		rc = smpfota_boot_write_swap_size(c->pri, bs->swap_size);
	}
	if (rc == 0) {
		rc = smpfota_boot_write_magic(
			c->pri); /* last: the trailer counts only once complete */
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
		rc = smpfota_boot_write_flag(c->sec, SMPFOTA_BOOT_IMAGE_OK_OFF);
	}
	if (rc == 0) {
		rc = smpfota_boot_write_swap_size(c->sec, bs->swap_size);
	}
	if (rc == 0) {
		rc = smpfota_boot_write_magic(c->sec);
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
			rc = smpfota_boot_write_flag(c->pri, SMPFOTA_BOOT_IMAGE_OK_OFF);
		}
		if (rc != 0) {
			return rc;
		}
	}
	return smpfota_boot_write_flag(c->pri, SMPFOTA_BOOT_COPY_DONE_OFF);
}

/* swap_set_image_ok() for a FAIL: the primary stays and must not be reverted. */
static int set_primary_ok(struct swap *c)
{
	struct smpfota_boot_trailer tp;
	int rc = smpfota_boot_read_trailer(c->pri, &tp);

	if (rc == 0 && tp.image_ok == SMPFOTA_BOOT_FLAG_UNSET) {
		rc = smpfota_boot_write_flag(c->pri, SMPFOTA_BOOT_IMAGE_OK_OFF);
	}
	return rc;
}

/*
 * boot_validate_slot(secondary): 0 valid; 1 no bootable image there (left alone); 2 invalid
 * (erased); <0 flash error.
 */
static int validate_secondary(struct swap *c, struct smpfota_boot_image_result *r, uint32_t *size)
{
	const struct smpfota_image_info *info = c->info;
	bool empty;
	int flash_err;
	int rc = smpfota_boot_stream_image(c->sec, smpfota_boot_max_image_size(c->pri, c->sec),
					   c->buf, c->chunk, c->info, &empty, &flash_err);

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
	int rc = smpfota_boot_image_extent(c->pri, &hdr, size, &empty, &flash_err);

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
		r->swap_type = rc == RUN_NO_SPACE ? SMPFOTA_BOOT_SWAP_NONE
						  : SMPFOTA_BOOT_SWAP_PANIC;
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
		smpfota_boot_trailer_unset(&ts);
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

/* MCUBOOT_OVERWRITE_ONLY (smpfota_boot.overwrite_only): copy, then forget the secondary. */
static int overwrite_image(struct swap *c, struct smpfota_boot_image_result *r)
{
	struct smpfota_boot_trailer tp, ts;
	uint32_t sec_size = 0;
	int rc = smpfota_boot_read_trailer(c->pri, &tp);

	if (rc != 0) {
		return rc;
	}
	if (smpfota_boot_read_trailer(c->sec, &ts) != 0) {
		smpfota_boot_trailer_unset(&ts);
	}
	int type = smpfota_boot_decide_swap(&tp, &ts);
	r->swap_type = SMPFOTA_BOOT_SWAP_NONE;
	if (type != SMPFOTA_BOOT_SWAP_TEST && type != SMPFOTA_BOOT_SWAP_PERM) {
		return 0;
	}
	rc = validate_secondary(c, r, &sec_size);
	if (rc != 0) {
		return rc < 0 ? rc : 0;
	}
	uint32_t len = (sec_size + c->ws - 1U) / c->ws * c->ws;
	rc = smpfota_flash_area_erase(c->pri, 0, c->pri->size);
	rc = rc ? rc : copy_region(c, c->sec, 0, c->pri, 0, len);
	rc = rc ? rc : smpfota_flash_area_erase(c->sec, 0, c->sec->size);
	if (rc == 0) {
		r->swap_type = SMPFOTA_BOOT_SWAP_PERM;
	}
	return rc;
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
	rc = smpfota_boot_stream_image(c->pri, limit, c->buf, c->chunk, c->info, &empty,
				       &flash_err);
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
		compatible = smpfota_boot_pair_geometry(c.pri, c.sec, &c.g);
		if (compatible) {
			c.ws = c.pri->flash->write_size;
			c.chunk -= c.chunk % c.ws;
			c.status_off = c.pri->size -
				       smpfota_boot_trailer_bytes(c.pri->flash->write_size);
			rc = b->overwrite_only ? overwrite_image(&c, r) : upgrade_image(&c, r);
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
