/*
 * Emulated target board (target.h): slots on emulated NOR, the MCUboot model, the server.
 */
#include "emu/target.h"

#include <string.h>

void smpfota_emu_target_init(struct smpfota_emu_target *t)
{
	memset(t, 0, sizeof(*t));
}

static void add_nor(struct smpfota_emu_target *t, struct smpfota_nor *nor)
{
	for (size_t i = 0; i < t->n_nor; i++) {
		if (t->nor[i] == nor) {
			return;
		}
	}
	t->nor[t->n_nor++] = nor; /* room: at most two per image */
}

static bool fits(const struct smpfota_nor *nor, uint32_t off, uint32_t size)
{
	const struct smpfota_flash *f = &nor->flash;
	return off % f->page_size == 0 && size % f->page_size == 0 && size > 0 && off <= f->size &&
	       size <= f->size - off;
}

int smpfota_emu_target_add_image(struct smpfota_emu_target *t, struct smpfota_nor *pri,
				 uint32_t pri_off, struct smpfota_nor *sec, uint32_t sec_off,
				 uint32_t slot_size)
{
	if (t->n_images == SMPFOTA_BOOT_MAX_IMAGES) {
		return SMPFOTA_ERR_NOMEM;
	}
	uint32_t pri_size = slot_size + pri->flash.page_size;
	if (pri_size < slot_size || !fits(pri, pri_off, pri_size) ||
	    !fits(sec, sec_off, slot_size)) {
		return SMPFOTA_ERR_INVAL;
	}
	struct smpfota_boot_image *img = &t->images[t->n_images++];
	img->primary = (struct smpfota_flash_area){&pri->flash, pri_off, pri_size};
	img->secondary = (struct smpfota_flash_area){&sec->flash, sec_off, slot_size};
	add_nor(t, pri);
	add_nor(t, sec);
	t->cfg.images = t->images;
	t->cfg.n_images = t->n_images;
	return 0;
}

int smpfota_emu_target_provision(struct smpfota_emu_target *t, size_t i, const uint8_t *image,
				 size_t len)
{
	if (i >= t->n_images) {
		return SMPFOTA_ERR_INVAL;
	}
	const struct smpfota_flash_area *a = &t->images[i].primary;
	uint16_t ws = a->flash->write_size;
	size_t bulk = len - len % ws;
	if (len > a->size || ws > 64) {
		return SMPFOTA_ERR_INVAL;
	}
	int rc = bulk ? smpfota_flash_area_write(a, 0, image, bulk) : 0;
	if (rc == 0 && bulk < len) {
		uint8_t tail[64];
		memset(tail, a->flash->erased_val, ws);
		memcpy(tail, image + bulk, len - bulk);
		rc = smpfota_flash_area_write(a, (uint32_t)bulk, tail, ws);
	}
	return rc;
}

/* Direct-xip and RAM load: nothing moves; the result says what boots from which slot. */
static int xip_boot(struct smpfota_emu_target *t)
{
	memset(&t->boot, 0, sizeof(t->boot));
	t->boot.n_images = t->n_images;
	for (size_t i = 0; i < t->n_images; i++) {
		struct smpfota_boot_image_result *r = &t->boot.image[i];
		struct smpfota_image_info info;
		int slot = smpfota_boot_xip_slot(&t->images[i], &info);
		if (slot < -1) {
			return slot;
		}
		r->swap_type = SMPFOTA_BOOT_SWAP_NONE;
		t->xip_slot[i] = slot < 0 ? 0U : (uint8_t)slot;
		r->bootable = r->has_header = slot >= 0;
		r->primary_err = slot >= 0 ? 0 : SMPFOTA_ERR_BAD_MAGIC;
		if (slot >= 0) {
			r->version = info.hdr.version;
			memcpy(r->hash, info.hash, sizeof(r->hash));
			r->image_size = info.image_size;
		}
	}
	return 0;
}

int smpfota_emu_target_boot(struct smpfota_emu_target *t)
{
	struct smpfota_boot b = {.images = t->images,
				 .n_images = t->n_images,
				 .buf = t->boot_buf_size ? t->boot_buf : NULL,
				 .buf_size = t->boot_buf_size,
				 .overwrite_only = t->cfg.mode == SMPFOTA_SERVER_OVERWRITE};
	bool xip = t->cfg.mode == SMPFOTA_SERVER_DIRECT_XIP ||
		   t->cfg.mode == SMPFOTA_SERVER_RAM_LOAD;
	int rc = xip ? xip_boot(t) : smpfota_boot_go(&b, &t->boot);
	if (rc == 0) {
		t->boots++;
	}
	return rc;
}

int smpfota_emu_target_start(struct smpfota_emu_target *t, bool warm)
{
	t->cfg.images = t->images; /* the fixture may have been copied */
	t->cfg.n_images = t->n_images;
	if (!warm) {
		memset(&t->srv, 0, sizeof(t->srv));
	}
	return smpfota_server_init(&t->srv, &t->cfg, warm);
}

int smpfota_emu_target_reset(struct smpfota_emu_target *t, bool warm)
{
	int rc = smpfota_emu_target_boot(t);
	return rc != 0 ? rc : smpfota_emu_target_start(t, warm);
}

int smpfota_emu_target_reset_if_pending(struct smpfota_emu_target *t)
{
	if (!smpfota_server_reset_pending(&t->srv)) {
		return 0;
	}
	if (t->cfg.mode == SMPFOTA_SERVER_SERIAL_RECOVERY) {
		/* Recovery was entered once (a button held at reset); now MCUboot boots the
		 * application it wrote, which serves SMP as Zephyr's smp_svr does. */
		t->cfg.mode = SMPFOTA_SERVER_SWAP;
	}
	int rc = smpfota_emu_target_reset(t, true);
	return rc != 0 ? rc : 1;
}

bool smpfota_emu_target_power_cut(const struct smpfota_emu_target *t)
{
	for (size_t i = 0; i < t->n_nor; i++) {
		if (t->nor[i]->power_cut) {
			return true;
		}
	}
	return false;
}

void smpfota_emu_target_power_on(struct smpfota_emu_target *t)
{
	for (size_t i = 0; i < t->n_nor; i++) {
		smpfota_nor_power_on(t->nor[i]);
	}
}
