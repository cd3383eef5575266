/*
 * MCUboot image trailer: the running application's side (what MCUboot's
 * bootutil_public.c gives Zephyr's img_mgmt): read the trailer, request an upgrade, confirm
 * the running image, list slots. The SMP server (server.h) is its user.
 *
 * Trailer layout (shared/spec/mcuboot.md §3.1), BOOT_MAX_ALIGN = 8, no encryption, offsets
 * from the end of the slot (size = slot size):
 *
 *     size-16  magic      77 c2 95 f3 60 d2 ef 7f 35 52 50 0f 2c b6 79 80 (16 bytes)
 *     size-24  image_ok   0x01 = confirmed
 *     size-32  copy_done  0x01 = swap finished
 *     size-40  swap_info  bits 0-3 swap type (2 TEST, 3 PERM, 4 REVERT), bits 4-7 image
 *     size-48  swap_size  u32, little endian: bytes the swap moves
 *     below    swap status: SMPFOTA_BOOT_MAX_IMG_SECTORS * 3 records of write_size bytes
 *
 * Each one-byte field is written as MCUboot's boot_write_trailer() does: the byte, padded
 * with the erased value to the write size (4 bytes on the nRF5340); the magic is one
 * 16-byte write. Reading a flag: erased -> UNSET, 0x01 -> SET, anything else -> BAD; the
 * magic: all erased -> UNSET, the value -> GOOD, anything else -> BAD.
 *
 * The bootloader side (a swap-using-move model of MCUboot, for simulation and tests) is
 * ports/emu/mcuboot.h.
 */
#ifndef SMPFOTA_BOOT_H
#define SMPFOTA_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/flash.h"
#include "smpfota/image.h"
#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_BOOT_MAX_ALIGN 8U
#define SMPFOTA_BOOT_MAGIC_SIZE 16U

/* Field offsets, counted back from the end of the slot. */
#define SMPFOTA_BOOT_MAGIC_OFF 16U
#define SMPFOTA_BOOT_IMAGE_OK_OFF 24U
#define SMPFOTA_BOOT_COPY_DONE_OFF 32U
#define SMPFOTA_BOOT_SWAP_INFO_OFF 40U
#define SMPFOTA_BOOT_SWAP_SIZE_OFF 48U
/* The fields above: 4 * BOOT_MAX_ALIGN + 16. */
#define SMPFOTA_BOOT_INFO_SIZE 48U

/* Status records per sector for swap-move: 1 move + 2 swap. */
#define SMPFOTA_BOOT_STATUS_STATE_COUNT 3U

#define SMPFOTA_BOOT_FLAG_VALUE 0x01U /* what a set image_ok / copy_done holds */
#define SMPFOTA_BOOT_SWAP_INFO(image, type) ((uint8_t)((((image)&0x0fU) << 4) | ((type)&0x0fU)))
#define SMPFOTA_BOOT_SWAP_INFO_TYPE(info) ((uint8_t)((info)&0x0fU))
#define SMPFOTA_BOOT_SWAP_INFO_IMAGE(info) ((uint8_t)(((info) >> 4) & 0x0fU))

enum smpfota_boot_magic {
	SMPFOTA_BOOT_MAGIC_GOOD = 1,
	SMPFOTA_BOOT_MAGIC_BAD = 2,
	SMPFOTA_BOOT_MAGIC_UNSET = 3,
};

enum smpfota_boot_flag {
	SMPFOTA_BOOT_FLAG_SET = 1,
	SMPFOTA_BOOT_FLAG_BAD = 2,
	SMPFOTA_BOOT_FLAG_UNSET = 3,
};

enum smpfota_boot_swap_type {
	SMPFOTA_BOOT_SWAP_NONE = 1,
	SMPFOTA_BOOT_SWAP_TEST = 2,
	SMPFOTA_BOOT_SWAP_PERM = 3,
	SMPFOTA_BOOT_SWAP_REVERT = 4,
	SMPFOTA_BOOT_SWAP_FAIL = 5,
	SMPFOTA_BOOT_SWAP_PANIC = 0xff,
};

/* A slot's trailer as read from flash. */
struct smpfota_boot_trailer {
	uint8_t magic;      /* enum smpfota_boot_magic */
	uint8_t image_ok;   /* enum smpfota_boot_flag */
	uint8_t copy_done;  /* enum smpfota_boot_flag */
	uint8_t swap_info;  /* raw byte as stored (erased value when never written) */
	uint32_t swap_size; /* raw value as stored (0xffffffff when never written) */
};

/*
 * Read the trailer at the end of area a. 0, SMPFOTA_ERR_INVAL (bad area: smaller than the
 * 48-byte trailer, or a write size that is not 1, 2, 4 or 8) or the flash read error.
 */
int smpfota_boot_read_trailer(const struct smpfota_flash_area *a, struct smpfota_boot_trailer *t);

/* The swap type stored in t->swap_info as MCUboot reads it: NONE when it was never written
 * or holds a type above REVERT. */
uint8_t smpfota_boot_trailer_swap_type(const struct smpfota_boot_trailer *t);

