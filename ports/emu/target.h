/*
 * An emulated target board: MCUboot slots on emulated NOR flash (nor.h), the MCUboot model
 * (mcuboot.h) at every reset, in the mode cfg.mode names (server.h: swap-move, overwrite-only
 * with the model's overwrite_only; direct-xip and RAM load, where nothing moves and the
 * highest valid version boots; serial recovery, which ends with the first `os reset`: then the
 * application runs, in swap mode), and the application's SMP server (server.h) whose state
 * survives a warm reset as retained RAM does. One fixture for the simulator's target,
 * `smpfota target`, the C tests and the fuzz targets, so each sets up a board the same way:
 *
 *   static struct smpfota_emu_target t;
 *   smpfota_emu_target_init(&t);
 *   smpfota_emu_target_add_image(&t, &nor, 0, &nor, SLOT + PAGE, SLOT);  // swap-move layout
 *   t.cfg.buf_size = 2048; ...                                          // the server's config
 *   smpfota_emu_target_provision(&t, 0, factory, factory_len);          // optional
 *   smpfota_emu_target_reset(&t, false);                                // power-on
 *   n = smpfota_server_handle(&t.srv, req, len, rsp, cap);
 *   smpfota_emu_target_reset_if_pending(&t);                             // `os reset`
 *
 * The NOR devices (and their memory) belong to the caller and must outlive the fixture; the
 * fixture is plain data the caller owns (no allocation, no globals). Everything in it may be
 * read or changed between calls: tests put noise in `srv` to play a cold start with garbage
 * RAM, the simulator charges time through the NOR hooks.
 */
#ifndef SMPFOTA_EMU_TARGET_H
#define SMPFOTA_EMU_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/mcuboot.h"
#include "emu/nor.h"
#include "smpfota/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NOR devices a board can have: one per image slot. */
#define SMPFOTA_EMU_TARGET_MAX_NOR (2U * SMPFOTA_BOOT_MAX_IMAGES)
/* Room for MCUboot's copy buffer (boot_buf_size chooses how much is used). */
#define SMPFOTA_EMU_TARGET_BOOT_BUF 4096U

/* Bytes of a device holding one image's swap-move slots, primary then secondary. */
#define SMPFOTA_EMU_TARGET_DEV_SIZE(slot_size, page_size) (2U * (slot_size) + (page_size))

struct smpfota_emu_target {
	/* Slots and devices, from smpfota_emu_target_add_image(). */
	struct smpfota_boot_image images[SMPFOTA_BOOT_MAX_IMAGES];
	size_t n_images;
	struct smpfota_nor *nor[SMPFOTA_EMU_TARGET_MAX_NOR];
	size_t n_nor;

	/* The server's configuration: images and n_images are set by add_image; the rest is the
	 * caller's (server.h; it must stay valid while the server runs). */
	struct smpfota_server_config cfg;

	/* MCUboot's copy buffer: boot_buf_size bytes of boot_buf (0: the model's own 64 bytes).
	 * The size sets how many flash operations a swap takes. */
	size_t boot_buf_size;
	uint8_t boot_buf[SMPFOTA_EMU_TARGET_BOOT_BUF];

	/* State. */
	struct smpfota_server srv;                 /* the application's RAM; kept by a warm reset */
	struct smpfota_boot_result boot;           /* what the last MCUboot run did */
	uint32_t boots;                            /* MCUboot runs that completed */
	uint8_t xip_slot[SMPFOTA_BOOT_MAX_IMAGES]; /* direct-xip, RAM load: the slot booted */
};

/* An empty board: no image, no device, server config zero. */
void smpfota_emu_target_init(struct smpfota_emu_target *t);

/*
 * Add the next image: its primary slot at pri_off on pri (slot_size plus one page of pri, the
 * page swap-move needs), its secondary at sec_off on sec (slot_size); pri and sec may be the
 * same device. SMPFOTA_ERR_INVAL when a slot does not fit its device or is not made of whole
 * pages, _NOMEM when the board has SMPFOTA_BOOT_MAX_IMAGES images already.
 */
int smpfota_emu_target_add_image(struct smpfota_emu_target *t, struct smpfota_nor *pri,
				 uint32_t pri_off, struct smpfota_nor *sec, uint32_t sec_off,
				 uint32_t slot_size);

/*
 * Factory programming: write image (len bytes, padded with 0xff to the write size) at the
 * start of image i's primary slot, which must be erased there. No trailer: MCUboot treats the
 * image as confirmed. The writes are ordinary NOR operations (counted, hooked).
 * SMPFOTA_ERR_INVAL for a bad index or an image larger than the slot; else the flash's result.
 */
int smpfota_emu_target_provision(struct smpfota_emu_target *t, size_t i, const uint8_t *image,
				 size_t len);

/* MCUboot runs (mcuboot.h smpfota_boot_go) on every image; t->boot gets its result and
 * t->boots counts it when it completed. Returns its result (SMPFOTA_ERR_IO after a power
 * cut: the next run resumes). */
int smpfota_emu_target_boot(struct smpfota_emu_target *t);

/* The application starts: smpfota_server_init() with resume = warm. A cold start loses the
 * RAM: the server state is zeroed first. Returns the server's result. */
int smpfota_emu_target_start(struct smpfota_emu_target *t, bool warm);

/* A reset: boot, then start (only when the boot completed). warm = false is a power-on. */
int smpfota_emu_target_reset(struct smpfota_emu_target *t, bool warm);

/* After a request: when the server asked for a reset (`os reset`), do it, warm. Returns 1
 * when it reset, 0 when nothing was pending, or the reset's error. */
int smpfota_emu_target_reset_if_pending(struct smpfota_emu_target *t);

/* Power: whether a power cut hit any of the board's devices; and power back on them all. */
bool smpfota_emu_target_power_cut(const struct smpfota_emu_target *t);
void smpfota_emu_target_power_on(struct smpfota_emu_target *t);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_EMU_TARGET_H */