/*
 * The decision table alone (bootutil_public.c boot_swap_tables[], first match wins):
 *   1. secondary magic GOOD, secondary image_ok UNSET                          -> TEST
 *   2. secondary magic GOOD, secondary image_ok SET                            -> PERM
 *   3. primary magic GOOD, primary image_ok UNSET, primary copy_done SET
 *      (any secondary magic, see above)                                        -> REVERT
 *   otherwise                                                                  -> NONE
 */
int smpfota_boot_decide_swap(const struct smpfota_boot_trailer *primary,
			     const struct smpfota_boot_trailer *secondary);

/*
 * What the bootloader would decide from the two trailers (boot_swap_type_multi): an enum
 * smpfota_boot_swap_type value, or a negative error when the primary trailer cannot be read. A
 * secondary that cannot be read counts as empty, as in MCUboot. Does not validate images.
 */
int smpfota_boot_read_swap_type(const struct smpfota_flash_area *primary,
				const struct smpfota_flash_area *secondary);

/*
 * Request an upgrade from the secondary slot (boot_set_pending_multi / boot_set_next), by
 * the secondary magic:
 *   UNSET: write the magic, then image_ok if permanent, then swap_info =
 *          (image << 4) | (permanent ? PERM : TEST); 0 or the flash error;
 *   GOOD:  an upgrade is already pending; nothing is written; 0;
 *   BAD:   the trailer (not the image header) is corrupt: as MCUboot, the whole secondary
 *          slot is erased so that a new upload can follow; SMPFOTA_ERR_BAD_MAGIC (or the
 *          erase's error).
 * SMPFOTA_ERR_INVAL for image > 15 or a bad area. The image itself is not checked here.
 */
int smpfota_boot_set_pending(const struct smpfota_flash_area *secondary, uint8_t image,
			     bool permanent);

/*
 * Confirm the image in the primary slot (boot_set_confirmed_multi), by the primary magic:
 *   GOOD:  write image_ok unless it is already set (copy_done deliberately not checked); 0;
 *   UNSET: nothing to confirm (an image flashed without trailer counts as confirmed); 0;
 *   BAD:   SMPFOTA_ERR_BAD_MAGIC (MCUboot's BOOT_EBADVECT); nothing is written.
 */
int smpfota_boot_set_confirmed(const struct smpfota_flash_area *primary);

/*
 * Bytes the trailer reserves at the end of a slot: 48 + SMPFOTA_BOOT_MAX_IMG_SECTORS * 3 *
 * write_size, rounded up to whole pages (256 * 3 * 4 + 48 = 3120 -> one 4 KB page, two 2 KB
 * pages). 0 for a bad area.
 */
uint32_t smpfota_boot_trailer_size(const struct smpfota_flash_area *a);

/*
 * Largest image (header + body + all TLVs) the pair can swap: the slot info
 * "max_image_size". With page size P, trailer pages T (from smpfota_boot_trailer_size), and
 * Np / Ns pages in the primary / secondary, it is min((Np - 1 - T) * P, (Ns - T) * P): the
 * primary needs one free page for the move and neither image may reach into a trailer page.
 * For the nRF5340 layout (Np = Ns + 1) both terms are (Ns - T) * P. 0 when the slots cannot
 * swap (different page or write sizes, page counts other than Ns or Ns + 1, more than
 * SMPFOTA_BOOT_MAX_IMG_SECTORS pages, or too small).
 */
uint32_t smpfota_boot_max_image_size(const struct smpfota_flash_area *primary,
				     const struct smpfota_flash_area *secondary);

/*
 * The image at the start of area a, streamed through the image reader in 64-byte chunks
 * (for `image list`). 0 when a valid header is there: *info is filled and info->hash_valid
 * tells whether the whole image checks (the reader's full verdict is not kept; an image that
 * runs past the area is not valid). SMPFOTA_ERR_BAD_MAGIC when the slot holds no image (header
 * erased or another magic), SMPFOTA_ERR_BAD_HEADER for an inconsistent header, or the flash
 * error.
 */
int smpfota_boot_slot_image(const struct smpfota_flash_area *a, struct smpfota_image_info *info);

/* One updatable image: the slot it runs from and the slot updates arrive in. */
struct smpfota_boot_image {
	struct smpfota_flash_area primary;
	struct smpfota_flash_area secondary;
};

/*
 * Direct-xip and RAM load: the slot MCUboot boots, 0 (primary) or 1 (secondary): the one whose
 * image verifies with the higher version (major.minor.revision, then build; the primary on a
 * tie), or -1 when neither verifies. *info (may be NULL) gets that image's info. Reads both
 * slots whole; SMPFOTA_ERR_IO (or the flash's error) when a read fails.
 */
int smpfota_boot_xip_slot(const struct smpfota_boot_image *im, struct smpfota_image_info *info);

/* Name of a swap type ("none", "test", "perm", "revert", "fail", "panic") or "?". */
const char *smpfota_boot_swap_type_name(int swap_type);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_BOOT_H */
